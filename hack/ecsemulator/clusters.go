package ecsemulator

import (
	"encoding/json"
	"fmt"
	"time"
)

// lookupCluster finds an active cluster by short name or ARN; "" means the
// cluster named default, as in ECS. The caller holds e.mu.
func (e *Emulator) lookupCluster(rs *regionState, ref string) (*cluster, *apiError) {
	if ref == "" {
		ref = "default"
	}
	name, region, account, err := clusterNameFromRef(ref)
	if err != nil {
		return nil, invalidParameter("%v", err)
	}
	if (region != "" && region != rs.name) || (account != "" && account != e.account) {
		return nil, errClusterNotFound()
	}
	c := rs.clusters[name]
	if c == nil || c.status != statusActive {
		return nil, errClusterNotFound()
	}
	return c, nil
}

// ensureCluster returns the named cluster, creating or reactivating it. The
// caller holds e.mu.
func (e *Emulator) ensureCluster(rs *regionState, name, taskARNFormat string, now time.Time) *cluster {
	if c := rs.clusters[name]; c != nil && c.status == statusActive {
		return c
	}
	if taskARNFormat == "" {
		taskARNFormat = TaskARNFormatNew
	}
	c := &cluster{
		name:          name,
		arn:           clusterARN(rs.name, e.account, name),
		status:        statusActive,
		taskARNFormat: taskARNFormat,
		createdAt:     now,
		services:      map[string]*service{},
		tasks:         map[string]*task{},
	}
	rs.clusters[name] = c
	return c
}

type createClusterRequest struct {
	ClusterName string `json:"clusterName"`
	Tags        []tag  `json:"tags"`
}

// createCluster is idempotent, as in ECS: an active cluster of the same name
// is returned unchanged.
func (e *Emulator) createCluster(rs *regionState, c *call) (any, *apiError) {
	var req createClusterRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if req.ClusterName == "" {
		req.ClusterName = "default"
	}
	if !namePattern.MatchString(req.ClusterName) {
		return nil, invalidParameter("Invalid cluster name %q: up to 255 letters (uppercase and "+
			"lowercase), numbers, underscores, and hyphens are allowed.", req.ClusterName)
	}
	cl := e.ensureCluster(rs, req.ClusterName, "", e.clock.Now())
	if cl.tags == nil {
		cl.tags = req.Tags
	}
	return map[string]any{"cluster": e.renderCluster(cl)}, nil
}

type describeClustersRequest struct {
	Clusters []string `json:"clusters"`
}

func (e *Emulator) describeClusters(rs *regionState, c *call) (any, *apiError) {
	var req describeClustersRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if len(req.Clusters) == 0 {
		req.Clusters = []string{"default"}
	}
	if len(req.Clusters) > 100 {
		return nil, invalidParameter("clusters can name at most 100 clusters; got %d.", len(req.Clusters))
	}
	clusters := []wireCluster{}
	failures := []wireFailure{}
	for _, ref := range req.Clusters {
		name, region, account, err := clusterNameFromRef(ref)
		if err != nil {
			return nil, invalidParameter("%v", err)
		}
		cl := rs.clusters[name]
		if cl == nil || (region != "" && region != rs.name) || (account != "" && account != e.account) {
			failures = append(failures, wireFailure{Arn: clusterARN(rs.name, e.account, name), Reason: ReasonMissing})
			continue
		}
		clusters = append(clusters, e.renderCluster(cl))
	}
	return map[string]any{"clusters": clusters, "failures": failures}, nil
}

type deleteClusterRequest struct {
	Cluster string `json:"cluster"`
}

// deleteCluster marks the cluster INACTIVE. ECS refuses while services are
// active or tasks are running, and so does the emulator.
func (e *Emulator) deleteCluster(rs *regionState, c *call) (any, *apiError) {
	var req deleteClusterRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if req.Cluster == "" {
		return nil, invalidParameter("cluster is required.")
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	if len(cl.activeServices()) > 0 {
		return nil, newError(CodeClusterHasServices, "The Cluster cannot be deleted while Services are active.")
	}
	for _, t := range cl.tasks {
		if t.running() {
			return nil, newError(CodeClusterHasTasks, "The Cluster cannot be deleted while Tasks are active.")
		}
	}
	cl.status = statusInactive
	return map[string]any{"cluster": e.renderCluster(cl)}, nil
}

// registerTaskDefinitionRequest lists the members the emulator checks; every
// member of the request is kept for DescribeTaskDefinition.
type registerTaskDefinitionRequest struct {
	Family               string            `json:"family"`
	ContainerDefinitions []json.RawMessage `json:"containerDefinitions"`
	Cpu                  string            `json:"cpu"`
	Memory               string            `json:"memory"`
	Tags                 []tag             `json:"tags"`
}

func (e *Emulator) registerTaskDefinition(rs *regionState, c *call) (any, *apiError) {
	var req registerTaskDefinitionRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(c.body, &fields); err != nil {
		return nil, newError(CodeSerialization, "Invalid request body: %v", err)
	}
	delete(fields, "tags")
	td, apiErr := e.addTaskDefinition(rs, fields, e.clock.Now())
	if apiErr != nil {
		return nil, apiErr
	}
	return map[string]any{"taskDefinition": renderTaskDefinition(td), "tags": emptyIfNil(req.Tags)}, nil
}

// addTaskDefinition validates the members of a RegisterTaskDefinition
// request and registers the next revision of its family. The caller holds
// e.mu.
func (e *Emulator) addTaskDefinition(rs *regionState, fields map[string]any, now time.Time) (*taskDefinition, *apiError) {
	family, containers, apiErr := checkTaskDefinitionFields(fields)
	if apiErr != nil {
		return nil, apiErr
	}
	cpu, _ := fields["cpu"].(string)
	memory, _ := fields["memory"].(string)
	revision := len(rs.taskDefinitions[family]) + 1
	td := &taskDefinition{
		arn:          taskDefinitionARN(rs.name, e.account, family, revision),
		family:       family,
		revision:     revision,
		status:       statusActive,
		registeredAt: now,
		fields:       fields,
		containers:   containers,
		cpu:          cpu,
		memory:       memory,
	}
	rs.taskDefinitions[family] = append(rs.taskDefinitions[family], td)
	return td, nil
}

// checkTaskDefinitionFields applies the ECS rules for a family name and
// container definitions, and fills essential=true where it is absent, as
// ECS does.
func checkTaskDefinitionFields(fields map[string]any) (string, []containerSpec, *apiError) {
	family, _ := fields["family"].(string)
	if family == "" {
		return "", nil, clientError("Family is required.")
	}
	if !namePattern.MatchString(family) {
		return "", nil, clientError("Invalid family %q: up to 255 letters (uppercase and lowercase), "+
			"numbers, hyphens, and underscores are allowed.", family)
	}
	rawContainers, _ := fields["containerDefinitions"].([]any)
	if len(rawContainers) == 0 {
		return "", nil, clientError("Container list cannot be empty.")
	}
	var containers []containerSpec
	seen := map[string]bool{}
	for i, raw := range rawContainers {
		def, ok := raw.(map[string]any)
		if !ok {
			return "", nil, clientError("containerDefinitions[%d] must be an object.", i)
		}
		name, _ := def["name"].(string)
		image, _ := def["image"].(string)
		if name == "" {
			return "", nil, clientError("Container.name should not be null or empty.")
		}
		if image == "" {
			return "", nil, clientError("Container.image should not be null or empty.")
		}
		if seen[name] {
			return "", nil, clientError("Duplicate container name %q in containerDefinitions.", name)
		}
		seen[name] = true
		if _, ok := def["essential"]; !ok {
			def["essential"] = true
		}
		containers = append(containers, containerSpec{Name: name, Image: image})
	}
	return family, containers, nil
}

// lookupTaskDefinition resolves FAMILY (latest active revision),
// FAMILY:REVISION or an ARN. The caller holds e.mu.
func (e *Emulator) lookupTaskDefinition(rs *regionState, ref string) (*taskDefinition, error) {
	parsed, err := parseTaskDefinitionRef(ref)
	if err != nil {
		return nil, err
	}
	if (parsed.region != "" && parsed.region != rs.name) || (parsed.account != "" && parsed.account != e.account) {
		return nil, fmt.Errorf("task definition %q is not in this region and account", ref)
	}
	revisions := rs.taskDefinitions[parsed.family]
	if parsed.revision > 0 {
		if parsed.revision > len(revisions) {
			return nil, fmt.Errorf("task definition %q is not registered", ref)
		}
		return revisions[parsed.revision-1], nil
	}
	for i := len(revisions) - 1; i >= 0; i-- {
		if revisions[i].status == statusActive {
			return revisions[i], nil
		}
	}
	return nil, fmt.Errorf("task definition family %q has no active revision", parsed.family)
}

type describeTaskDefinitionRequest struct {
	TaskDefinition string `json:"taskDefinition"`
}

func (e *Emulator) describeTaskDefinition(rs *regionState, c *call) (any, *apiError) {
	var req describeTaskDefinitionRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if req.TaskDefinition == "" {
		return nil, clientError("taskDefinition is required.")
	}
	td, err := e.lookupTaskDefinition(rs, req.TaskDefinition)
	if err != nil {
		// ECS sends this fixed text for any task definition it cannot find.
		return nil, clientError("Unable to describe task definition.")
	}
	return map[string]any{"taskDefinition": renderTaskDefinition(td), "tags": []tag{}}, nil
}
