package ecsemulator

import (
	"slices"
	"time"
)

// Outcomes of a logged request other than an error code.
const (
	// OutcomeOK is the outcome of a request that returned HTTP 200.
	OutcomeOK = "OK"
	// OutcomeCanceled is the outcome of a request whose client gave up
	// while the emulator waited out injected latency. Such a request got no
	// response, and its operation did not run.
	OutcomeCanceled = "Canceled"
)

// Request is one entry of the request log.
type Request struct {
	// Time is the emulator clock when the request arrived, before any
	// injected latency.
	Time      time.Time `json:"time"`
	Operation string    `json:"operation"`
	Region    string    `json:"region"`
	// Cluster is the short cluster name the request named ("default" when
	// an operation that takes a cluster omitted it).
	Cluster string `json:"cluster"`
	// TaskCount is the number of tasks the request named (the length of
	// tasks, 1 for task, count for RunTask).
	TaskCount int `json:"taskCount"`
	// Outcome is OutcomeOK, OutcomeCanceled or the error code that was
	// returned.
	Outcome string `json:"outcome"`
}

// record appends a request that arrived at the given time to the log and the
// counters. The caller holds e.mu.
func (e *Emulator) record(c *call, arrived time.Time, outcome string) {
	e.log = append(e.log, Request{
		Time:      arrived,
		Operation: c.operation,
		Region:    c.region,
		Cluster:   c.cluster,
		TaskCount: c.taskCount,
		Outcome:   outcome,
	})
	if over := len(e.log) - e.maxLog; over > 0 {
		e.log = slices.Delete(e.log, 0, over)
	}
	byOutcome := e.counts[c.operation]
	if byOutcome == nil {
		byOutcome = map[string]int{}
		e.counts[c.operation] = byOutcome
	}
	byOutcome[outcome]++
}

// Requests returns a copy of the request log in the order the requests
// finished, so under injected latency a later Time can precede an earlier
// one. The log keeps the latest Options.MaxRequestLog entries.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// ResetRequests empties the request log and the counters.
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = nil
	e.counts = map[string]map[string]int{}
}

// CountRequests returns how many calls of an operation arrived since the last
// ResetRequests, whatever their outcome. An empty operation counts all.
func (e *Emulator) CountRequests(operation string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	total := 0
	for op, byOutcome := range e.counts {
		if operation != "" && op != operation {
			continue
		}
		for _, n := range byOutcome {
			total += n
		}
	}
	return total
}

// Counters returns the number of calls per operation and outcome since the
// last ResetRequests.
func (e *Emulator) Counters() map[string]map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]map[string]int, len(e.counts))
	for op, byOutcome := range e.counts {
		copied := make(map[string]int, len(byOutcome))
		for outcome, n := range byOutcome {
			copied[outcome] = n
		}
		out[op] = copied
	}
	return out
}
