package controllers

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/taskref"
)

const (
	idA     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	idE     = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	idF     = "ffffffffffffffffffffffffffffffff"
	oldID   = "2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b"
	arnBase = "arn:aws:ecs:eu-west-1:111122223333:task/"
)

var fixedNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newWatch(tasks ...string) *ecsv1alpha1.TaskProtectionWatch {
	watch := &ecsv1alpha1.TaskProtectionWatch{
		ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "default", Generation: 3},
		Spec:       ecsv1alpha1.TaskProtectionWatchSpec{Cluster: "orders"},
	}
	for _, task := range tasks {
		watch.Spec.Tasks = append(watch.Spec.Tasks, ecsv1alpha1.TaskReference(task))
	}
	return watch
}

func resultOf(protected []types.ProtectedTask, failures []types.Failure) *pollResult {
	result := &pollResult{protected: map[string]types.ProtectedTask{}, failures: map[string]types.Failure{}}
	for _, task := range protected {
		result.protected[taskref.ID(aws.ToString(task.TaskArn))] = task
	}
	for _, failure := range failures {
		result.failures[taskref.ID(aws.ToString(failure.Arn))] = failure
	}
	return result
}

func TestApplyPollSuccessMatchesByTaskID(t *testing.T) {
	expiry := fixedNow.Add(90*time.Minute + 500*time.Millisecond)
	// The watch names A by ID, B by new-format ARN and an old-format task by
	// ID; ECS returns full ARNs in another order.
	watch := newWatch(idA, arnBase+"orders/"+idB, oldID)
	result := resultOf([]types.ProtectedTask{
		{TaskArn: aws.String(arnBase + oldID), ProtectionEnabled: false},
		{TaskArn: aws.String(arnBase + "orders/" + idB), ProtectionEnabled: true, ExpirationDate: &expiry},
		{TaskArn: aws.String(arnBase + "orders/" + idA), ProtectionEnabled: false},
	}, nil)

	applyPollSuccess(watch, result, fixedNow)

	status := watch.Status
	if len(status.ProtectedTasks) != 3 {
		t.Fatalf("protectedTasks has %d entries, want 3: %+v", len(status.ProtectedTasks), status.ProtectedTasks)
	}
	if got := status.ProtectedTasks[0].TaskArn; got != arnBase+"orders/"+idA {
		t.Errorf("protectedTasks[0].taskArn = %s, want A's ARN (spec order)", got)
	}
	if got := status.ProtectedTasks[2].TaskArn; got != arnBase+oldID {
		t.Errorf("protectedTasks[2].taskArn = %s, want the old-format ARN", got)
	}
	if !status.ProtectedTasks[1].ProtectionEnabled {
		t.Errorf("B is not protected")
	}
	wantExpiry := fixedNow.Add(90 * time.Minute)
	if got := status.ProtectedTasks[1].ExpirationDate; got == nil || !got.Time.Equal(wantExpiry) {
		t.Errorf("B expirationDate = %v, want %v (truncated to seconds)", got, wantExpiry)
	}
	if status.ProtectedCount != 1 {
		t.Errorf("protectedCount = %d, want 1", status.ProtectedCount)
	}
	if status.TaskCount != 3 {
		t.Errorf("taskCount = %d, want 3", status.TaskCount)
	}
	if status.FailureCount != 0 || len(status.Failures) != 0 {
		t.Errorf("failures = %+v, want none", status.Failures)
	}
	if status.NextExpirationTime == nil || !status.NextExpirationTime.Time.Equal(wantExpiry) {
		t.Errorf("nextExpirationTime = %v, want %v", status.NextExpirationTime, wantExpiry)
	}
	if status.ObservedGeneration != 3 {
		t.Errorf("observedGeneration = %d, want 3", status.ObservedGeneration)
	}
	ready := meta.FindStatusCondition(status.Conditions, ecsv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != ecsv1alpha1.ReasonPollSucceeded {
		t.Errorf("Ready = %+v, want True/PollSucceeded", ready)
	}
}

func TestApplyPollSuccessDeploymentBlockedIsFailure(t *testing.T) {
	// UpdateTaskProtection can return HTTP 200 with the task under failures:
	// a 200 is not success for every task.
	watch := newWatch(idA, idB)
	expiry := fixedNow.Add(time.Hour)
	result := resultOf(
		[]types.ProtectedTask{{TaskArn: aws.String(arnBase + "orders/" + idA), ProtectionEnabled: true, ExpirationDate: &expiry}},
		[]types.Failure{{Arn: aws.String(arnBase + "orders/" + idB), Reason: aws.String("DEPLOYMENT_BLOCKED"), Detail: aws.String("desired count 1")}},
	)

	applyPollSuccess(watch, result, fixedNow)

	if watch.Status.ProtectedCount != 1 {
		t.Errorf("protectedCount = %d, want 1", watch.Status.ProtectedCount)
	}
	if len(watch.Status.ProtectedTasks) != 1 {
		t.Errorf("protectedTasks = %+v, want only A", watch.Status.ProtectedTasks)
	}
	want := ecsv1alpha1.TaskFailure{Arn: idB, Reason: "DEPLOYMENT_BLOCKED", Detail: "desired count 1"}
	if len(watch.Status.Failures) != 1 || watch.Status.Failures[0] != want {
		t.Errorf("failures = %+v, want [%+v]", watch.Status.Failures, want)
	}
}

func TestApplyPollSuccessEmptyAnswerReportsUnknown(t *testing.T) {
	// Early ECS returned both lists empty for a never-protected task.
	watch := newWatch(idA)

	applyPollSuccess(watch, resultOf(nil, nil), fixedNow)

	want := ecsv1alpha1.TaskFailure{Arn: idA, Reason: ecsv1alpha1.FailureReasonUnknown, Detail: unknownTaskDetail}
	if len(watch.Status.Failures) != 1 || watch.Status.Failures[0] != want {
		t.Errorf("failures = %+v, want [%+v]", watch.Status.Failures, want)
	}
	if watch.Status.ProtectedCount != 0 {
		t.Errorf("protectedCount = %d, want 0", watch.Status.ProtectedCount)
	}
	if watch.Status.FailureCount != 1 {
		t.Errorf("failureCount = %d, want 1", watch.Status.FailureCount)
	}
}

func TestApplyPollSuccessMissingInReverseOrder(t *testing.T) {
	// ECS may list failures in any order; they are matched by task ID, and
	// IDs match ARNs of both formats.
	watch := newWatch(arnBase+"orders/"+idE, idF)
	result := resultOf(nil, []types.Failure{
		{Arn: aws.String(idF), Reason: aws.String("MISSING")},
		{Arn: aws.String(arnBase + "orders/" + idE), Reason: aws.String("MISSING")},
	})

	applyPollSuccess(watch, result, fixedNow)

	failures := watch.Status.Failures
	if len(failures) != 2 {
		t.Fatalf("failures = %+v, want 2 entries", failures)
	}
	if failures[0].Arn != arnBase+"orders/"+idE || failures[0].Reason != "MISSING" {
		t.Errorf("failures[0] = %+v, want E's ARN with MISSING", failures[0])
	}
	if failures[1].Arn != idF || failures[1].Reason != "MISSING" {
		t.Errorf("failures[1] = %+v, want F with MISSING", failures[1])
	}
}

func TestApplyPollSuccessDisabledWithoutExpiry(t *testing.T) {
	// A disabled task may come without an expirationDate key at all, and an
	// expiry on a disabled task is dropped.
	expiry := fixedNow.Add(time.Hour)
	watch := newWatch(idA, idB)
	result := resultOf([]types.ProtectedTask{
		{TaskArn: aws.String(arnBase + "orders/" + idA), ProtectionEnabled: false},
		{TaskArn: aws.String(arnBase + "orders/" + idB), ProtectionEnabled: false, ExpirationDate: &expiry},
	}, nil)

	applyPollSuccess(watch, result, fixedNow)

	for i, task := range watch.Status.ProtectedTasks {
		if task.ExpirationDate != nil {
			t.Errorf("protectedTasks[%d].expirationDate = %v, want empty", i, task.ExpirationDate)
		}
	}
	if watch.Status.NextExpirationTime != nil {
		t.Errorf("nextExpirationTime = %v, want empty", watch.Status.NextExpirationTime)
	}
}

func TestApplyPollFailureKeepsData(t *testing.T) {
	watch := newWatch(idA)
	expiry := fixedNow.Add(time.Hour)
	applyPollSuccess(watch, resultOf([]types.ProtectedTask{
		{TaskArn: aws.String(arnBase + "orders/" + idA), ProtectionEnabled: true, ExpirationDate: &expiry},
	}, nil), fixedNow)
	watch.Generation = 4

	applyPollFailure(watch, ecsclient.Classify(apiError("ExpiredTokenException")), "eu-west-1", fixedNow.Add(time.Minute))

	if watch.Status.ProtectedCount != 1 || len(watch.Status.ProtectedTasks) != 1 {
		t.Errorf("protection data was dropped: %+v", watch.Status)
	}
	ready := meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != ecsv1alpha1.ReasonCredentialsError {
		t.Errorf("Ready = %+v, want False/CredentialsError", ready)
	}
	if !ready.LastTransitionTime.Time.Equal(fixedNow.Add(time.Minute)) {
		t.Errorf("Ready lastTransitionTime = %v, want the time of the failure", ready.LastTransitionTime)
	}
	if watch.Status.ObservedGeneration != 3 {
		t.Errorf("observedGeneration = %d, want 3: a retryable failure does not observe a generation", watch.Status.ObservedGeneration)
	}
	if meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionStalled) != nil {
		t.Errorf("Stalled is set for a retryable error")
	}
}

func TestApplyPollFailureStallsOnInvalidParameter(t *testing.T) {
	watch := newWatch(idA)

	applyPollFailure(watch, ecsclient.Classify(apiError("InvalidParameterException")), "eu-west-1", fixedNow)

	stalled := meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionStalled)
	if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != ecsv1alpha1.ReasonInvalidParameter {
		t.Errorf("Stalled = %+v, want True/InvalidParameter", stalled)
	}
	if watch.Status.ObservedGeneration != 3 {
		t.Errorf("observedGeneration = %d, want 3", watch.Status.ObservedGeneration)
	}
}

func TestSetConditionKeepsTransitionTime(t *testing.T) {
	watch := newWatch(idA)
	applyPollSuccess(watch, resultOf(nil, nil), fixedNow)
	applyPollSuccess(watch, resultOf(nil, nil), fixedNow.Add(time.Hour))

	ready := meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionReady)
	if !ready.LastTransitionTime.Time.Equal(fixedNow) {
		t.Errorf("lastTransitionTime = %v, want %v: it moves only when the status flips", ready.LastTransitionTime, fixedNow)
	}
}
