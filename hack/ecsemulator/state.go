package ecsemulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"sigs.k8s.io/yaml"
)

// State is a set of resources to load into an emulator: the format of the
// command's --state file and of POST /_emulator/state. The package
// documentation shows an example.
type State struct {
	// Account must equal the emulator's account when set.
	Account  string         `json:"account,omitempty"`
	Clusters []ClusterState `json:"clusters,omitempty"`
}

// ClusterState is a cluster with its task definitions, services and tasks.
// A cluster that already exists is reused.
type ClusterState struct {
	Name string `json:"name"`
	// Region defaults to the emulator's default region.
	Region string `json:"region,omitempty"`
	// TaskArnFormat is "new" (default, arn:…:task/CLUSTER/32-HEX-ID) or
	// "old" (arn:…:task/UUID) for tasks of this cluster.
	TaskArnFormat string `json:"taskArnFormat,omitempty"`
	// TaskDefinitions are registered in the cluster's region (task
	// definitions are regional in ECS); each entry adds a revision.
	TaskDefinitions []TaskDefinitionState `json:"taskDefinitions,omitempty"`
	Services        []ServiceState        `json:"services,omitempty"`
	StandaloneTasks []TaskState           `json:"standaloneTasks,omitempty"`
}

// TaskDefinitionState holds the RegisterTaskDefinition members the
// emulator keeps.
type TaskDefinitionState struct {
	Family string `json:"family"`
	// ContainerDefinitions uses the ECS member names (name, image, cpu,
	// portMappings…). Default: one container named "app" with image
	// FAMILY:latest.
	ContainerDefinitions    []map[string]any `json:"containerDefinitions,omitempty"`
	NetworkMode             string           `json:"networkMode,omitempty"`
	RequiresCompatibilities []string         `json:"requiresCompatibilities,omitempty"`
	Cpu                     string           `json:"cpu,omitempty"`
	Memory                  string           `json:"memory,omitempty"`
}

// ServiceState is a REPLICA service and its running tasks.
type ServiceState struct {
	Name string `json:"name"`
	// TaskDefinition is FAMILY, FAMILY:REVISION or an ARN; it may be omitted
	// when the cluster entry lists exactly one task definition.
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// DesiredCount defaults to the number of Tasks. When it exceeds that
	// number, the emulator starts the rest with random IDs. When it is
	// lower, every listed task runs, as after a scale-in that protection
	// blocked, until the next UpdateService.
	DesiredCount         *int            `json:"desiredCount,omitempty"`
	LaunchType           string          `json:"launchType,omitempty"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration,omitempty"`
	Tasks                []TaskState     `json:"tasks,omitempty"`
}

// TaskState is a RUNNING task.
type TaskState struct {
	// ID is the task ID in the task's ARN format: 32 lowercase hexadecimal
	// characters, or a UUID for the old format. Empty means a random ID.
	ID string `json:"id,omitempty"`
	// TaskArnFormat overrides the cluster's format for this task.
	TaskArnFormat string `json:"taskArnFormat,omitempty"`
	// TaskDefinition applies to standalone tasks only; it may be omitted
	// when the cluster entry lists exactly one task definition.
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// LaunchType, Group, StartedBy and NetworkConfiguration apply to
	// standalone tasks only; service tasks take them from the service.
	LaunchType           string          `json:"launchType,omitempty"`
	Group                string          `json:"group,omitempty"`
	StartedBy            string          `json:"startedBy,omitempty"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration,omitempty"`
	// ProtectedForMinutes enables scale-in protection for this many minutes
	// (1 to 2880) from the time the state is loaded; service tasks only.
	ProtectedForMinutes int `json:"protectedForMinutes,omitempty"`
}

// ParseState reads a state document in YAML or JSON. Unknown fields are
// rejected so that a misspelt key is not silently ignored.
func ParseState(data []byte) (State, error) {
	var s State
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return State{}, fmt.Errorf("invalid emulator state: %w", err)
	}
	return s, nil
}

// LoadState adds the clusters, task definitions, services, tasks and
// protections of s. It checks the whole document first and changes nothing
// when any entry is invalid or collides with an existing service or task.
func (e *Emulator) LoadState(s State) error {
	if s.Account != "" && s.Account != e.account {
		return fmt.Errorf("state account %q does not match the emulator account %q; "+
			"start the emulator with that account", s.Account, e.account)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	plans, err := e.planState(s)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	for _, p := range plans {
		e.applyCluster(p, now)
	}
	return nil
}

// clusterPlan is a validated cluster entry.
type clusterPlan struct {
	ClusterState
	region string
	format string
	// taskDefs are the request members of each task definition entry.
	taskDefs []map[string]any
}

// planState validates every entry against the current state. The caller
// holds e.mu.
func (e *Emulator) planState(s State) ([]clusterPlan, error) {
	var plans []clusterPlan
	newIDs := map[string]bool{} // region/cluster/id of tasks this document adds
	for i, cs := range s.Clusters {
		where := fmt.Sprintf("clusters[%d] (%s)", i, cs.Name)
		p := clusterPlan{ClusterState: cs, region: cs.Region, format: cs.TaskArnFormat}
		if p.region == "" {
			p.region = e.defaultRegion
		}
		if !regionPattern.MatchString(p.region) {
			return nil, fmt.Errorf("%s: invalid region %q, expected a name such as eu-west-1", where, p.region)
		}
		if !namePattern.MatchString(cs.Name) {
			return nil, fmt.Errorf("%s: invalid cluster name %q: use up to 255 letters, numbers, "+
				"hyphens and underscores", where, cs.Name)
		}
		if err := checkARNFormat(p.format); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		existing := e.regions[p.region].activeCluster(cs.Name)
		if existing != nil && p.format != "" && p.format != existing.taskARNFormat {
			return nil, fmt.Errorf("%s: the cluster exists with taskArnFormat %q", where, existing.taskARNFormat)
		}
		if p.format == "" {
			p.format = TaskARNFormatNew
			if existing != nil {
				p.format = existing.taskARNFormat
			}
		}

		families := map[string]bool{}
		for j, td := range cs.TaskDefinitions {
			fields, err := taskDefinitionFields(td)
			if err == nil {
				_, _, apiErr := checkTaskDefinitionFields(fields)
				if apiErr != nil {
					err = errors.New(apiErr.message)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: taskDefinitions[%d]: %w", where, j, err)
			}
			families[td.Family] = true
			p.taskDefs = append(p.taskDefs, fields)
		}
		// resolve returns the request members of the task definition that
		// ref names, from this entry or from those already registered.
		resolve := func(ref string) (map[string]any, error) {
			if ref == "" {
				if len(p.taskDefs) != 1 {
					return nil, errors.New("taskDefinition is required unless the cluster lists " +
						"exactly one task definition")
				}
				return p.taskDefs[0], nil
			}
			parsed, err := parseTaskDefinitionRef(ref)
			if err != nil {
				return nil, err
			}
			revision := len(e.regions[p.region].families(parsed.family))
			var found map[string]any
			for j, td := range cs.TaskDefinitions {
				if td.Family == parsed.family {
					revision++
					if parsed.revision == 0 || parsed.revision == revision {
						found = p.taskDefs[j]
					}
				}
			}
			if found != nil {
				return found, nil
			}
			if rs := e.regions[p.region]; rs != nil {
				if td, err := e.lookupTaskDefinition(rs, ref); err == nil {
					return td.fields, nil
				}
			}
			return nil, fmt.Errorf("task definition %q is neither listed in taskDefinitions nor registered", ref)
		}
		checkTask := func(tw string, ts TaskState, standalone bool) error {
			format := p.format
			if ts.TaskArnFormat != "" {
				if err := checkARNFormat(ts.TaskArnFormat); err != nil {
					return fmt.Errorf("%s: %w", tw, err)
				}
				format = ts.TaskArnFormat
			}
			if ts.ID != "" {
				if !validTaskIDForFormat(ts.ID, format) {
					return fmt.Errorf("%s: id %q does not fit the %s task ARN format (%s)",
						tw, ts.ID, format, describeIDFormat(format))
				}
				key := p.region + "/" + cs.Name + "/" + ts.ID
				if newIDs[key] || (existing != nil && existing.tasks[ts.ID] != nil) {
					return fmt.Errorf("%s: task %s already exists in cluster %s", tw, ts.ID, cs.Name)
				}
				newIDs[key] = true
			}
			if ts.ProtectedForMinutes < 0 || ts.ProtectedForMinutes > maxExpiresInMinutes {
				return fmt.Errorf("%s: protectedForMinutes %d is out of range: use 1 to %d, or 0 for none",
					tw, ts.ProtectedForMinutes, maxExpiresInMinutes)
			}
			if !standalone {
				if ts.TaskDefinition != "" || ts.LaunchType != "" || ts.Group != "" || ts.StartedBy != "" ||
					len(ts.NetworkConfiguration) > 0 {
					return fmt.Errorf("%s: taskDefinition, launchType, group, startedBy and "+
						"networkConfiguration are set on the service, not on its tasks", tw)
				}
				return nil
			}
			if ts.ProtectedForMinutes > 0 {
				return fmt.Errorf("%s: standalone tasks cannot be protected; ECS protects only service tasks", tw)
			}
			if ts.LaunchType != "" && !launchTypes[ts.LaunchType] {
				return fmt.Errorf("%s: invalid launchType %q, expected EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES",
					tw, ts.LaunchType)
			}
			fields, err := resolve(ts.TaskDefinition)
			if err != nil {
				return fmt.Errorf("%s: %w", tw, err)
			}
			if apiErr := checkNetworkConfiguration(&taskDefinition{fields: fields}, ts.NetworkConfiguration); apiErr != nil {
				return fmt.Errorf("%s: %s", tw, apiErr.message)
			}
			return nil
		}

		serviceNames := map[string]bool{}
		for j, svc := range cs.Services {
			sw := fmt.Sprintf("%s: services[%d] (%s)", where, j, svc.Name)
			if !namePattern.MatchString(svc.Name) {
				return nil, fmt.Errorf("%s: invalid service name %q", sw, svc.Name)
			}
			if serviceNames[svc.Name] || (existing != nil && existing.services[svc.Name] != nil &&
				existing.services[svc.Name].status != statusInactive) {
				return nil, fmt.Errorf("%s: service %s already exists in cluster %s", sw, svc.Name, cs.Name)
			}
			serviceNames[svc.Name] = true
			fields, err := resolve(svc.TaskDefinition)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sw, err)
			}
			network := &taskDefinition{fields: fields}
			if apiErr := checkNetworkConfiguration(network, svc.NetworkConfiguration); apiErr != nil {
				return nil, fmt.Errorf("%s: %s", sw, apiErr.message)
			}
			if svc.DesiredCount != nil && (*svc.DesiredCount < 0 || *svc.DesiredCount > maxTasksPerService) {
				return nil, fmt.Errorf("%s: desiredCount %d is out of range: use 0 to %d",
					sw, *svc.DesiredCount, maxTasksPerService)
			}
			if svc.LaunchType != "" && !launchTypes[svc.LaunchType] {
				return nil, fmt.Errorf("%s: invalid launchType %q, expected EC2, FARGATE, EXTERNAL or "+
					"MANAGED_INSTANCES", sw, svc.LaunchType)
			}
			for k, ts := range svc.Tasks {
				if err := checkTask(fmt.Sprintf("%s: tasks[%d]", sw, k), ts, false); err != nil {
					return nil, err
				}
			}
		}
		for j, ts := range cs.StandaloneTasks {
			if err := checkTask(fmt.Sprintf("%s: standaloneTasks[%d]", where, j), ts, true); err != nil {
				return nil, err
			}
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// applyCluster creates what a validated plan describes. The caller holds
// e.mu.
func (e *Emulator) applyCluster(p clusterPlan, now time.Time) {
	rs := e.region(p.region)
	cl := e.ensureCluster(rs, p.Name, p.format, now)
	var onlyDef *taskDefinition
	for _, fields := range p.taskDefs {
		td, _ := e.addTaskDefinition(rs, fields, now)
		onlyDef = td
	}
	resolve := func(ref string) *taskDefinition {
		if ref == "" {
			return onlyDef
		}
		td, _ := e.lookupTaskDefinition(rs, ref)
		return td
	}
	for _, ss := range p.Services {
		desired := len(ss.Tasks)
		if ss.DesiredCount != nil {
			desired = *ss.DesiredCount
		}
		svc, apiErr := e.addService(rs, cl, serviceSpec{
			name:                 ss.Name,
			taskDefinition:       resolve(ss.TaskDefinition),
			desiredCount:         desired,
			launchType:           ss.LaunchType,
			networkConfiguration: ss.NetworkConfiguration,
		}, now)
		if apiErr != nil {
			// planState ran the same checks, so this does not happen.
			continue
		}
		for _, ts := range ss.Tasks {
			spec := e.serviceTaskSpec(svc)
			spec.id, spec.arnFormat = ts.ID, ts.TaskArnFormat
			t := e.startTask(rs, cl, spec, now)
			if ts.ProtectedForMinutes > 0 {
				t.protectedUntil = truncateToMillis(now).Add(time.Duration(ts.ProtectedForMinutes) * time.Minute)
				t.everProtected = true
			}
		}
		e.scaleService(rs, cl, svc, false, now)
	}
	for _, ts := range p.StandaloneTasks {
		spec := taskSpec{
			id:             ts.ID,
			arnFormat:      ts.TaskArnFormat,
			taskDefinition: resolve(ts.TaskDefinition),
			launchType:     ts.LaunchType,
			group:          ts.Group,
			startedBy:      ts.StartedBy,
			network:        ts.NetworkConfiguration,
		}
		_ = e.checkStandaloneSpec(&spec)
		e.startTask(rs, cl, spec, now)
	}
}

func checkARNFormat(format string) error {
	if format != "" && format != TaskARNFormatNew && format != TaskARNFormatOld {
		return fmt.Errorf("invalid taskArnFormat %q, expected %q or %q", format, TaskARNFormatNew, TaskARNFormatOld)
	}
	return nil
}

func describeIDFormat(format string) string {
	if format == TaskARNFormatOld {
		return "a lowercase UUID such as 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	}
	return "32 lowercase hexadecimal characters"
}

// taskDefinitionFields converts a state entry into RegisterTaskDefinition
// request members.
func taskDefinitionFields(td TaskDefinitionState) (map[string]any, error) {
	if len(td.ContainerDefinitions) == 0 {
		td.ContainerDefinitions = []map[string]any{{"name": "app", "image": td.Family + ":latest"}}
	}
	raw, err := json.Marshal(td)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	return fields, nil
}

func (rs *regionState) activeCluster(name string) *cluster {
	if rs == nil {
		return nil
	}
	if c := rs.clusters[name]; c != nil && c.status == statusActive {
		return c
	}
	return nil
}

func (rs *regionState) families(family string) []*taskDefinition {
	if rs == nil {
		return nil
	}
	return rs.taskDefinitions[family]
}

// Snapshot returns the running clusters, services and tasks in the State
// format, so that it can be saved and loaded into a fresh emulator. Task
// definition revisions restart at 1 when loaded, and protection is rounded up
// to whole minutes.
func (e *Emulator) Snapshot() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	s := State{Account: e.account}
	regions := make([]string, 0, len(e.regions))
	for name := range e.regions {
		regions = append(regions, name)
	}
	slices.Sort(regions)
	for _, region := range regions {
		rs := e.regions[region]
		e.purgeStopped(rs, now)
		names := make([]string, 0, len(rs.clusters))
		for name, cl := range rs.clusters {
			if cl.status == statusActive {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			s.Clusters = append(s.Clusters, snapshotCluster(rs.clusters[name], region, now))
		}
	}
	return s
}

func snapshotCluster(cl *cluster, region string, now time.Time) ClusterState {
	cs := ClusterState{Name: cl.name, Region: region, TaskArnFormat: cl.taskARNFormat}
	listed := map[string]bool{}
	addDef := func(td *taskDefinition) string {
		if !listed[td.family] {
			listed[td.family] = true
			raw, _ := json.Marshal(td.fields)
			var def TaskDefinitionState
			_ = json.Unmarshal(raw, &def)
			def.Family = td.family
			cs.TaskDefinitions = append(cs.TaskDefinitions, def)
		}
		return td.family
	}
	taskState := func(t *task) TaskState {
		ts := TaskState{ID: t.id}
		if (cl.taskARNFormat == TaskARNFormatOld) != oldTaskIDPattern.MatchString(t.id) {
			ts.TaskArnFormat = TaskARNFormatNew
			if oldTaskIDPattern.MatchString(t.id) {
				ts.TaskArnFormat = TaskARNFormatOld
			}
		}
		if t.protected(now) {
			ts.ProtectedForMinutes = int(math.Ceil(t.protectedUntil.Sub(now).Minutes()))
		}
		return ts
	}
	for _, svc := range cl.activeServices() {
		desired := svc.desiredCount
		ss := ServiceState{
			Name:                 svc.name,
			TaskDefinition:       addDef(svc.taskDefinition),
			DesiredCount:         &desired,
			LaunchType:           svc.launchType,
			NetworkConfiguration: svc.networkConfiguration,
		}
		for _, t := range cl.runningTasks(svc) {
			ss.Tasks = append(ss.Tasks, taskState(t))
		}
		cs.Services = append(cs.Services, ss)
	}
	for _, t := range cl.sortedTasks() {
		if t.service != nil || !t.running() {
			continue
		}
		ts := taskState(t)
		ts.TaskDefinition = addDef(t.taskDefinition)
		ts.LaunchType, ts.Group, ts.StartedBy = t.launchType, t.group, t.startedBy
		ts.NetworkConfiguration = t.networkConfiguration
		cs.StandaloneTasks = append(cs.StandaloneTasks, ts)
	}
	return cs
}

// ResetState removes every cluster, task definition, service and task.
// Faults, throttles, latency, quirks, the clock and the request log stay.
func (e *Emulator) ResetState() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.regions = map[string]*regionState{}
}
