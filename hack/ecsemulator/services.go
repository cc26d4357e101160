package ecsemulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Launch types ECS accepts. The emulator stores the value and models no
// capacity behind it.
var launchTypes = map[string]bool{"EC2": true, "FARGATE": true, "EXTERNAL": true, "MANAGED_INSTANCES": true}

// Stop codes and reasons that ECS sets on stopped tasks.
const (
	stopCodeUser      = "UserInitiated"
	stopCodeScheduler = "ServiceSchedulerInitiated"
)

type createServiceRequest struct {
	Cluster                 string          `json:"cluster"`
	ServiceName             string          `json:"serviceName"`
	TaskDefinition          string          `json:"taskDefinition"`
	DesiredCount            *int            `json:"desiredCount"`
	LaunchType              string          `json:"launchType"`
	PlatformVersion         string          `json:"platformVersion"`
	SchedulingStrategy      string          `json:"schedulingStrategy"`
	NetworkConfiguration    json.RawMessage `json:"networkConfiguration"`
	DeploymentConfiguration json.RawMessage `json:"deploymentConfiguration"`
	Tags                    []tag           `json:"tags"`
}

// serviceSpec is a validated service to create, from the API or from state.
type serviceSpec struct {
	name                 string
	taskDefinition       *taskDefinition
	desiredCount         int
	launchType           string
	platformVersion      string
	networkConfiguration json.RawMessage
	deploymentConfig     json.RawMessage
	tags                 []tag
}

func (e *Emulator) createService(rs *regionState, c *call) (any, *apiError) {
	var req createServiceRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	if req.SchedulingStrategy != "" && req.SchedulingStrategy != "REPLICA" {
		return nil, invalidParameter("schedulingStrategy %q is not supported by the ECS emulator, "+
			"which models REPLICA services only.", req.SchedulingStrategy)
	}
	if req.DesiredCount == nil {
		return nil, invalidParameter("desiredCount is required for a service with the REPLICA scheduling strategy.")
	}
	if req.TaskDefinition == "" {
		return nil, invalidParameter("TaskDefinition is required for a service with the ECS deployment controller.")
	}
	td, err := e.lookupTaskDefinition(rs, req.TaskDefinition)
	if err != nil {
		return nil, invalidParameter("TaskDefinition not found: %v.", err)
	}
	spec := serviceSpec{
		name:                 req.ServiceName,
		taskDefinition:       td,
		desiredCount:         *req.DesiredCount,
		launchType:           req.LaunchType,
		platformVersion:      req.PlatformVersion,
		networkConfiguration: req.NetworkConfiguration,
		deploymentConfig:     req.DeploymentConfiguration,
		tags:                 req.Tags,
	}
	now := e.clock.Now()
	svc, apiErr := e.addService(rs, cl, spec, now)
	if apiErr != nil {
		return nil, apiErr
	}
	e.scaleService(rs, cl, svc, true, now)
	return map[string]any{"service": e.renderService(cl, svc)}, nil
}

// addService validates spec and adds an ACTIVE service with no tasks yet;
// scaleService starts them. The caller holds e.mu.
func (e *Emulator) addService(rs *regionState, cl *cluster, spec serviceSpec, now time.Time) (*service, *apiError) {
	if !namePattern.MatchString(spec.name) {
		return nil, invalidParameter("Invalid service name %q: up to 255 letters (uppercase and "+
			"lowercase), numbers, underscores, and hyphens are allowed.", spec.name)
	}
	if existing := cl.services[spec.name]; existing != nil && existing.status != statusInactive {
		return nil, invalidParameter("Creation of service was not idempotent.")
	}
	if spec.desiredCount < 0 || spec.desiredCount > maxTasksPerService {
		return nil, invalidParameter("desiredCount %d is out of range: it must be between 0 and %d.",
			spec.desiredCount, maxTasksPerService)
	}
	if spec.launchType == "" {
		// ECS uses EC2 when neither a launch type nor a capacity provider
		// strategy is given.
		spec.launchType = "EC2"
	}
	if !launchTypes[spec.launchType] {
		return nil, invalidParameter("Invalid launchType %q: expected EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES.",
			spec.launchType)
	}
	if apiErr := checkNetworkConfiguration(spec.taskDefinition, spec.networkConfiguration); apiErr != nil {
		return nil, apiErr
	}
	if spec.launchType == "FARGATE" && spec.platformVersion == "" {
		spec.platformVersion = "LATEST"
	}
	svc := &service{
		name:                 spec.name,
		arn:                  serviceARN(rs.name, e.account, cl.name, spec.name),
		status:               statusActive,
		taskDefinition:       spec.taskDefinition,
		desiredCount:         spec.desiredCount,
		launchType:           spec.launchType,
		platformVersion:      spec.platformVersion,
		networkConfiguration: spec.networkConfiguration,
		deploymentConfig:     spec.deploymentConfig,
		deploymentID:         fmt.Sprintf("ecs-svc/%019d", rand.Int64N(8e18)+1e18),
		tags:                 spec.tags,
		createdAt:            now,
		updatedAt:            now,
	}
	if _, existed := cl.services[spec.name]; !existed {
		cl.serviceOrder = append(cl.serviceOrder, spec.name)
	}
	cl.services[spec.name] = svc
	return svc, nil
}

// checkNetworkConfiguration applies the ECS rule that awsvpc tasks need
// subnets.
func checkNetworkConfiguration(td *taskDefinition, network json.RawMessage) *apiError {
	var config struct {
		AwsvpcConfiguration *struct {
			Subnets []string `json:"subnets"`
		} `json:"awsvpcConfiguration"`
	}
	if len(network) > 0 && string(network) != "null" {
		if err := json.Unmarshal(network, &config); err != nil {
			return newError(CodeSerialization, "Invalid networkConfiguration: %v", err)
		}
	}
	if config.AwsvpcConfiguration != nil && len(config.AwsvpcConfiguration.Subnets) == 0 {
		return invalidParameter("subnets can not be empty.")
	}
	if mode, _ := td.fields["networkMode"].(string); mode == "awsvpc" && config.AwsvpcConfiguration == nil {
		return invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	return nil
}

type updateServiceRequest struct {
	Cluster              string          `json:"cluster"`
	Service              string          `json:"service"`
	DesiredCount         *int            `json:"desiredCount"`
	TaskDefinition       string          `json:"taskDefinition"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
}

// lookupService finds a service by name or ARN in cl, whatever its status.
func lookupService(cl *cluster, ref string) *service {
	name := ref
	if a, ok := parseARN(ref); ok {
		rest, isService := strings.CutPrefix(a.resource, "service/")
		if !isService {
			return nil
		}
		// New-format service ARNs carry the cluster name; old ones do not.
		if clusterName, serviceName, found := strings.Cut(rest, "/"); found {
			if clusterName != cl.name {
				return nil
			}
			rest = serviceName
		}
		name = rest
	}
	return cl.services[name]
}

// updateService changes the desired count, and with it the task count, or
// the task definition of tasks started later.
// NOTE: a new task definition or network configuration does not start a
// rolling deployment; only tasks started afterwards use it.
func (e *Emulator) updateService(rs *regionState, c *call) (any, *apiError) {
	var req updateServiceRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	svc := lookupService(cl, req.Service)
	if svc == nil {
		return nil, newError(CodeServiceNotFound, "Service not found.")
	}
	if svc.status != statusActive {
		return nil, newError(CodeServiceNotActive, "Service was not ACTIVE.")
	}
	td := svc.taskDefinition
	if req.TaskDefinition != "" {
		found, err := e.lookupTaskDefinition(rs, req.TaskDefinition)
		if err != nil {
			return nil, invalidParameter("TaskDefinition not found: %v.", err)
		}
		td = found
	}
	network := svc.networkConfiguration
	if len(req.NetworkConfiguration) > 0 {
		network = req.NetworkConfiguration
	}
	if apiErr := checkNetworkConfiguration(td, network); apiErr != nil {
		return nil, apiErr
	}
	if req.DesiredCount != nil {
		if *req.DesiredCount < 0 || *req.DesiredCount > maxTasksPerService {
			return nil, invalidParameter("desiredCount %d is out of range: it must be between 0 and %d.",
				*req.DesiredCount, maxTasksPerService)
		}
		svc.desiredCount = *req.DesiredCount
	}
	svc.taskDefinition = td
	svc.networkConfiguration = network
	svc.updatedAt = e.clock.Now()
	e.scaleService(rs, cl, svc, true, e.clock.Now())
	return map[string]any{"service": e.renderService(cl, svc)}, nil
}

type deleteServiceRequest struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   bool   `json:"force"`
}

// deleteService stops the service's tasks and makes it INACTIVE. Like ECS it
// requires a desired count of 0 unless force is set.
func (e *Emulator) deleteService(rs *regionState, c *call) (any, *apiError) {
	var req deleteServiceRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	svc := lookupService(cl, req.Service)
	if svc == nil || svc.status == statusInactive {
		return nil, newError(CodeServiceNotFound, "Service not found.")
	}
	if svc.desiredCount > 0 && !req.Force {
		return nil, invalidParameter("The service cannot be stopped while it is scaled above 0.")
	}
	now := e.clock.Now()
	svc.desiredCount = 0
	// NOTE: the emulator stops protected tasks too when the service is
	// deleted, because protection only guards against scale-in and
	// deployments. How ECS drains protected tasks on deletion is not
	// documented.
	for _, t := range cl.runningTasks(svc) {
		stopTask(t, "Service "+svc.name+" was deleted.", stopCodeScheduler, now)
	}
	svc.status = statusDraining
	out := e.renderService(cl, svc)
	svc.status = statusInactive
	svc.updatedAt = now
	return map[string]any{"service": out}, nil
}

type describeServicesRequest struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
}

func (e *Emulator) describeServices(rs *regionState, c *call) (any, *apiError) {
	var req describeServicesRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	if len(req.Services) == 0 || len(req.Services) > 10 {
		return nil, invalidParameter("services must name between 1 and 10 services; got %d.", len(req.Services))
	}
	services := []wireService{}
	failures := []wireFailure{}
	for _, ref := range req.Services {
		svc := lookupService(cl, ref)
		if svc == nil {
			arn := ref
			if _, isARN := parseARN(ref); !isARN {
				arn = serviceARN(rs.name, e.account, cl.name, ref)
			}
			failures = append(failures, wireFailure{Arn: arn, Reason: ReasonMissing})
			continue
		}
		services = append(services, e.renderService(cl, svc))
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

// purgeStopped removes stopped tasks older than the retention, after which
// ECS reports them as MISSING. The caller holds e.mu.
func (e *Emulator) purgeStopped(rs *regionState, now time.Time) {
	for _, cl := range rs.clusters {
		for id, t := range cl.tasks {
			if !t.running() && !t.stoppedAt.Add(e.retention).After(now) {
				delete(cl.tasks, id)
			}
		}
	}
}

// scaleService starts tasks up to the desired count and, when scaleIn is
// set, stops surplus tasks, never a protected one. A service whose surplus
// tasks are all protected stays above its desired count.
// NOTE: the ECS scheduler keeps retrying a blocked scale-in and stops tasks
// once their protection ends. The emulator scales only when a service is
// created or updated or one of its tasks stops, so the surplus stays until
// the next UpdateService. That keeps states such as "desired count 1, task A
// protected, task B unprotected" observable. The caller holds e.mu.
func (e *Emulator) scaleService(rs *regionState, cl *cluster, svc *service, scaleIn bool, now time.Time) {
	if svc.status != statusActive {
		return
	}
	running := cl.runningTasks(svc)
	for i := len(running); i < svc.desiredCount; i++ {
		e.startTask(rs, cl, e.serviceTaskSpec(svc), now)
	}
	if !scaleIn {
		return
	}
	for _, t := range chooseTasksToStop(running, len(running)-svc.desiredCount, now) {
		stopTask(t, "Scaling activity initiated by (deployment "+svc.deploymentID+")", stopCodeScheduler, now)
	}
}

// taskSpec is a task to start.
type taskSpec struct {
	id             string // empty for a random ID in the ARN format
	arnFormat      string // empty for the cluster's format
	service        *service
	taskDefinition *taskDefinition
	launchType     string
	group          string
	startedBy      string
	network        json.RawMessage
	tags           []tag
}

func (e *Emulator) serviceTaskSpec(svc *service) taskSpec {
	return taskSpec{
		service:        svc,
		taskDefinition: svc.taskDefinition,
		launchType:     svc.launchType,
		group:          "service:" + svc.name,
		startedBy:      svc.deploymentID,
		network:        svc.networkConfiguration,
	}
}

// startTask adds a RUNNING task. Tasks start at once: the emulator has no
// PROVISIONING or PENDING phase. The caller holds e.mu.
func (e *Emulator) startTask(rs *regionState, cl *cluster, spec taskSpec, now time.Time) *task {
	format := spec.arnFormat
	if format == "" {
		format = cl.taskARNFormat
	}
	id := spec.id
	if id == "" {
		id = newTaskID(format)
	}
	e.nextSeq++
	t := &task{
		seq:                  e.nextSeq,
		id:                   id,
		arn:                  taskARN(rs.name, e.account, cl.name, id, format),
		cluster:              cl,
		service:              spec.service,
		taskDefinition:       spec.taskDefinition,
		launchType:           spec.launchType,
		group:                spec.group,
		startedBy:            spec.startedBy,
		networkConfiguration: spec.network,
		lastStatus:           statusRunning,
		desiredStatus:        statusRunning,
		createdAt:            now,
		startedAt:            now,
		version:              3,
		tags:                 spec.tags,
	}
	if t.launchType == "FARGATE" {
		t.platformVersion = "1.4.0"
	}
	for _, c := range spec.taskDefinition.containers {
		t.containers = append(t.containers, taskContainer{
			arn:   containerARN(rs.name, e.account, cl.name, id),
			name:  c.Name,
			image: c.Image,
		})
	}
	cl.tasks[id] = t
	return t
}

// stopTask moves a task to STOPPED. Its protection ends with it.
func stopTask(t *task, reason, code string, now time.Time) {
	t.lastStatus = statusStopped
	t.desiredStatus = statusStopped
	t.stoppedAt = now
	t.stoppedReason = reason
	t.stopCode = code
	t.version++
	t.protectedUntil = time.Time{}
}
