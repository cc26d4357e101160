package ecsemulator

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		burst     int
		perSecond float64
		// offsets are the times of successive requests after start.
		offsets []time.Duration
		want    []bool
	}{
		{name: "burst then empty", burst: 2, perSecond: 1,
			offsets: []time.Duration{0, 0, 0}, want: []bool{true, true, false}},
		{name: "refills one token a second", burst: 1, perSecond: 1,
			offsets: []time.Duration{0, 0, 999 * time.Millisecond, time.Second},
			want:    []bool{true, false, false, true}},
		{name: "refill stops at burst", burst: 2, perSecond: 1,
			offsets: []time.Duration{0, 0, 10 * time.Second, 10 * time.Second, 10 * time.Second},
			want:    []bool{true, true, true, true, false}},
		{name: "fractional rate", burst: 1, perSecond: 0.5,
			offsets: []time.Duration{0, time.Second, 2 * time.Second}, want: []bool{true, false, true}},
		{name: "zero rate allows only the burst", burst: 1, perSecond: 0,
			offsets: []time.Duration{0, time.Hour}, want: []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newControls(rand.New(rand.NewPCG(1, 2)))
			c.throttles["Op"] = ThrottleSetting{Operation: "Op", Burst: tt.burst, PerSecond: tt.perSecond}
			for i, offset := range tt.offsets {
				if got := c.allow("us-east-1", "Op", start.Add(offset)); got != tt.want[i] {
					t.Errorf("request %d at +%v: allowed = %v, want %v", i, offset, got, tt.want[i])
				}
			}
		})
	}
}

func TestTokenBucketPerRegion(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	c := newControls(rand.New(rand.NewPCG(1, 2)))
	c.throttles["Op"] = ThrottleSetting{Operation: "Op", Burst: 1, PerSecond: 1}
	if !c.allow("us-east-1", "Op", now) {
		t.Fatal("first us-east-1 request was throttled")
	}
	if !c.allow("eu-west-1", "Op", now) {
		t.Error("eu-west-1 request was throttled by the us-east-1 bucket")
	}
	if c.allow("us-east-1", "Op", now) {
		t.Error("second us-east-1 request passed an empty bucket")
	}
	if !c.allow("us-east-1", "Other", now) {
		t.Error("an unthrottled operation was throttled")
	}
}

func TestChooseTasksToStop(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	mk := func(seq int64, startedMinutesAgo int, protectedMinutes int, status string) *task {
		t := &task{seq: seq, id: string(rune('a' + seq)), lastStatus: status,
			startedAt: now.Add(-time.Duration(startedMinutesAgo) * time.Minute)}
		if protectedMinutes != 0 {
			t.protectedUntil = now.Add(time.Duration(protectedMinutes) * time.Minute)
		}
		return t
	}
	tests := []struct {
		name   string
		tasks  []*task
		excess int
		want   []string // task IDs in stop order
	}{
		{name: "newest unprotected first", excess: 2,
			tasks: []*task{mk(0, 30, 0, statusRunning), mk(1, 10, 0, statusRunning), mk(2, 20, 0, statusRunning)},
			want:  []string{"b", "c"}},
		{name: "protected task never chosen", excess: 1,
			tasks: []*task{mk(0, 30, 0, statusRunning), mk(1, 10, 5, statusRunning)},
			want:  []string{"a"}},
		{name: "too few unprotected tasks", excess: 3,
			tasks: []*task{mk(0, 30, 5, statusRunning), mk(1, 10, 0, statusRunning), mk(2, 20, 5, statusRunning)},
			want:  []string{"b"}},
		{name: "expired protection counts as unprotected", excess: 1,
			tasks: []*task{mk(0, 30, -1, statusRunning)},
			want:  []string{"a"}},
		{name: "stopped tasks ignored", excess: 2,
			tasks: []*task{mk(0, 30, 0, statusStopped), mk(1, 10, 0, statusRunning)},
			want:  []string{"b"}},
		{name: "equal start times newest sequence first", excess: 1,
			tasks: []*task{mk(0, 10, 0, statusRunning), mk(1, 10, 0, statusRunning)},
			want:  []string{"b"}},
		{name: "no excess", excess: 0,
			tasks: []*task{mk(0, 10, 0, statusRunning)}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chooseTasksToStop(tt.tasks, tt.excess, now)
			var ids []string
			for _, task := range got {
				ids = append(ids, task.id)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("stopped %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Errorf("stop order %v, want %v", ids, tt.want)
					break
				}
			}
		})
	}
}

func TestClockModes(t *testing.T) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	fixed := NewFixedClock(start)
	fixed.Advance(61 * time.Second)
	if got, want := fixed.Now(), start.Add(61*time.Second); !got.Equal(want) {
		t.Errorf("fixed clock after Advance = %v, want %v", got, want)
	}
	source := start
	following := NewClock(func() time.Time { return source })
	following.Advance(time.Minute)
	source = source.Add(time.Second)
	if got, want := following.Now(), start.Add(61*time.Second); !got.Equal(want) {
		t.Errorf("following clock = %v, want source plus offset %v", got, want)
	}
	target := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	following.Set(target)
	source = source.Add(2 * time.Second)
	if got, want := following.Now(), target.Add(2*time.Second); !got.Equal(want) {
		t.Errorf("following clock after Set = %v, want %v", got, want)
	}
}

func TestEpochTimeJSON(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{in: time.Date(2026, 12, 4, 10, 1, 0, 123_456_789, time.UTC), want: "1796378460.123"},
		{in: time.Date(2026, 12, 4, 10, 1, 0, 0, time.UTC), want: "1796378460.000"},
		{in: time.Unix(0, 0), want: "0.000"},
	}
	for _, tt := range tests {
		got, err := epochTime(tt.in).MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%v) error = %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("MarshalJSON(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
