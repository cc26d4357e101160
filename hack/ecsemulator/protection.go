package ecsemulator

import (
	"fmt"
	"time"
)

// Limits of the task protection API, from the ECS API reference.
const (
	maxGetProtectionTasks    = 100
	maxUpdateProtectionTasks = 10
	minExpiresInMinutes      = 1
	maxExpiresInMinutes      = 2880
	defaultExpiresInMinutes  = 120
)

type getTaskProtectionRequest struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}

func (e *Emulator) getTaskProtection(rs *regionState, c *call) (any, *apiError) {
	var req getTaskProtectionRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	cl, refs, apiErr := e.protectionTargets(rs, req.Cluster, req.Tasks, maxGetProtectionTasks)
	if apiErr != nil {
		return nil, apiErr
	}
	now := e.clock.Now()
	out := protectionResponse{ProtectedTasks: []wireProtectedTask{}, Failures: []wireFailure{}}
	seen := map[*task]bool{}
	for _, ref := range refs {
		t, failure := e.protectableTask(rs, cl, ref)
		if failure != nil {
			out.Failures = append(out.Failures, *failure)
			continue
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		if e.controls.emptyProtectionQuirk && !t.everProtected {
			continue
		}
		out.ProtectedTasks = append(out.ProtectedTasks, protectionEntry(t, now))
	}
	return out, nil
}

type updateTaskProtectionRequest struct {
	Cluster           string   `json:"cluster"`
	Tasks             []string `json:"tasks"`
	ProtectionEnabled *bool    `json:"protectionEnabled"`
	ExpiresInMinutes  *int     `json:"expiresInMinutes"`
}

// updateTaskProtection enables or disables protection. Enabling always
// resets the expiry, so calling it again renews protection. ECS refuses to
// protect more tasks of a service than its desired count. It returns HTTP 200
// and lists the refused tasks as DEPLOYMENT_BLOCKED failures.
func (e *Emulator) updateTaskProtection(rs *regionState, c *call) (any, *apiError) {
	var req updateTaskProtectionRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if req.ProtectionEnabled == nil {
		return nil, invalidParameter("protectionEnabled is required.")
	}
	minutes := defaultExpiresInMinutes
	if req.ExpiresInMinutes != nil {
		minutes = *req.ExpiresInMinutes
		if minutes < minExpiresInMinutes || minutes > maxExpiresInMinutes {
			return nil, invalidParameter("expiresInMinutes %d is out of range: it must be between %d and %d.",
				minutes, minExpiresInMinutes, maxExpiresInMinutes)
		}
	}
	cl, refs, apiErr := e.protectionTargets(rs, req.Cluster, req.Tasks, maxUpdateProtectionTasks)
	if apiErr != nil {
		return nil, apiErr
	}
	now := e.clock.Now()
	expiry := truncateToMillis(now).Add(time.Duration(minutes) * time.Minute)
	out := protectionResponse{ProtectedTasks: []wireProtectedTask{}, Failures: []wireFailure{}}
	protectedCount := map[*service]int{}
	seen := map[*task]bool{}
	for _, ref := range refs {
		t, failure := e.protectableTask(rs, cl, ref)
		if failure == nil && !t.running() {
			failure = &wireFailure{Arn: t.arn, Reason: ReasonTaskNotValid, Detail: "The task is not running."}
		}
		// NOTE: ECS does not document the response for a stopped task, so the
		// emulator reports it as TASK_NOT_VALID.
		if failure != nil {
			out.Failures = append(out.Failures, *failure)
			continue
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		if !*req.ProtectionEnabled {
			t.protectedUntil = time.Time{}
			out.ProtectedTasks = append(out.ProtectedTasks, protectionEntry(t, now))
			continue
		}
		if !t.protected(now) {
			count, counted := protectedCount[t.service]
			if !counted {
				count = countProtected(cl, t.service, now)
			}
			if count+1 > t.service.desiredCount {
				out.Failures = append(out.Failures, wireFailure{
					Arn:    t.arn,
					Reason: ReasonDeploymentBlocked,
					Detail: fmt.Sprintf("Protecting this task would leave %d protected tasks in service %s, "+
						"more than its desired count of %d.", count+1, t.service.name, t.service.desiredCount),
				})
				protectedCount[t.service] = count
				continue
			}
			protectedCount[t.service] = count + 1
		}
		t.protectedUntil = expiry
		t.everProtected = true
		out.ProtectedTasks = append(out.ProtectedTasks, protectionEntry(t, now))
	}
	return out, nil
}

// protectionTargets checks the cluster and tasks members shared by both
// protection operations.
func (e *Emulator) protectionTargets(rs *regionState, clusterRef string, tasks []string, limit int) (*cluster, []taskRef, *apiError) {
	if clusterRef == "" {
		return nil, nil, invalidParameter("cluster is required.")
	}
	cl, apiErr := e.lookupCluster(rs, clusterRef)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if len(tasks) == 0 {
		// NOTE: the ECS model marks tasks optional for GetTaskProtection but
		// does not document the response without it, so the emulator rejects it
		// rather than guess.
		return nil, nil, invalidParameter("tasks must name at least one task ID or ARN.")
	}
	if len(tasks) > limit {
		return nil, nil, invalidParameter("tasks can name at most %d tasks; got %d.", limit, len(tasks))
	}
	refs, apiErr := parseTaskRefs(tasks)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	return cl, refs, nil
}

// protectableTask finds a task for the protection operations, or returns the
// failure entry ECS sends for it: MISSING (with the entry as given) for an
// unknown task, TASK_NOT_VALID for a standalone one.
func (e *Emulator) protectableTask(rs *regionState, cl *cluster, ref taskRef) (*task, *wireFailure) {
	t := e.findTask(rs, cl, ref)
	if t == nil {
		return nil, &wireFailure{Arn: ref.input, Reason: ReasonMissing}
	}
	if t.service == nil {
		return nil, &wireFailure{
			Arn:    t.arn,
			Reason: ReasonTaskNotValid,
			Detail: "Task protection is supported only for tasks that belong to a service.",
		}
	}
	return t, nil
}

// protectionEntry is the ProtectedTask entry for t, with expirationDate only
// while protection is in force. Protection that has expired reads as
// disabled.
func protectionEntry(t *task, now time.Time) wireProtectedTask {
	entry := wireProtectedTask{TaskArn: t.arn}
	if t.protected(now) {
		entry.ProtectionEnabled = true
		entry.ExpirationDate = epoch(t.protectedUntil)
	}
	return entry
}

func countProtected(cl *cluster, svc *service, now time.Time) int {
	n := 0
	for _, t := range cl.runningTasks(svc) {
		if t.protected(now) {
			n++
		}
	}
	return n
}

// truncateToMillis drops the sub-millisecond part, which the wire format
// cannot carry, so that stored and reported times agree.
func truncateToMillis(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli()).UTC()
}
