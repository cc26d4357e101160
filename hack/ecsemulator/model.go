package ecsemulator

import (
	"encoding/json"
	"slices"
	"time"
)

// Lifecycle values of ECS resources.
const (
	statusActive   = "ACTIVE"
	statusInactive = "INACTIVE"
	statusDraining = "DRAINING"
	statusRunning  = "RUNNING"
	statusStopped  = "STOPPED"
)

// maxTasksPerService is the ECS default quota of tasks per service. The
// emulator rejects larger desired counts, so a typo cannot make it allocate
// millions of tasks.
const maxTasksPerService = 5000

// regionState is everything one region of the emulated account contains.
type regionState struct {
	name            string
	clusters        map[string]*cluster
	taskDefinitions map[string][]*taskDefinition // family to revisions, revision n at index n-1
}

type cluster struct {
	name          string
	arn           string
	status        string
	taskARNFormat string
	tags          []tag
	createdAt     time.Time
	services      map[string]*service
	serviceOrder  []string
	tasks         map[string]*task
}

type taskDefinition struct {
	arn          string
	family       string
	revision     int
	status       string
	registeredAt time.Time
	// fields stores the RegisterTaskDefinition request members (without tags)
	// so that DescribeTaskDefinition returns them unchanged.
	fields     map[string]any
	containers []containerSpec
	cpu        string
	memory     string
}

type containerSpec struct {
	Name  string
	Image string
}

type service struct {
	name                 string
	arn                  string
	status               string
	taskDefinition       *taskDefinition
	desiredCount         int
	launchType           string
	platformVersion      string
	networkConfiguration json.RawMessage
	deploymentConfig     json.RawMessage
	deploymentID         string
	tags                 []tag
	createdAt            time.Time
	updatedAt            time.Time
}

type task struct {
	seq                  int64 // creation order, used for paging and ties
	id                   string
	arn                  string
	cluster              *cluster
	service              *service // nil for a standalone task
	taskDefinition       *taskDefinition
	launchType           string
	platformVersion      string
	group                string
	startedBy            string
	networkConfiguration json.RawMessage
	lastStatus           string
	desiredStatus        string
	createdAt            time.Time
	startedAt            time.Time
	stoppedAt            time.Time
	stoppedReason        string
	stopCode             string
	version              int
	containers           []taskContainer
	tags                 []tag
	// protectedUntil is the protection expiry; zero when protection was
	// never enabled or was disabled.
	protectedUntil time.Time
	// everProtected records whether protection was ever enabled, for the
	// early-ECS quirk that omits never-protected tasks from responses.
	everProtected bool
}

type taskContainer struct {
	arn   string
	name  string
	image string
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (t *task) running() bool { return t.lastStatus == statusRunning }

// protected reports whether scale-in protection is in force at now.
func (t *task) protected(now time.Time) bool {
	return !t.protectedUntil.IsZero() && now.Before(t.protectedUntil)
}

// runningTasks returns the RUNNING tasks of s in creation order.
func (c *cluster) runningTasks(s *service) []*task {
	var out []*task
	for _, t := range c.tasks {
		if t.service == s && t.running() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *task) int { return int(a.seq - b.seq) })
	return out
}

// sortedTasks returns every task of the cluster in creation order.
func (c *cluster) sortedTasks() []*task {
	out := make([]*task, 0, len(c.tasks))
	for _, t := range c.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *task) int { return int(a.seq - b.seq) })
	return out
}

func (c *cluster) activeServices() []*service {
	var out []*service
	for _, name := range c.serviceOrder {
		if s := c.services[name]; s != nil && s.status == statusActive {
			out = append(out, s)
		}
	}
	return out
}

// chooseTasksToStop picks up to excess tasks for a service scale-in. ECS
// never stops a task whose scale-in protection is in force, so only
// unprotected RUNNING tasks are candidates; the newest go first.
// NOTE: ECS documents that protected tasks are skipped but not which of the
// unprotected ones it stops (it balances across Availability Zones, which the
// emulator does not model). Newest-first is the emulator's own choice.
func chooseTasksToStop(tasks []*task, excess int, now time.Time) []*task {
	if excess <= 0 {
		return nil
	}
	var candidates []*task
	for _, t := range tasks {
		if t.running() && !t.protected(now) {
			candidates = append(candidates, t)
		}
	}
	slices.SortFunc(candidates, func(a, b *task) int {
		if c := b.startedAt.Compare(a.startedAt); c != 0 {
			return c
		}
		return int(b.seq - a.seq)
	})
	if len(candidates) > excess {
		candidates = candidates[:excess]
	}
	return candidates
}
