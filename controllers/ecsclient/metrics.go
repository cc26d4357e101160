package ecsclient

import (
	"errors"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	callsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecs_taskprotection_ecs_calls_total",
		Help: "ECS API calls by operation, region and outcome. The outcome is Success, the AWS error code, or the Ready condition reason for errors without a code.",
	}, []string{"operation", "region", "outcome"})

	callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ecs_taskprotection_ecs_call_duration_seconds",
		Help:    "Duration of ECS API calls in seconds, including the SDK's retries, by operation and region.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"operation", "region"})
)

func init() {
	metrics.Registry.MustRegister(callsTotal, callDuration)
}

// observeCall records the outcome and duration of one ECS call.
func observeCall(operation, region string, duration time.Duration, err error) {
	callDuration.WithLabelValues(operation, region).Observe(duration.Seconds())
	callsTotal.WithLabelValues(operation, region, outcome(err)).Inc()
}

// outcome returns a bounded label value for err: the AWS error code, which
// ECS draws from a fixed set, or the reason of its class.
func outcome(err error) string {
	if err == nil {
		return "Success"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if _, known := classes[apiErr.ErrorCode()]; known {
			return apiErr.ErrorCode()
		}
	}
	return Classify(err).Reason
}
