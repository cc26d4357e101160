package controllers

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

// counterValue returns the value of a counter in the controller-runtime
// registry with exactly these labels, or 0 when it has no such series.
func counterValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, metric := range family.GetMetric() {
			if labelsMatch(metric.GetLabel(), labels) {
				return metric.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(pairs []*dto.LabelPair, want map[string]string) bool {
	if len(pairs) != len(want) {
		return false
	}
	for _, pair := range pairs {
		if want[pair.GetName()] != pair.GetValue() {
			return false
		}
	}
	return true
}

func TestWatchMetrics(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	arns := h.serviceTasks("worker", 3)
	h.protect(arns[:2], true, time.Hour)
	const region = "eu-west-1"
	success := map[string]string{"operation": "GetTaskProtection", "region": region, "outcome": "Success"}
	throttled := map[string]string{"operation": "GetTaskProtection", "region": region, "outcome": "ThrottlingException"}
	successBefore := counterValue(t, "ecs_taskprotection_ecs_calls_total", success)
	throttledBefore := counterValue(t, "ecs_taskprotection_ecs_calls_total", throttled)

	h.createWatch("metrics", arns)
	h.mustReconcile("metrics")
	h.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ThrottlingException", Count: 1})
	h.advance(2 * time.Minute)
	h.mustReconcile("metrics")

	if got := testutil.ToFloat64(protectedTasks.WithLabelValues(h.namespace, "metrics")); got != 2 {
		t.Errorf("ecs_taskprotection_watch_protected_tasks = %v, want 2", got)
	}
	if got := testutil.ToFloat64(watchedTasks.WithLabelValues(h.namespace, "metrics")); got != 3 {
		t.Errorf("ecs_taskprotection_watch_tasks = %v, want 3", got)
	}
	if got := counterValue(t, "ecs_taskprotection_ecs_calls_total", success) - successBefore; got != 1 {
		t.Errorf("successful calls counted = %v, want 1", got)
	}
	if got := counterValue(t, "ecs_taskprotection_ecs_calls_total", throttled) - throttledBefore; got != 1 {
		t.Errorf("throttled calls counted = %v, want 1", got)
	}

	// Deleting the watch removes its series.
	if err := env.Client.Delete(h.ctx, h.get("metrics")); err != nil {
		t.Fatal(err)
	}
	h.mustReconcile("metrics")
	if got := testutil.CollectAndCount(protectedTasks, "ecs_taskprotection_watch_protected_tasks"); got != countOtherSeries(t, h.namespace) {
		t.Errorf("the deleted watch's protected_tasks series is still exported")
	}
}

// countOtherSeries counts protected_tasks series of namespaces other than
// the given one.
func countOtherSeries(t *testing.T, namespace string) int {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, family := range families {
		if family.GetName() != "ecs_taskprotection_watch_protected_tasks" {
			continue
		}
		for _, metric := range family.GetMetric() {
			for _, pair := range metric.GetLabel() {
				if pair.GetName() == "namespace" && pair.GetValue() != namespace {
					count++
				}
			}
		}
	}
	return count
}
