package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/taskref"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

func readyOf(t *testing.T, watch *ecsv1alpha1.TaskProtectionWatch) *metav1.Condition {
	t.Helper()
	ready := meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionReady)
	if ready == nil {
		t.Fatalf("watch %s has no Ready condition: %+v", watch.Name, watch.Status)
	}
	return ready
}

func TestWatchHappyPath(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	service := h.serviceTasks("worker", 3)
	standalone, err := h.emulator.RunStandaloneTasks(testRegion, testCluster, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.protect(service[:2], true, 30*time.Minute)
	unknown := "0123456789abcdef0123456789abcdef"
	now := h.emulator.Clock().Now()

	// Tasks are named by ARN, by ID and in between, as users write them.
	tasks := []string{service[0], taskref.ID(service[1]), service[2], standalone[0], unknown}
	h.createWatch("happy", tasks)
	result := h.mustReconcile("happy")

	watch := h.get("happy")
	status := watch.Status
	if status.TaskCount != 5 {
		t.Errorf("taskCount = %d, want 5", status.TaskCount)
	}
	if status.ProtectedCount != 2 {
		t.Errorf("protectedCount = %d, want 2", status.ProtectedCount)
	}
	if status.FailureCount != 2 {
		t.Errorf("failureCount = %d, want 2", status.FailureCount)
	}
	if len(status.ProtectedTasks) != 3 {
		t.Fatalf("protectedTasks = %+v, want 3 entries", status.ProtectedTasks)
	}
	wantExpiry := now.Add(30 * time.Minute)
	for i, task := range status.ProtectedTasks[:2] {
		if task.TaskArn != service[i] {
			t.Errorf("protectedTasks[%d].taskArn = %s, want %s", i, task.TaskArn, service[i])
		}
		if !task.ProtectionEnabled {
			t.Errorf("protectedTasks[%d] is not protected", i)
		}
		if task.ExpirationDate == nil || !task.ExpirationDate.Time.Equal(wantExpiry) {
			t.Errorf("protectedTasks[%d].expirationDate = %v, want %v", i, task.ExpirationDate, wantExpiry)
		}
	}
	if third := status.ProtectedTasks[2]; third.ProtectionEnabled || third.ExpirationDate != nil {
		t.Errorf("protectedTasks[2] = %+v, want unprotected without expiry", third)
	}
	wantFailures := []ecsv1alpha1.TaskFailure{
		{Arn: standalone[0], Reason: "TASK_NOT_VALID"},
		{Arn: unknown, Reason: "MISSING"},
	}
	for i, want := range wantFailures {
		if i >= len(status.Failures) {
			break
		}
		got := status.Failures[i]
		if got.Arn != want.Arn || got.Reason != want.Reason {
			t.Errorf("failures[%d] = %+v, want arn %s reason %s", i, got, want.Arn, want.Reason)
		}
	}
	if status.NextExpirationTime == nil || !status.NextExpirationTime.Time.Equal(wantExpiry) {
		t.Errorf("nextExpirationTime = %v, want %v", status.NextExpirationTime, wantExpiry)
	}
	ready := readyOf(t, watch)
	if ready.Status != metav1.ConditionTrue || ready.Reason != ecsv1alpha1.ReasonPollSucceeded {
		t.Errorf("Ready = %s/%s, want True/PollSucceeded", ready.Status, ready.Reason)
	}
	if ready.ObservedGeneration != watch.Generation || status.ObservedGeneration != watch.Generation {
		t.Errorf("observedGeneration = %d (condition %d), want %d", status.ObservedGeneration, ready.ObservedGeneration, watch.Generation)
	}
	if result.RequeueAfter < time.Minute || result.RequeueAfter > 66*time.Second {
		t.Errorf("requeueAfter = %s, want the 1m interval with up to 10%% jitter", result.RequeueAfter)
	}
	calls := h.getCalls()
	if len(calls) != 1 || calls[0].TaskCount != 5 || calls[0].Region != testRegion {
		t.Errorf("GetTaskProtection calls = %+v, want one call for 5 tasks in %s", calls, testRegion)
	}
	events := h.eventsSoFar()
	if len(events) != 1 || !strings.Contains(events[0], EventTaskFailure) ||
		!strings.Contains(events[0], "TASK_NOT_VALID for "+taskref.ID(standalone[0])) || !strings.Contains(events[0], "MISSING for "+unknown) {
		t.Errorf("events = %q, want one TaskFailure event naming both failures", events)
	}
}

func TestWatchSplitsIntoCallsOfHundred(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("big", 250)
	h.protect(arns[:7], true, time.Hour)

	h.createWatch("big", arns)
	h.mustReconcile("big")

	calls := h.getCalls()
	if len(calls) != 3 {
		t.Fatalf("GetTaskProtection calls = %d, want 3", len(calls))
	}
	for i, want := range []int{100, 100, 50} {
		if calls[i].TaskCount != want {
			t.Errorf("call %d named %d tasks, want %d", i, calls[i].TaskCount, want)
		}
	}
	watch := h.get("big")
	if watch.Status.TaskCount != 250 || watch.Status.ProtectedCount != 7 || len(watch.Status.ProtectedTasks) != 250 {
		t.Errorf("status counts = %d tasks, %d protected, %d entries; want 250, 7, 250",
			watch.Status.TaskCount, watch.Status.ProtectedCount, len(watch.Status.ProtectedTasks))
	}
}

func TestWatchErrorClasses(t *testing.T) {
	cases := []struct {
		code        string
		status      int
		reason      string
		stalled     bool
		minRequeue  time.Duration
		maxRequeue  time.Duration
		eventReason string
	}{
		{"AccessDeniedException", 400, ecsv1alpha1.ReasonAccessDenied, false, time.Minute, 66 * time.Second, EventPollFailed},
		{"ClusterNotFoundException", 400, ecsv1alpha1.ReasonClusterNotFound, false, time.Minute, 66 * time.Second, EventPollFailed},
		{"InvalidParameterException", 400, ecsv1alpha1.ReasonInvalidParameter, true, 0, 0, EventPollFailed},
		{"ResourceNotFoundException", 400, ecsv1alpha1.ReasonResourceNotFound, false, time.Minute, 66 * time.Second, EventPollFailed},
		{"UnsupportedFeatureException", 400, ecsv1alpha1.ReasonUnsupportedFeature, true, 0, 0, EventPollFailed},
		{"ClientException", 400, ecsv1alpha1.ReasonClientError, false, time.Minute, 66 * time.Second, EventPollFailed},
		{"ServerException", 500, ecsv1alpha1.ReasonServerError, false, 5 * time.Second, 5500 * time.Millisecond, EventPollFailed},
		{"ServiceUnavailableException", 503, ecsv1alpha1.ReasonServerError, false, 5 * time.Second, 5500 * time.Millisecond, EventPollFailed},
		{"ExpiredTokenException", 400, ecsv1alpha1.ReasonCredentialsError, false, time.Minute, 66 * time.Second, EventPollFailed},
		{"UnrecognizedClientException", 400, ecsv1alpha1.ReasonCredentialsError, false, time.Minute, 66 * time.Second, EventPollFailed},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			arns := h.serviceTasks("worker", 2)
			h.protect(arns[:1], true, time.Hour)
			h.createWatch("errors", arns)
			h.mustReconcile("errors")
			h.eventsSoFar()
			h.advance(2 * time.Minute)

			h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: tc.code, HTTPStatus: tc.status, Count: 1})
			result, err := h.reconcile("errors")

			watch := h.get("errors")
			ready := readyOf(t, watch)
			if ready.Status != metav1.ConditionFalse || ready.Reason != tc.reason {
				t.Errorf("Ready = %s/%s, want False/%s", ready.Status, ready.Reason, tc.reason)
			}
			if watch.Status.ProtectedCount != 1 || len(watch.Status.ProtectedTasks) != 2 {
				t.Errorf("last known protection was dropped: %+v", watch.Status)
			}
			stalled := meta.IsStatusConditionTrue(watch.Status.Conditions, ecsv1alpha1.ConditionStalled)
			if stalled != tc.stalled {
				t.Errorf("Stalled = %v, want %v", stalled, tc.stalled)
			}
			if tc.stalled {
				if !errors.Is(err, reconcile.TerminalError(nil)) {
					t.Errorf("reconcile error = %v, want a terminal error", err)
				}
				if result.RequeueAfter != 0 {
					t.Errorf("requeueAfter = %s, want none for an error only a spec change fixes", result.RequeueAfter)
				}
			} else {
				if err != nil {
					t.Errorf("reconcile error = %v, want nil: retryable failures requeue", err)
				}
				if result.RequeueAfter < tc.minRequeue || result.RequeueAfter > tc.maxRequeue {
					t.Errorf("requeueAfter = %s, want between %s and %s", result.RequeueAfter, tc.minRequeue, tc.maxRequeue)
				}
			}
			if want := "(cluster orders in eu-west-1)"; !strings.HasSuffix(ready.Message, want) {
				t.Errorf("Ready message %q does not end with %q", ready.Message, want)
			}
			events := h.eventsSoFar()
			if len(events) != 1 || !strings.Contains(events[0], tc.eventReason) || !strings.Contains(events[0], tc.code) {
				t.Errorf("events = %q, want one %s event naming %s", events, tc.eventReason, tc.code)
			}
		})
	}
}

func TestWatchStalledStopsPolling(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.createWatch("stalled", arns)
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "InvalidParameterException", Count: 1})
	if _, err := h.reconcile("stalled"); err == nil {
		t.Fatal("reconcile returned no error for InvalidParameterException")
	}

	h.advance(time.Hour)
	result := h.mustReconcile("stalled")
	if got := len(h.getCalls()); got != 1 {
		t.Errorf("GetTaskProtection calls = %d, want 1: a stalled generation is not polled again", got)
	}
	if result.RequeueAfter != 0 {
		t.Errorf("requeueAfter = %s, want none", result.RequeueAfter)
	}

	// A spec change starts a new generation, which is polled at once.
	watch := h.get("stalled")
	watch.Spec.Interval = &metav1.Duration{Duration: 30 * time.Second}
	if err := env.Client.Update(h.ctx, watch); err != nil {
		t.Fatal(err)
	}
	h.mustReconcile("stalled")
	if got := len(h.getCalls()); got != 2 {
		t.Errorf("GetTaskProtection calls = %d, want 2 after the spec change", got)
	}
	watch = h.get("stalled")
	if meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionStalled) != nil {
		t.Errorf("Stalled is still set after a successful poll")
	}
	if ready := readyOf(t, watch); ready.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s, want True", ready.Status)
	}
}

func TestWatchExpiryAndRenewal(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 2)
	h.protect(arns[:1], true, time.Minute)
	h.createWatch("expiry", arns, func(w *ecsv1alpha1.TaskProtectionWatch) {
		w.Spec.Interval = &metav1.Duration{Duration: 10 * time.Minute}
	})

	result := h.mustReconcile("expiry")
	if want := time.Minute + DefaultSchedule.ExpiryMargin; result.RequeueAfter != want {
		t.Errorf("requeueAfter = %s, want %s: the next poll is at the expiry, not a whole interval later", result.RequeueAfter, want)
	}
	if got := h.get("expiry").Status.ProtectedCount; got != 1 {
		t.Fatalf("protectedCount = %d, want 1", got)
	}
	h.eventsSoFar()

	// Protection enabled for one minute has expired 61 seconds later, and
	// the poll scheduled at the expiry shows it.
	h.advance(61 * time.Second)
	h.mustReconcile("expiry")
	if got := len(h.getCalls()); got != 1 {
		t.Errorf("GetTaskProtection calls = %d before the expiry poll is due, want 1", got)
	}
	h.advance(result.RequeueAfter - 61*time.Second)
	h.mustReconcile("expiry")
	watch := h.get("expiry")
	first := watch.Status.ProtectedTasks[0]
	if first.ProtectionEnabled || first.ExpirationDate != nil {
		t.Errorf("expired task = %+v, want unprotected without expirationDate", first)
	}
	if watch.Status.ProtectedCount != 0 || watch.Status.NextExpirationTime != nil {
		t.Errorf("protectedCount = %d, nextExpirationTime = %v; want 0 and empty", watch.Status.ProtectedCount, watch.Status.NextExpirationTime)
	}
	events := h.eventsSoFar()
	if len(events) != 1 || !strings.Contains(events[0], EventProtectionExpired) || !strings.Contains(events[0], taskref.ID(arns[0])) {
		t.Errorf("events = %q, want one ProtectionExpired event for the task", events)
	}

	// Renewal: protect both tasks, then renew the first before it expires.
	h.protect(arns, true, 5*time.Minute)
	h.advance(11 * time.Minute)
	h.protect(arns, true, 5*time.Minute)
	h.mustReconcile("expiry")
	events = h.eventsSoFar()
	if len(events) != 1 || !strings.Contains(events[0], EventProtectionEnabled) || !strings.Contains(events[0], "2 tasks") {
		t.Errorf("events = %q, want one ProtectionEnabled event for 2 tasks", events)
	}
	renewedAt := h.emulator.Clock().Now()
	h.advance(4 * time.Minute)
	h.protect(arns[:1], true, 5*time.Minute)
	h.advance(2 * time.Minute)
	h.mustReconcile("expiry")
	watch = h.get("expiry")
	if !watch.Status.ProtectedTasks[0].ProtectionEnabled {
		t.Errorf("renewed task is not protected")
	}
	if watch.Status.ProtectedTasks[1].ProtectionEnabled {
		t.Errorf("task that was not renewed is still protected")
	}
	wantExpiry := renewedAt.Add(9 * time.Minute)
	if got := watch.Status.ProtectedTasks[0].ExpirationDate; got == nil || !got.Time.Equal(wantExpiry) {
		t.Errorf("renewed expirationDate = %v, want %v", got, wantExpiry)
	}
}

func TestWatchDeploymentBlockedIsNotProtected(t *testing.T) {
	// UpdateTaskProtection on B of a service with desired count 1, while A
	// is protected, returns HTTP 200 with B under failures. The watch must
	// not show B as protected.
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("single", 2)
	h.protect(arns, true, time.Hour)
	if _, err := h.ecs.UpdateService(h.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(testCluster), Service: aws.String("single"), DesiredCount: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	h.protect(arns[1:], false, 0)
	update, err := h.ecs.UpdateTaskProtection(h.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String(testCluster), Tasks: arns[1:], ProtectionEnabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(update.Failures) != 1 || aws.ToString(update.Failures[0].Reason) != "DEPLOYMENT_BLOCKED" {
		t.Fatalf("UpdateTaskProtection failures = %+v, want DEPLOYMENT_BLOCKED for B", update.Failures)
	}

	h.createWatch("blocked", arns)
	h.mustReconcile("blocked")

	watch := h.get("blocked")
	if watch.Status.ProtectedCount != 1 {
		t.Errorf("protectedCount = %d, want 1 (A only)", watch.Status.ProtectedCount)
	}
	if len(watch.Status.ProtectedTasks) != 2 || watch.Status.ProtectedTasks[1].ProtectionEnabled {
		t.Errorf("protectedTasks = %+v, want B unprotected", watch.Status.ProtectedTasks)
	}
}

func TestWatchEmptyAnswerQuirk(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 2)
	h.protect(arns[1:], true, time.Hour)
	h.emulator.SetEmptyProtectionQuirk(true)

	h.createWatch("quirk", arns)
	h.mustReconcile("quirk")

	watch := h.get("quirk")
	want := ecsv1alpha1.TaskFailure{Arn: arns[0], Reason: ecsv1alpha1.FailureReasonUnknown, Detail: unknownTaskDetail}
	if len(watch.Status.Failures) != 1 || watch.Status.Failures[0] != want {
		t.Errorf("failures = %+v, want [%+v]", watch.Status.Failures, want)
	}
	if watch.Status.ProtectedCount != 1 {
		t.Errorf("protectedCount = %d, want 1: the never-protected task is not counted", watch.Status.ProtectedCount)
	}
}

func TestWatchMissingTasksMatchedByID(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.serviceTasks("worker", 1)
	stoppedE := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", testRegion, testAccount, testCluster, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
	stoppedF := "ffffffffffffffffffffffffffffffff"
	h.createWatch("missing", []string{stoppedE, stoppedF})
	h.mustReconcile("missing")

	watch := h.get("missing")
	if len(watch.Status.Failures) != 2 {
		t.Fatalf("failures = %+v, want 2", watch.Status.Failures)
	}
	if watch.Status.Failures[0].Arn != stoppedE || watch.Status.Failures[0].Reason != "MISSING" {
		t.Errorf("failures[0] = %+v, want E MISSING", watch.Status.Failures[0])
	}
	if watch.Status.Failures[1].Arn != stoppedF || watch.Status.Failures[1].Reason != "MISSING" {
		t.Errorf("failures[1] = %+v, want F MISSING", watch.Status.Failures[1])
	}

	// The same call later fails with messages that differ; the condition is
	// set from the code, so the second failure writes nothing.
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ClusterNotFoundException", Message: "Cluster not found.", Count: 1})
	h.advance(2 * time.Minute)
	h.mustReconcile("missing")
	writes := h.statusWrites.Load()
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ClusterNotFoundException", Message: "The referenced cluster was not found.", Count: 1})
	h.advance(10 * time.Minute)
	h.mustReconcile("missing")
	if got := h.statusWrites.Load(); got != writes {
		t.Errorf("status writes went from %d to %d on a repeated failure with another message", writes, got)
	}
	if ready := readyOf(t, h.get("missing")); ready.Reason != ecsv1alpha1.ReasonClusterNotFound {
		t.Errorf("Ready reason = %s, want ClusterNotFound", ready.Reason)
	}
}

func TestWatchExpiredTokenOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 2)
	h.protect(arns[:1], true, time.Hour)
	h.createWatch("token", arns)
	h.mustReconcile("token")

	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ExpiredTokenException", Message: "The security token included in the request is expired", Count: 1})
	h.advance(2 * time.Minute)
	result := h.mustReconcile("token")
	watch := h.get("token")
	if ready := readyOf(t, watch); ready.Status != metav1.ConditionFalse || ready.Reason != ecsv1alpha1.ReasonCredentialsError {
		t.Errorf("Ready = %s/%s, want False/CredentialsError", ready.Status, ready.Reason)
	}
	if watch.Status.ProtectedCount != 1 {
		t.Errorf("protectedCount = %d, want the last known 1", watch.Status.ProtectedCount)
	}
	if strings.Contains(readyOf(t, watch).Message, "expired") && strings.Contains(readyOf(t, watch).Message, "security token included") {
		t.Errorf("condition message carries the raw error text: %q", readyOf(t, watch).Message)
	}

	h.advance(result.RequeueAfter)
	h.mustReconcile("token")
	watch = h.get("token")
	if ready := readyOf(t, watch); ready.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s/%s after the next poll, want True", ready.Status, ready.Reason)
	}
	events := h.eventsSoFar()
	if len(events) != 2 || !strings.Contains(events[0], EventPollFailed) || !strings.Contains(events[1], EventPollRecovered) {
		t.Errorf("events = %q, want PollFailed then PollRecovered", events)
	}
}

func TestWatchConflictRetriedQuietly(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.protect(arns, true, time.Hour)
	h.createWatch("conflict", arns)

	// Another client changes a label between the controller's read and its
	// status write, once.
	changed := false
	h.beforePatch = func() {
		if changed {
			return
		}
		changed = true
		// A merge patch, as kubectl label sends: an Update from a Go client
		// would also rewrite spec.interval from 1m to 1m0s.
		other := h.get("conflict")
		labeled := other.DeepCopy()
		labeled.Labels = map[string]string{"team": "payments"}
		if err := env.Client.Patch(h.ctx, labeled, client.MergeFrom(other)); err != nil {
			t.Errorf("label patch: %v", err)
		}
	}
	if _, err := h.reconcile("conflict"); err != nil {
		t.Fatalf("reconcile returned %v, want the conflict retried", err)
	}

	// The Pending write meets the conflict and is retried, then the poll's
	// result is written.
	if got := h.statusWrites.Load(); got != 3 {
		t.Errorf("status writes = %d, want 3 (a conflict, its retry and the poll result)", got)
	}
	watch := h.get("conflict")
	if watch.Labels["team"] != "payments" {
		t.Errorf("label lost: %v", watch.Labels)
	}
	if watch.Status.ProtectedCount != 1 || readyOf(t, watch).Status != metav1.ConditionTrue {
		t.Errorf("status = %+v, want one protected task and Ready True", watch.Status)
	}
	if got := len(h.getCalls()); got != 1 {
		t.Errorf("GetTaskProtection calls = %d, want 1: a conflict does not poll again", got)
	}
}

func TestWatchSteadyStateWritesNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 3)
	h.protect(arns[:2], true, 48*time.Hour)
	h.createWatch("steady", arns)

	const polls = 20
	for range polls {
		result := h.mustReconcile("steady")
		// A reconcile before the poll is due, as a resync would cause,
		// calls nothing.
		h.mustReconcile("steady")
		h.advance(result.RequeueAfter)
	}

	if got := h.statusWrites.Load(); got != 2 {
		t.Errorf("status writes = %d over %d polls, want 2: Pending and the first result", got, polls)
	}
	if got := len(h.getCalls()); got != polls {
		t.Errorf("GetTaskProtection calls = %d, want %d: one per interval", got, polls)
	}
}

func TestWatchThrottledOnceKeepsReady(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.createWatch("throttle", arns)
	h.mustReconcile("throttle")
	writes := h.statusWrites.Load()

	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ThrottlingException", Message: "Rate exceeded"})
	var delays []time.Duration
	for i := range DefaultSchedule.ThrottleTolerance {
		h.advance(2 * time.Minute)
		result := h.mustReconcile("throttle")
		delays = append(delays, result.RequeueAfter)
		if i < DefaultSchedule.ThrottleTolerance-1 {
			if ready := readyOf(t, h.get("throttle")); ready.Status != metav1.ConditionTrue {
				t.Errorf("Ready = %s/%s after %d throttled polls, want True", ready.Status, ready.Reason, i+1)
			}
			if got := h.statusWrites.Load(); got != writes {
				t.Errorf("status writes = %d after %d throttled polls, want %d", got, i+1, writes)
			}
		}
	}
	if delays[0] < 5*time.Second || delays[0] > 5500*time.Millisecond {
		t.Errorf("first backoff = %s, want 5s with up to 10%% jitter", delays[0])
	}
	if delays[1] < 10*time.Second || delays[1] > 11*time.Second {
		t.Errorf("second backoff = %s, want 10s with up to 10%% jitter", delays[1])
	}
	if ready := readyOf(t, h.get("throttle")); ready.Status != metav1.ConditionFalse || ready.Reason != ecsv1alpha1.ReasonThrottled {
		t.Errorf("Ready = %s/%s after %d throttled polls, want False/Throttled", ready.Status, ready.Reason, DefaultSchedule.ThrottleTolerance)
	}
}

func TestWatchSuspendKeepsStatus(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.protect(arns, true, time.Hour)
	h.createWatch("suspend", arns)
	h.mustReconcile("suspend")

	watch := h.get("suspend")
	watch.Spec.Suspend = true
	if err := env.Client.Update(h.ctx, watch); err != nil {
		t.Fatal(err)
	}
	result := h.mustReconcile("suspend")
	if result.RequeueAfter != 0 {
		t.Errorf("requeueAfter = %s, want none while suspended", result.RequeueAfter)
	}
	watch = h.get("suspend")
	if ready := readyOf(t, watch); ready.Status != metav1.ConditionUnknown || ready.Reason != ecsv1alpha1.ReasonSuspended {
		t.Errorf("Ready = %s/%s, want Unknown/Suspended", ready.Status, ready.Reason)
	}
	if watch.Status.ProtectedCount != 1 {
		t.Errorf("protectedCount = %d, want the last known 1", watch.Status.ProtectedCount)
	}
	if got := len(h.getCalls()); got != 1 {
		t.Errorf("GetTaskProtection calls = %d, want 1", got)
	}
}

func TestWatchRegionFromClusterARN(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.createWatch("region", arns, func(w *ecsv1alpha1.TaskProtectionWatch) {
		w.Spec.Region = ""
		w.Spec.Cluster = fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", testRegion, testAccount, testCluster)
	})
	h.mustReconcile("region")
	calls := h.getCalls()
	if len(calls) != 1 || calls[0].Region != testRegion {
		t.Errorf("calls = %+v, want one call in %s, the cluster ARN's region (the default is us-east-1)", calls, testRegion)
	}
}

func TestWatchDeletedIsForgotten(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	watch := h.createWatch("deleted", arns)
	h.mustReconcile("deleted")
	if err := env.Client.Delete(h.ctx, watch); err != nil {
		t.Fatal(err)
	}
	result := h.mustReconcile("deleted")
	if result.RequeueAfter != 0 {
		t.Errorf("requeueAfter = %s, want none for a deleted watch", result.RequeueAfter)
	}
	if _, known := h.reconciler.states.get(client.ObjectKeyFromObject(watch)); known {
		t.Errorf("poll state of the deleted watch is kept")
	}
}

func TestWatchPendingBeforeFirstPoll(t *testing.T) {
	// A new watch whose first poll is throttled shows Ready=Unknown with
	// reason Pending, not an empty status and not an error.
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 2)
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ThrottlingException"})
	h.createWatch("pending", arns)

	result := h.mustReconcile("pending")

	watch := h.get("pending")
	ready := readyOf(t, watch)
	if ready.Status != metav1.ConditionUnknown || ready.Reason != ecsv1alpha1.ReasonPending {
		t.Errorf("Ready = %s/%s, want Unknown/Pending", ready.Status, ready.Reason)
	}
	if watch.Status.TaskCount != 2 {
		t.Errorf("taskCount = %d, want 2", watch.Status.TaskCount)
	}
	if result.RequeueAfter < 5*time.Second || result.RequeueAfter > 5500*time.Millisecond {
		t.Errorf("requeueAfter = %s, want the first throttling backoff of 5s", result.RequeueAfter)
	}
}

func TestWatchRecreatedIsPolledAgain(t *testing.T) {
	// A watch deleted and created again under the same name starts at
	// generation 1 again; it must not inherit the old one's stalled state.
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	old := h.createWatch("recreated", arns)
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "InvalidParameterException", Count: 1})
	if _, err := h.reconcile("recreated"); err == nil {
		t.Fatal("reconcile returned no error for InvalidParameterException")
	}
	if err := env.Client.Delete(h.ctx, old); err != nil {
		t.Fatal(err)
	}
	h.createWatch("recreated", arns)

	h.mustReconcile("recreated")

	if got := len(h.getCalls()); got != 2 {
		t.Errorf("GetTaskProtection calls = %d, want 2: the new watch is polled at once", got)
	}
	if ready := readyOf(t, h.get("recreated")); ready.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s/%s, want True", ready.Status, ready.Reason)
	}
}

func TestWatchStaleResultNotWrittenToNewObject(t *testing.T) {
	// The watch is deleted and created again while its poll is in flight.
	// The write of the old poll meets a conflict and must not land on the
	// new object.
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 2)
	h.protect(arns, true, time.Hour)
	old := h.createWatch("stale", arns)
	h.mustReconcile("stale")
	h.advance(2 * time.Minute)

	recreated := false
	h.beforePatch = func() {
		if recreated {
			return
		}
		recreated = true
		if err := env.Client.Delete(h.ctx, old); err != nil {
			t.Errorf("delete: %v", err)
		}
		h.createWatch("stale", arns[:1])
	}
	h.protect(arns[1:], false, 0)
	h.eventsSoFar()
	h.mustReconcile("stale")

	watch := h.get("stale")
	if watch.UID == old.UID {
		t.Fatal("the watch was not created again")
	}
	if len(watch.Status.ProtectedTasks) != 0 || len(watch.Status.Conditions) != 0 {
		t.Errorf("new object carries the old poll's status: %+v", watch.Status)
	}
	if events := h.eventsSoFar(); len(events) != 0 {
		t.Errorf("events = %q, want none: the old poll's transitions belong to no current object", events)
	}
}

func TestWatchDuplicateTaskCountedOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.protect(arns, true, time.Hour)
	h.createWatch("duplicate", []string{taskref.ID(arns[0]), arns[0]})

	h.mustReconcile("duplicate")

	watch := h.get("duplicate")
	if watch.Status.TaskCount != 1 || watch.Status.ProtectedCount != 1 || len(watch.Status.ProtectedTasks) != 1 {
		t.Errorf("taskCount %d, protectedCount %d, %d protectedTasks; want 1, 1, 1",
			watch.Status.TaskCount, watch.Status.ProtectedCount, len(watch.Status.ProtectedTasks))
	}
	if calls := h.getCalls(); len(calls) != 1 || calls[0].TaskCount != 1 {
		t.Errorf("GetTaskProtection calls = %+v, want one call for 1 task", calls)
	}
}

func TestWatchSpecChangeWhileFailingDropsOldTasks(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 3)
	h.protect(arns, true, time.Hour)
	h.createWatch("shrink", arns)
	h.mustReconcile("shrink")

	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "AccessDeniedException"})
	watch := h.get("shrink")
	watch.Spec.Tasks = watch.Spec.Tasks[:1]
	if err := env.Client.Update(h.ctx, watch); err != nil {
		t.Fatal(err)
	}
	h.mustReconcile("shrink")

	watch = h.get("shrink")
	status := watch.Status
	if status.TaskCount != 1 || status.ProtectedCount != 1 || status.FailureCount != 0 {
		t.Errorf("counts = %d tasks, %d protected, %d failed; want 1, 1, 0", status.TaskCount, status.ProtectedCount, status.FailureCount)
	}
	if len(status.ProtectedTasks) != 1 || status.ProtectedTasks[0].TaskArn != arns[0] {
		t.Errorf("protectedTasks = %+v, want only the task still in spec", status.ProtectedTasks)
	}
	if ready := readyOf(t, watch); ready.Status != metav1.ConditionFalse || ready.Reason != ecsv1alpha1.ReasonAccessDenied {
		t.Errorf("Ready = %s/%s, want False/AccessDenied", ready.Status, ready.Reason)
	}
}

func TestWatchPollRequestAnnotation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.createWatch("requested", arns)
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "InvalidParameterException", Count: 1})
	if _, err := h.reconcile("requested"); err == nil {
		t.Fatal("reconcile returned no error for InvalidParameterException")
	}
	h.mustReconcile("requested")
	if got := len(h.getCalls()); got != 1 {
		t.Fatalf("GetTaskProtection calls = %d, want 1 while stalled", got)
	}

	watch := h.get("requested")
	annotated := watch.DeepCopy()
	annotated.Annotations = map[string]string{ecsv1alpha1.AnnotationPollRequestedAt: "1"}
	if err := env.Client.Patch(h.ctx, annotated, client.MergeFrom(watch)); err != nil {
		t.Fatal(err)
	}
	h.mustReconcile("requested")
	h.mustReconcile("requested")

	if got := len(h.getCalls()); got != 2 {
		t.Errorf("GetTaskProtection calls = %d, want 2: one poll per request", got)
	}
	if ready := readyOf(t, h.get("requested")); ready.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s/%s after the requested poll, want True", ready.Status, ready.Reason)
	}
}

func TestWatchBackoffStartsOverForNewClass(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	h.createWatch("classes", arns)
	h.mustReconcile("classes")

	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ServerException", HTTPStatus: 500, Count: 2})
	h.advance(2 * time.Minute)
	first := h.mustReconcile("classes")
	h.advance(first.RequeueAfter)
	h.mustReconcile("classes")
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ClusterNotFoundException", Count: 1})
	h.advance(time.Minute)
	result := h.mustReconcile("classes")

	if result.RequeueAfter < time.Minute || result.RequeueAfter > 66*time.Second {
		t.Errorf("requeueAfter = %s, want the first slow retry of 1m: two server errors do not lengthen it", result.RequeueAfter)
	}
}

func TestWatchStaleFailureNotRecordedOnNewObject(t *testing.T) {
	// A failed poll of a watch that was created again during the poll
	// records no event on the new object.
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 1)
	old := h.createWatch("stalefail", arns)
	h.mustReconcile("stalefail")
	h.advance(2 * time.Minute)
	h.eventsSoFar()

	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "AccessDeniedException", Count: 1})
	recreated := false
	h.beforePatch = func() {
		if recreated {
			return
		}
		recreated = true
		if err := env.Client.Delete(h.ctx, old); err != nil {
			t.Errorf("delete: %v", err)
		}
		h.createWatch("stalefail", arns)
	}
	h.mustReconcile("stalefail")

	if events := h.eventsSoFar(); len(events) != 0 {
		t.Errorf("events = %q, want none on the new object", events)
	}
	if watch := h.get("stalefail"); len(watch.Status.Conditions) != 0 {
		t.Errorf("new object carries the old poll's condition: %+v", watch.Status.Conditions)
	}
}
