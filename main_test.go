package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestRunRejectsInvalidFlags(t *testing.T) {
	valid := options{maxConcurrentReconciles: 1, ecsCallTimeout: time.Second, ecsQPS: 5, ecsBurst: 10}
	cases := []struct {
		name   string
		modify func(*options)
		want   string
	}{
		{"plain http to a remote endpoint", func(o *options) { o.ecsEndpoint = "http://ecs.example.com" }, "--ecs-endpoint-insecure"},
		{"zero call timeout", func(o *options) { o.ecsCallTimeout = 0 }, "invalid --ecs-call-timeout 0s"},
		{"no reconcile workers", func(o *options) { o.maxConcurrentReconciles = 0 }, "invalid --max-concurrent-reconciles 0"},
		{"negative rate", func(o *options) { o.ecsQPS = -3 }, "invalid --ecs-qps -3"},
		{"rate that is not a number", func(o *options) { o.ecsQPS = math.NaN() }, "invalid --ecs-qps NaN"},
		{"infinite rate", func(o *options) { o.ecsQPS = math.Inf(1) }, "invalid --ecs-qps +Inf"},
		{"zero burst with a rate", func(o *options) { o.ecsBurst = 0 }, "invalid --ecs-burst 0"},
		{"region that is not a region", func(o *options) { o.region = "Europe" }, `invalid --region "Europe"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.modify(&o)
			err := run(o)
			if err == nil {
				t.Fatalf("run accepted the flags; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
