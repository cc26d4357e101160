package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
)

var (
	protectedTasks = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_taskprotection_watch_protected_tasks",
		Help: "Tasks with scale-in protection enabled, per TaskProtectionWatch, as of its last successful poll.",
	}, []string{"namespace", "name"})

	watchedTasks = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_taskprotection_watch_tasks",
		Help: "Tasks named in spec.tasks, per TaskProtectionWatch.",
	}, []string{"namespace", "name"})

	taskFailures = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_taskprotection_watch_failures",
		Help: "Tasks whose protection ECS could not report, per TaskProtectionWatch, as of its last successful poll.",
	}, []string{"namespace", "name"})
)

func init() {
	metrics.Registry.MustRegister(protectedTasks, watchedTasks, taskFailures)
}

func observeWatch(watch *ecsv1alpha1.TaskProtectionWatch) {
	protectedTasks.WithLabelValues(watch.Namespace, watch.Name).Set(float64(watch.Status.ProtectedCount))
	watchedTasks.WithLabelValues(watch.Namespace, watch.Name).Set(float64(len(watch.Spec.Tasks)))
	taskFailures.WithLabelValues(watch.Namespace, watch.Name).Set(float64(watch.Status.FailureCount))
}

func forgetWatchMetrics(key types.NamespacedName) {
	protectedTasks.DeleteLabelValues(key.Namespace, key.Name)
	watchedTasks.DeleteLabelValues(key.Namespace, key.Name)
	taskFailures.DeleteLabelValues(key.Namespace, key.Name)
}
