package controllers

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/taskref"
)

// unknownTaskDetail is the failure detail of a requested task that ECS
// returned in neither list. Early ECS releases returned that for tasks
// that were never protected.
const unknownTaskDetail = "ECS returned this task in neither protectedTasks nor failures"

// applyPollSuccess writes the protection data of a successful poll into
// status, in the order of spec.tasks, and marks the watch Ready.
func applyPollSuccess(watch *ecsv1alpha1.TaskProtectionWatch, result *pollResult, now time.Time) {
	status := &watch.Status
	status.ProtectedTasks = nil
	status.Failures = nil
	status.NextExpirationTime = nil
	status.ProtectedCount = 0

	tasks := uniqueTasks(watch)
	for _, ref := range tasks {
		id := taskref.ID(ref)
		if protected, ok := result.protected[id]; ok {
			entry := ecsv1alpha1.ProtectedTask{
				TaskArn:           aws.ToString(protected.TaskArn),
				ProtectionEnabled: protected.ProtectionEnabled,
			}
			// An expiry means nothing once protection is off, and ECS may
			// omit the key entirely, so only an enabled task carries one.
			if protected.ProtectionEnabled && protected.ExpirationDate != nil {
				expiry := metav1.NewTime(protected.ExpirationDate.UTC().Truncate(time.Second))
				entry.ExpirationDate = &expiry
				if status.NextExpirationTime == nil || expiry.Before(status.NextExpirationTime) {
					status.NextExpirationTime = entry.ExpirationDate.DeepCopy()
				}
			}
			if protected.ProtectionEnabled {
				status.ProtectedCount++
			}
			status.ProtectedTasks = append(status.ProtectedTasks, entry)
			continue
		}

		failure := ecsv1alpha1.TaskFailure{Arn: ref, Reason: ecsv1alpha1.FailureReasonUnknown, Detail: unknownTaskDetail}
		if ecsFailure, ok := result.failures[id]; ok {
			failure = ecsv1alpha1.TaskFailure{
				Arn:    ref,
				Reason: aws.ToString(ecsFailure.Reason),
				Detail: aws.ToString(ecsFailure.Detail),
			}
		}
		status.Failures = append(status.Failures, failure)
	}

	status.TaskCount = int32(len(tasks))
	status.FailureCount = int32(len(status.Failures))
	status.ObservedGeneration = watch.Generation

	message := fmt.Sprintf("Read the protection of %s: %d protected, %d failed",
		countTasks(len(tasks)), status.ProtectedCount, status.FailureCount)
	setCondition(watch, ecsv1alpha1.ConditionReady, metav1.ConditionTrue, ecsv1alpha1.ReasonPollSucceeded, message, now)
	meta.RemoveStatusCondition(&status.Conditions, ecsv1alpha1.ConditionStalled)
}

// applyPollFailure marks the watch not Ready and keeps the protection data of
// the last successful poll for the tasks the spec still names. An error that
// only a spec change can fix also marks the watch Stalled for this
// generation. The message names the cluster and region because the region
// may come from an ARN or the controller's default.
func applyPollFailure(watch *ecsv1alpha1.TaskProtectionWatch, class ecsclient.Class, region string, now time.Time) {
	pruneToSpec(watch)
	message := class.Message
	if region != "" {
		message = fmt.Sprintf("%s (cluster %s in %s)", class.Message, watch.Spec.Cluster, region)
	}
	setCondition(watch, ecsv1alpha1.ConditionReady, metav1.ConditionFalse, class.Reason, message, now)
	if class.Retry == ecsclient.RetryNone {
		setCondition(watch, ecsv1alpha1.ConditionStalled, metav1.ConditionTrue, class.Reason, message, now)
		watch.Status.ObservedGeneration = watch.Generation
		return
	}
	meta.RemoveStatusCondition(&watch.Status.Conditions, ecsv1alpha1.ConditionStalled)
}

// applyPending marks a watch that has not been polled yet.
func applyPending(watch *ecsv1alpha1.TaskProtectionWatch, now time.Time) {
	watch.Status.TaskCount = int32(len(uniqueTasks(watch)))
	setCondition(watch, ecsv1alpha1.ConditionReady, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
		"Waiting for the first poll of ECS", now)
}

// applySuspended marks the watch as not polling and keeps the data of the
// last poll.
func applySuspended(watch *ecsv1alpha1.TaskProtectionWatch, now time.Time) {
	pruneToSpec(watch)
	setCondition(watch, ecsv1alpha1.ConditionReady, metav1.ConditionUnknown, ecsv1alpha1.ReasonSuspended,
		"Polling is suspended; status shows the last poll", now)
	meta.RemoveStatusCondition(&watch.Status.Conditions, ecsv1alpha1.ConditionStalled)
	watch.Status.ObservedGeneration = watch.Generation
}

// setCondition sets a condition with the watch's generation. Its
// LastTransitionTime moves only when the status flips, at second precision
// because that is what the API server stores.
func setCondition(watch *ecsv1alpha1.TaskProtectionWatch, conditionType string, status metav1.ConditionStatus, reason, message string, now time.Time) {
	meta.SetStatusCondition(&watch.Status.Conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: watch.Generation,
		LastTransitionTime: metav1.NewTime(now.UTC().Truncate(time.Second)),
	})
}

// pruneToSpec drops status entries of tasks the spec no longer names and
// recomputes the counts, so that status never reports tasks of an older
// spec while a poll of the new one is pending or failing.
func pruneToSpec(watch *ecsv1alpha1.TaskProtectionWatch) {
	tasks := uniqueTasks(watch)
	inSpec := make(map[string]bool, len(tasks))
	for _, task := range tasks {
		inSpec[taskref.ID(task)] = true
	}

	status := &watch.Status
	var protected []ecsv1alpha1.ProtectedTask
	status.ProtectedCount = 0
	status.NextExpirationTime = nil
	for _, task := range status.ProtectedTasks {
		if !inSpec[taskref.ID(task.TaskArn)] {
			continue
		}
		protected = append(protected, task)
		if task.ProtectionEnabled {
			status.ProtectedCount++
		}
		if task.ExpirationDate != nil && (status.NextExpirationTime == nil || task.ExpirationDate.Before(status.NextExpirationTime)) {
			status.NextExpirationTime = task.ExpirationDate.DeepCopy()
		}
	}
	var failures []ecsv1alpha1.TaskFailure
	for _, failure := range status.Failures {
		if inSpec[taskref.ID(failure.Arn)] {
			failures = append(failures, failure)
		}
	}
	status.ProtectedTasks = protected
	status.Failures = failures
	status.FailureCount = int32(len(failures))
	status.TaskCount = int32(len(tasks))
}

// countTasks returns "1 task" or "N tasks".
func countTasks(n int) string {
	if n == 1 {
		return "1 task"
	}
	return fmt.Sprintf("%d tasks", n)
}
