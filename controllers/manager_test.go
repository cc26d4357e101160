package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

// startManager runs the harness's reconciler in a real manager that watches
// only the harness's namespace, with real time.
func (h *harness) startManager(workers int) {
	h.t.Helper()
	mgr, err := ctrl.NewManager(env.Config, manager.Options{
		Scheme:                 env.Client.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{h.namespace: {}}},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.reconciler.Client = mgr.GetClient()
	err = h.reconciler.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: workers, SkipNameValidation: ptr.To(true)})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("manager: %v", err)
		}
	})
}

// waitAllReady waits until every watch in the namespace is Ready, or fails
// the test at the deadline.
func (h *harness) waitAllReady(count int, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list := &ecsv1alpha1.TaskProtectionWatchList{}
		if err := env.Client.List(h.ctx, list, client.InNamespace(h.namespace)); err != nil {
			h.t.Fatal(err)
		}
		ready := 0
		for _, watch := range list.Items {
			if meta.IsStatusConditionTrue(watch.Status.Conditions, ecsv1alpha1.ConditionReady) {
				ready++
			}
		}
		if ready == count {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d of %d watches are Ready after %s", ready, count, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestManagerStaysWithinECSBucket(t *testing.T) {
	// 50 watches of 2 tasks each on one cluster, reconciled at once, against
	// a GetTaskProtection bucket of burst 5 and 1 call per second. The
	// client-side limiter has the same burst and 20% less rate, because two
	// buckets of equal rate disagree by the jitter in request arrival, which
	// grows on a loaded machine. This test takes about 55 seconds of real
	// time.
	t.Parallel()
	const watches = 50
	h := newHarness(t, harnessOptions{clock: ecsemulator.NewClock(time.Now), qps: 0.8, burst: 5, maxAttempts: 3})
	h.emulator.SetThrottle("GetTaskProtection", 5, 1)
	arns := h.serviceTasks("worker", 2*watches)
	var firstOfEach []string
	for i := 0; i < len(arns); i += 2 {
		firstOfEach = append(firstOfEach, arns[i])
	}
	h.protect(firstOfEach, true, time.Hour)
	for i := range watches {
		h.createWatch(fmt.Sprintf("w%02d", i), arns[2*i:2*i+2])
	}

	h.startManager(4)
	h.waitAllReady(watches, 90*time.Second)

	calls := h.getCalls()
	throttled := 0
	for _, call := range calls {
		if call.Outcome == "ThrottlingException" {
			throttled++
		}
	}
	if throttled != 0 {
		t.Errorf("%d of %d GetTaskProtection calls were throttled, want 0", throttled, len(calls))
	}
	if len(calls) != watches {
		t.Errorf("GetTaskProtection calls = %d, want %d: one per watch", len(calls), watches)
	}
	// The bucket allows 5 calls at once and 1 a second after that.
	if first, last := calls[0].Time, calls[len(calls)-1].Time; last.Sub(first) < (watches-5-1)*time.Second {
		t.Errorf("50 calls took %s, want at least %ds at 1 per second after a burst of 5", last.Sub(first), watches-5-1)
	}
	for i := range watches {
		watch := h.get(fmt.Sprintf("w%02d", i))
		if watch.Status.ProtectedCount != 1 {
			t.Errorf("watch w%02d protectedCount = %d, want 1", i, watch.Status.ProtectedCount)
		}
	}
}

func TestManagerSteadyStateWritesNothing(t *testing.T) {
	// With a real manager and real time, a watch polled every 10 seconds
	// calls ECS once per interval and, while nothing changes, never writes:
	// its own status writes do not wake it.
	t.Parallel()
	h := newHarness(t, harnessOptions{clock: ecsemulator.NewClock(time.Now)})
	arns := h.serviceTasks("worker", 3)
	h.protect(arns[:2], true, time.Hour)
	h.createWatch("steady", arns, func(w *ecsv1alpha1.TaskProtectionWatch) {
		w.Spec.Interval = &metav1.Duration{Duration: 10 * time.Second}
	})
	h.startManager(1)
	h.waitAllReady(1, 30*time.Second)
	start := h.get("steady").ResourceVersion
	callsAtStart := len(h.getCalls())

	time.Sleep(25 * time.Second)

	if got := h.get("steady").ResourceVersion; got != start {
		t.Errorf("resourceVersion moved from %s to %s in steady state", start, got)
	}
	calls := len(h.getCalls()) - callsAtStart
	// 25 s at a 10 s interval with up to 10% jitter is 2 polls.
	if calls != 2 {
		t.Errorf("GetTaskProtection calls in 25s = %d, want 2 at a 10s interval", calls)
	}
}

func TestManagerThrottledAttemptsRetried(t *testing.T) {
	// Without a client-side limit, 10 watches reconciled at once overrun a
	// bucket of burst 5 and 1 call per second. The SDK retries throttled
	// attempts with jittered backoff and the controller retries throttled
	// polls, so every watch becomes Ready and none reports a failure.
	t.Parallel()
	const watches = 10
	h := newHarness(t, harnessOptions{clock: ecsemulator.NewClock(time.Now), maxAttempts: 3})
	h.emulator.SetThrottle("GetTaskProtection", 5, 1)
	arns := h.serviceTasks("worker", watches)
	for i := range watches {
		h.createWatch(fmt.Sprintf("w%02d", i), arns[i:i+1])
	}

	h.startManager(watches)
	h.waitAllReady(watches, 60*time.Second)

	throttled := 0
	for _, call := range h.getCalls() {
		if call.Outcome == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Errorf("no call was throttled; the test did not overrun the bucket")
	}
	for _, event := range h.eventsSoFar() {
		if strings.Contains(event, EventPollFailed) {
			t.Errorf("event %q: a throttled attempt turned a watch to an error state", event)
		}
	}
}
