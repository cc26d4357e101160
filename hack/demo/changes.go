package main

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

// demoCluster is the cluster of hack/demo/state.yaml that the changes touch.
const demoCluster = "orders"

// protectionChange is one scheduled change. It enables protection on a task
// for expiresIn, or renews it when the task is already protected, or
// disables it when enabled is false.
type protectionChange struct {
	task      string
	watch     string // the sample that lists the task, for the printed line
	enabled   bool
	expiresIn time.Duration
}

// changeSchedule runs in a loop, one change per --change-every. With the
// state file's protections and the default 25s, the protected counts of both
// watches rise and fall within the first three minutes. Task 1b2c… is renewed
// before its protection from the state file expires, and the 1-minute
// protections enabled here expire between the changes.
var changeSchedule = []protectionChange{
	{task: "2c3d4e5f6a7b42930415c6d7e8f9a0b3", watch: "orders-worker", enabled: true, expiresIn: time.Minute},
	{task: "1b2c3d4e5f6a41829304b5c6d7e8f9a2", watch: "orders-worker", enabled: true, expiresIn: time.Minute},
	{task: "0a1b2c3d4e5f40718293a4b5c6d7e8f1", watch: "orders-worker"},
	{task: "3d4e5f6a7b8c43041526d7e8f9a0b1c4", watch: "orders-worker", enabled: true, expiresIn: time.Minute},
	{task: "4e5f6a7b8c9d44152637e8f9a0b1c2d5", watch: "orders-mixed"},
	{task: "0a1b2c3d4e5f40718293a4b5c6d7e8f1", watch: "orders-worker", enabled: true, expiresIn: 2 * time.Minute},
	{task: "4e5f6a7b8c9d44152637e8f9a0b1c2d5", watch: "orders-mixed", enabled: true, expiresIn: time.Minute},
	{task: "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d", watch: "orders-mixed", enabled: true, expiresIn: 2 * time.Minute},
}

// stateExpiries returns the expiry of each protection that the state sets,
// by task ID, counted from loadedAt as the emulator counts it.
func stateExpiries(state ecsemulator.State, loadedAt time.Time) map[string]time.Time {
	expiries := map[string]time.Time{}
	for _, cluster := range state.Clusters {
		for _, service := range cluster.Services {
			for _, task := range service.Tasks {
				if task.ProtectedForMinutes > 0 {
					expiries[task.ID] = loadedAt.Add(time.Duration(task.ProtectedForMinutes) * time.Minute)
				}
			}
		}
	}
	return expiries
}

// changeProtections applies changeSchedule through the emulator until ctx
// ends. It prints each change and each expiry in expiries, which starts with
// the state file's protections and follows the changes. The demo keeps this
// record because the emulator has no Go method that returns protections.
func changeProtections(ctx context.Context, emulator *ecsemulator.Emulator, expiries map[string]time.Time, every time.Duration) {
	watchOf := map[string]string{}
	for _, change := range changeSchedule {
		watchOf[change.task] = change.watch
	}

	changeTicker := time.NewTicker(every)
	defer changeTicker.Stop()
	expiryTicker := time.NewTicker(time.Second)
	defer expiryTicker.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiryTicker.C:
			reportExpiries(expiries, watchOf, emulator.Clock().Now())
		case <-changeTicker.C:
			applyChange(emulator, changeSchedule[next], expiries)
			next = (next + 1) % len(changeSchedule)
		}
	}
}

func applyChange(emulator *ecsemulator.Emulator, change protectionChange, expiries map[string]time.Time) {
	now := emulator.Clock().Now()
	err := emulator.SetProtection(region, demoCluster, []string{change.task}, change.enabled, change.expiresIn)
	if err != nil {
		printLine("changes", "%s failed to change protection on task %s (%s): %v", clockTime(now), change.task, change.watch, err)
		return
	}
	if !change.enabled {
		delete(expiries, change.task)
		printLine("changes", "%s disabled protection on task %s (%s)", clockTime(now), change.task, change.watch)
		return
	}
	verb := "enabled"
	if expiry, ok := expiries[change.task]; ok && expiry.After(now) {
		verb = "renewed"
	}
	expiries[change.task] = now.Add(change.expiresIn)
	printLine("changes", "%s %s protection on task %s (%s) for %s", clockTime(now), verb, change.task, change.watch,
		formatDuration(change.expiresIn))
}

// reportExpiries prints and removes the protections that expired by now.
func reportExpiries(expiries map[string]time.Time, watchOf map[string]string, now time.Time) {
	var expired []string
	for task, expiry := range expiries {
		if !expiry.After(now) {
			expired = append(expired, task)
		}
	}
	sort.Strings(expired)
	for _, task := range expired {
		printLine("changes", "%s protection on task %s (%s) expired", clockTime(expiries[task]), task, watchOf[task])
		delete(expiries, task)
	}
}

// clockTime formats t as kubectl prints the NEXT EXPIRY column, so that a
// change can be matched with the status it causes.
func clockTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// formatDuration writes whole minutes as "1m" rather than time.Duration's
// "1m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}
