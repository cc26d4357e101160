package ecsemulator

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// maxRunTaskCount is the ECS limit on RunTask's count.
const maxRunTaskCount = 10

// findTask returns the task of cl that ref names, or nil. A task ARN matches
// only when its region, account and (new format) cluster segment are those
// of cl. A task that the retention has purged is not found. The caller holds
// e.mu.
func (e *Emulator) findTask(rs *regionState, cl *cluster, ref taskRef) *task {
	if ref.region != "" && ref.region != rs.name {
		return nil
	}
	if ref.account != "" && ref.account != e.account {
		return nil
	}
	if ref.cluster != "" && ref.cluster != cl.name {
		return nil
	}
	return cl.tasks[ref.id]
}

type runTaskRequest struct {
	Cluster              string          `json:"cluster"`
	TaskDefinition       string          `json:"taskDefinition"`
	Count                *int            `json:"count"`
	LaunchType           string          `json:"launchType"`
	Group                string          `json:"group"`
	StartedBy            string          `json:"startedBy"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
	Tags                 []tag           `json:"tags"`
}

// runTask starts standalone tasks, which belong to no service and so cannot
// be protected.
func (e *Emulator) runTask(rs *regionState, c *call) (any, *apiError) {
	var req runTaskRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	count := 1
	if req.Count != nil {
		count = *req.Count
	}
	if count < 1 || count > maxRunTaskCount {
		return nil, invalidParameter("count %d is out of range: it must be between 1 and %d.", count, maxRunTaskCount)
	}
	if req.TaskDefinition == "" {
		return nil, invalidParameter("taskDefinition is required.")
	}
	td, err := e.lookupTaskDefinition(rs, req.TaskDefinition)
	if err != nil {
		return nil, invalidParameter("TaskDefinition not found: %v.", err)
	}
	spec := taskSpec{
		taskDefinition: td,
		launchType:     req.LaunchType,
		group:          req.Group,
		startedBy:      req.StartedBy,
		network:        req.NetworkConfiguration,
		tags:           req.Tags,
	}
	if apiErr := e.checkStandaloneSpec(&spec); apiErr != nil {
		return nil, apiErr
	}
	now := e.clock.Now()
	tasks := []wireTask{}
	for range count {
		t := e.startTask(rs, cl, spec, now)
		tasks = append(tasks, e.renderTask(rs.name, t))
	}
	return map[string]any{"tasks": tasks, "failures": []wireFailure{}}, nil
}

// checkStandaloneSpec fills the defaults ECS applies to RunTask and checks
// the launch type and network configuration.
func (e *Emulator) checkStandaloneSpec(spec *taskSpec) *apiError {
	if spec.launchType == "" {
		spec.launchType = "EC2"
	}
	if !launchTypes[spec.launchType] {
		return invalidParameter("Invalid launchType %q: expected EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES.",
			spec.launchType)
	}
	if spec.group == "" {
		spec.group = "family:" + spec.taskDefinition.family
	}
	return checkNetworkConfiguration(spec.taskDefinition, spec.network)
}

type stopTaskRequest struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

// stopTaskOperation stops a task whether or not it is protected: scale-in
// protection guards against the service scheduler, not against StopTask.
// A stopped service task is replaced, as the ECS scheduler does.
func (e *Emulator) stopTaskOperation(rs *regionState, c *call) (any, *apiError) {
	var req stopTaskRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	ref, err := parseTaskRef(req.Task)
	if err != nil {
		return nil, invalidParameter("%v", err)
	}
	t := e.findTask(rs, cl, ref)
	if t == nil {
		return nil, invalidParameter("The referenced task was not found.")
	}
	if t.running() {
		reason := req.Reason
		if reason == "" {
			reason = "Task stopped by user"
		}
		stopTask(t, reason, stopCodeUser, e.clock.Now())
		if t.service != nil {
			e.scaleService(rs, cl, t.service, false, e.clock.Now())
		}
	}
	return map[string]any{"task": e.renderTask(rs.name, t)}, nil
}

type listTasksRequest struct {
	Cluster       string `json:"cluster"`
	ServiceName   string `json:"serviceName"`
	Family        string `json:"family"`
	StartedBy     string `json:"startedBy"`
	LaunchType    string `json:"launchType"`
	DesiredStatus string `json:"desiredStatus"`
	MaxResults    *int   `json:"maxResults"`
	NextToken     string `json:"nextToken"`
}

// listTasks pages through task ARNs in creation order. The page token
// carries the creation number of the last task returned, so tasks that start
// or stop between pages neither repeat nor shift the pages.
func (e *Emulator) listTasks(rs *regionState, c *call) (any, *apiError) {
	var req listTasksRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	desired := req.DesiredStatus
	if desired == "" {
		desired = statusRunning
	}
	if desired != statusRunning && desired != statusStopped && desired != "PENDING" {
		return nil, invalidParameter("Invalid desiredStatus %q: expected RUNNING, PENDING or STOPPED.", desired)
	}
	limit := 100
	if req.MaxResults != nil {
		limit = *req.MaxResults
		if limit < 1 || limit > 100 {
			return nil, invalidParameter("maxResults %d is out of range: it must be between 1 and 100.", limit)
		}
	}
	var after int64
	if req.NextToken != "" {
		var err error
		after, err = decodePageToken(req.NextToken)
		if err != nil {
			return nil, invalidParameter("Invalid nextToken: use the value of a previous ListTasks response.")
		}
	}
	var svc *service
	if req.ServiceName != "" {
		svc = lookupService(cl, req.ServiceName)
		if svc == nil {
			return nil, newError(CodeServiceNotFound, "Service not found.")
		}
	}

	arns := []string{}
	var last int64
	more := false
	for _, t := range cl.sortedTasks() {
		if t.seq <= after || t.desiredStatus != desired {
			continue
		}
		if svc != nil && t.service != svc {
			continue
		}
		if req.Family != "" && t.taskDefinition.family != req.Family {
			continue
		}
		if req.StartedBy != "" && t.startedBy != req.StartedBy {
			continue
		}
		if req.LaunchType != "" && t.launchType != req.LaunchType {
			continue
		}
		if len(arns) == limit {
			more = true
			break
		}
		arns = append(arns, t.arn)
		last = t.seq
	}
	out := map[string]any{"taskArns": arns}
	if more {
		out["nextToken"] = encodePageToken(last)
	}
	return out, nil
}

func encodePageToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.FormatInt(seq, 10)))
}

func decodePageToken(token string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimPrefix(string(raw), "after:"), 10, 64)
}

type describeTasksRequest struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}

// describeTasks returns known tasks, including recently stopped ones, and a
// MISSING failure for each other entry.
// NOTE: the failure's arn is the entry as given; whether ECS expands a bare
// ID into an ARN there is not documented.
func (e *Emulator) describeTasks(rs *regionState, c *call) (any, *apiError) {
	var req describeTasksRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, apiErr := e.lookupCluster(rs, req.Cluster)
	if apiErr != nil {
		return nil, apiErr
	}
	if len(req.Tasks) == 0 {
		return nil, invalidParameter("Tasks cannot be empty.")
	}
	if len(req.Tasks) > 100 {
		return nil, invalidParameter("tasks can name at most 100 tasks; got %d.", len(req.Tasks))
	}
	refs, apiErr := parseTaskRefs(req.Tasks)
	if apiErr != nil {
		return nil, apiErr
	}
	tasks := []wireTask{}
	failures := []wireFailure{}
	for _, ref := range refs {
		t := e.findTask(rs, cl, ref)
		if t == nil {
			failures = append(failures, wireFailure{Arn: ref.input, Reason: ReasonMissing})
			continue
		}
		tasks = append(tasks, e.renderTask(rs.name, t))
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

// parseTaskRefs parses every entry of a tasks list and names the first
// malformed one in the error.
func parseTaskRefs(inputs []string) ([]taskRef, *apiError) {
	refs := make([]taskRef, 0, len(inputs))
	for _, s := range inputs {
		ref, err := parseTaskRef(s)
		if err != nil {
			return nil, invalidParameter("%v", err)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}
