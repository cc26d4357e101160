package controllers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/taskref"
)

// Event reasons. Each names a transition; the controller emits no event for
// a poll that changed nothing.
const (
	EventProtectionEnabled  = "ProtectionEnabled"
	EventProtectionDisabled = "ProtectionDisabled"
	EventProtectionExpired  = "ProtectionExpired"
	EventTaskFailure        = "TaskFailure"
	EventPollFailed         = "PollFailed"
	EventPollRecovered      = "PollRecovered"
)

// maxTasksInEvent limits how many tasks one event note lists.
const maxTasksInEvent = 10

// recordTransitions emits one event per kind of change between the status
// before a successful poll and after it.
func recordTransitions(recorder events.EventRecorder, watch *ecsv1alpha1.TaskProtectionWatch, before ecsv1alpha1.TaskProtectionWatchStatus, now time.Time) {
	after := watch.Status
	hadData := len(before.ProtectedTasks) > 0 || len(before.Failures) > 0

	if hadData {
		oldTasks := protectedByID(before.ProtectedTasks)
		var enabled, disabled, expired []string
		for _, task := range after.ProtectedTasks {
			id := taskref.ID(task.TaskArn)
			old, known := oldTasks[id]
			wasEnabled := known && old.ProtectionEnabled
			switch {
			case task.ProtectionEnabled && !wasEnabled:
				enabled = append(enabled, id)
			case !task.ProtectionEnabled && wasEnabled && old.ExpirationDate != nil && !old.ExpirationDate.After(now):
				expired = append(expired, id)
			case !task.ProtectionEnabled && wasEnabled:
				disabled = append(disabled, id)
			}
		}
		emitTaskEvent(recorder, watch, corev1.EventTypeNormal, EventProtectionEnabled, "Protection enabled", enabled)
		emitTaskEvent(recorder, watch, corev1.EventTypeNormal, EventProtectionDisabled, "Protection disabled", disabled)
		emitTaskEvent(recorder, watch, corev1.EventTypeNormal, EventProtectionExpired, "Protection expired", expired)
	}

	// All new failures go into one event: the events API merges events of
	// one object, reason and action into a series and keeps only the first
	// note, so one event per failure reason would lose all but the first.
	oldFailures := map[string]string{}
	for _, failure := range before.Failures {
		oldFailures[taskref.ID(failure.Arn)] = failure.Reason
	}
	var failed []string
	for _, failure := range after.Failures {
		id := taskref.ID(failure.Arn)
		if reason, seen := oldFailures[id]; seen && reason == failure.Reason {
			continue
		}
		failed = append(failed, failure.Reason+" for "+id)
	}
	emitTaskEvent(recorder, watch, corev1.EventTypeWarning, EventTaskFailure, "ECS reported a failure", failed)
}

func protectedByID(tasks []ecsv1alpha1.ProtectedTask) map[string]ecsv1alpha1.ProtectedTask {
	byID := make(map[string]ecsv1alpha1.ProtectedTask, len(tasks))
	for _, task := range tasks {
		byID[taskref.ID(task.TaskArn)] = task
	}
	return byID
}

// emitTaskEvent emits one event about the given tasks, listing up to
// maxTasksInEvent of them.
func emitTaskEvent(recorder events.EventRecorder, watch *ecsv1alpha1.TaskProtectionWatch, eventType, reason, summary string, tasks []string) {
	if len(tasks) == 0 {
		return
	}
	listed := tasks[:min(len(tasks), maxTasksInEvent)]
	note := fmt.Sprintf("%s for %s: %s", summary, countTasks(len(tasks)), strings.Join(listed, ", "))
	if len(tasks) > len(listed) {
		note += fmt.Sprintf(" and %d more", len(tasks)-len(listed))
	}
	recorder.Eventf(watch, nil, eventType, reason, "Poll", note)
}
