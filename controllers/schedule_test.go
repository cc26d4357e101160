package controllers

import (
	"testing"
	"time"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
)

func TestAfterSuccess(t *testing.T) {
	schedule := DefaultSchedule
	soon := fixedNow.Add(20 * time.Second)
	past := fixedNow.Add(-time.Second)
	late := fixedNow.Add(time.Hour)
	cases := []struct {
		name       string
		interval   time.Duration
		nextExpiry *time.Time
		min, max   time.Duration
	}{
		{"interval with up to 10% jitter", time.Minute, nil, time.Minute, 66 * time.Second},
		{"expiry before the interval wins, plus margin", time.Minute, &soon, 22 * time.Second, 22 * time.Second},
		{"expiry after the interval is ignored", time.Minute, &late, time.Minute, 66 * time.Second},
		{"expiry in the past is ignored", time.Minute, &past, time.Minute, 66 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				got := schedule.afterSuccess(tc.interval, tc.nextExpiry, fixedNow)
				if got < tc.min || got > tc.max {
					t.Fatalf("afterSuccess = %s, want between %s and %s", got, tc.min, tc.max)
				}
			}
		})
	}
}

func TestAfterFailure(t *testing.T) {
	schedule := DefaultSchedule
	schedule.Jitter = 0
	transient := ecsclient.Class{Retry: ecsclient.RetrySoon}
	slow := ecsclient.Class{Retry: ecsclient.RetrySlowly}
	cases := []struct {
		name     string
		class    ecsclient.Class
		interval time.Duration
		failures int
		want     time.Duration
	}{
		{"first transient failure", transient, time.Minute, 1, 5 * time.Second},
		{"third transient failure doubles twice", transient, time.Minute, 3, 20 * time.Second},
		{"transient backoff stops at the interval", transient, time.Minute, 10, time.Minute},
		{"transient backoff stops at five minutes", transient, time.Hour, 20, 5 * time.Minute},
		{"first slow failure waits a minute", slow, 10 * time.Second, 1, time.Minute},
		{"slow failure starts at a longer interval", slow, 5 * time.Minute, 1, 5 * time.Minute},
		{"slow backoff stops at fifteen minutes", slow, time.Minute, 10, 15 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := schedule.afterFailure(tc.class, tc.interval, tc.failures); got != tc.want {
				t.Errorf("afterFailure = %s, want %s", got, tc.want)
			}
		})
	}
}
