package ecsemulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator/ecsemulatortest"
)

// modeledErrorChecks maps each exception that the ECS model declares for
// GetTaskProtection to a check that the Go SDK decoded it as that type.
var modeledErrorChecks = map[string]func(error) bool{
	"AccessDeniedException":       func(err error) bool { var e *types.AccessDeniedException; return errors.As(err, &e) },
	"ClientException":             func(err error) bool { var e *types.ClientException; return errors.As(err, &e) },
	"ClusterNotFoundException":    func(err error) bool { var e *types.ClusterNotFoundException; return errors.As(err, &e) },
	"InvalidParameterException":   func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) },
	"ResourceNotFoundException":   func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
	"ServerException":             func(err error) bool { var e *types.ServerException; return errors.As(err, &e) },
	"UnsupportedFeatureException": func(err error) bool { var e *types.UnsupportedFeatureException; return errors.As(err, &e) },
}

func TestInjectedModeledExceptions(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	for code, isType := range modeledErrorChecks {
		t.Run(code, func(t *testing.T) {
			f.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: code, Message: "injected " + code, Count: 1})
			_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns})
			if !isType(err) {
				t.Fatalf("error = %v, want *types.%s", err, code)
			}
			if got := errorCode(t, err); got != code {
				t.Errorf("ErrorCode() = %s, want %s", got, code)
			}
			var respErr *awshttp.ResponseError
			if !errors.As(err, &respErr) {
				t.Fatalf("error %v carries no HTTP response", err)
			}
			wantStatus := 400
			if code == "ServerException" {
				wantStatus = 500
			}
			if respErr.HTTPStatusCode() != wantStatus {
				t.Errorf("HTTP status = %d, want %d", respErr.HTTPStatusCode(), wantStatus)
			}
			if respErr.ServiceRequestID() == "" {
				t.Error("no request ID in the error")
			}
		})
	}
	if _, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns}); err != nil {
		t.Errorf("call after the one-shot faults: %v", err)
	}
}

func TestThrottlingWithMovingClock(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	f.emulator.SetThrottle("GetTaskProtection", 2, 1)
	call := func() error {
		_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns})
		return err
	}
	for i := range 2 {
		if err := call(); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	err := call()
	wantCode(t, err, "ThrottlingException")
	if got := err.Error(); !strings.Contains(got, "Rate exceeded") {
		t.Errorf("throttling message %q does not say Rate exceeded", got)
	}
	if _, err := f.client.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("orders")}); err != nil {
		t.Errorf("other operation throttled: %v", err)
	}
	f.emulator.Clock().Advance(999 * time.Millisecond)
	wantCode(t, call(), "ThrottlingException")
	f.emulator.Clock().Advance(time.Millisecond)
	if err := call(); err != nil {
		t.Errorf("call after one second of refill: %v", err)
	}
	f.emulator.SetThrottle("GetTaskProtection", 0, 0)
	for i := range 5 {
		if err := call(); err != nil {
			t.Fatalf("call %d after removing the throttle: %v", i, err)
		}
	}
	counters := f.emulator.Counters()["GetTaskProtection"]
	if counters["ThrottlingException"] != 2 || counters["OK"] != 8 {
		t.Errorf("counters = %v, want 2 ThrottlingException and 8 OK", counters)
	}
}

func TestFaultCountAndClusterFilter(t *testing.T) {
	f := newFixture(t)
	orders := f.serviceTasks(t, 1)
	billing, err := f.emulator.CreateServiceTasks(testRegion, "billing", "api", 1)
	if err != nil {
		t.Fatalf("CreateServiceTasks: %v", err)
	}
	f.emulator.InjectFault(ecsemulator.Fault{Cluster: "billing", Code: "ExpiredTokenException", Count: 2})
	get := func(cluster string, tasks []string) error {
		_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String(cluster), Tasks: tasks})
		return err
	}
	if err := get("orders", orders); err != nil {
		t.Errorf("orders call hit the billing fault: %v", err)
	}
	wantCode(t, get("billing", billing), "ExpiredTokenException")
	wantCode(t, get("arn:aws:ecs:eu-west-1:111122223333:cluster/billing", billing), "ExpiredTokenException")
	if err := get("billing", billing); err != nil {
		t.Errorf("third billing call: %v, want the fault used up after 2", err)
	}
	if n := len(f.emulator.Faults()); n != 0 {
		t.Errorf("faults left = %d, want 0", n)
	}

	f.emulator.InjectFault(ecsemulator.Fault{Operation: "ListTasks", Code: "ServerException", HTTPStatus: 503, Message: "down"})
	for range 3 {
		_, err := f.client.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("orders")})
		var respErr *awshttp.ResponseError
		if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != 503 {
			t.Fatalf("ListTasks error = %v, want HTTP 503 on every call", err)
		}
	}
	if err := get("orders", orders); err != nil {
		t.Errorf("GetTaskProtection hit the ListTasks fault: %v", err)
	}
	f.emulator.ClearFaults()
	if _, err := f.client.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("orders")}); err != nil {
		t.Errorf("ListTasks after ClearFaults: %v", err)
	}
}

func TestFaultProbability(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	f.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: "ServerException", Probability: 0.25})
	f.emulator.ResetRequests()
	const calls = 400
	for range calls {
		_, _ = f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns})
	}
	failed := f.emulator.Counters()["GetTaskProtection"]["ServerException"]
	// With the fixed seed the count is deterministic; the bounds are those
	// of a fair 25% draw (about 5 standard deviations).
	if failed < 60 || failed > 140 {
		t.Errorf("failed calls = %d of %d, want about 25%%", failed, calls)
	}
	if got := f.emulator.CountRequests("GetTaskProtection"); got != calls {
		t.Errorf("CountRequests = %d, want %d", got, calls)
	}

	f.emulator.ClearFaults()
	f.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Probability: 1, Count: 3})
	f.emulator.ResetRequests()
	for range 5 {
		_, _ = f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns})
	}
	if got := f.emulator.Counters()["GetTaskProtection"]["ServerException"]; got != 3 {
		t.Errorf("failures with Count 3 and Probability 1 = %d, want 3", got)
	}
}

func TestLatencyUsesSleep(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	e := ecsemulator.New(ecsemulator.Options{
		Clock: ecsemulator.NewFixedClock(testStart),
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return nil
		},
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := ecsemulatortest.NewClient(srv.URL, testRegion)
	e.SetLatency("ListTasks", 250*time.Millisecond)
	if _, err := e.CreateServiceTasks(testRegion, "orders", "worker", 1); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("orders")}); err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if _, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 1 || slept[0] != 250*time.Millisecond {
		t.Errorf("delays = %v, want one of 250ms for ListTasks only", slept)
	}
}

func TestLatencyDelaysRealResponses(t *testing.T) {
	f := newFixture(t)
	f.emulator.SetLatency("DescribeClusters", 30*time.Millisecond)
	start := time.Now()
	if _, err := f.client.DescribeClusters(f.ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	// Only a lower bound: a slow machine can take longer but never less.
	if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
		t.Errorf("call took %v, want at least the 30ms latency", elapsed)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.client.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err == nil {
		t.Error("cancelled call succeeded")
	}
}

func TestRequestLog(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 3)
	f.emulator.ResetRequests()
	if _, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns}); err != nil {
		t.Fatal(err)
	}
	f.emulator.Clock().Advance(time.Second)
	_, _ = f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("ghost"), Tasks: arns[:1]})
	if _, err := f.client.ListTasks(f.ctx, &ecs.ListTasksInput{}); err == nil {
		t.Error("ListTasks on the missing default cluster succeeded")
	}
	log := f.emulator.Requests()
	if len(log) != 3 {
		t.Fatalf("log = %+v, want 3 entries", log)
	}
	want := []ecsemulator.Request{
		{Time: testStart, Operation: "GetTaskProtection", Region: testRegion, Cluster: "orders", TaskCount: 3, Outcome: "OK"},
		{Time: testStart.Add(time.Second), Operation: "GetTaskProtection", Region: testRegion, Cluster: "ghost",
			TaskCount: 1, Outcome: "ClusterNotFoundException"},
		{Time: testStart.Add(time.Second), Operation: "ListTasks", Region: testRegion, Cluster: "default",
			Outcome: "ClusterNotFoundException"},
	}
	for i := range want {
		if !log[i].Time.Equal(want[i].Time) || log[i].Operation != want[i].Operation || log[i].Region != want[i].Region ||
			log[i].Cluster != want[i].Cluster || log[i].TaskCount != want[i].TaskCount || log[i].Outcome != want[i].Outcome {
			t.Errorf("log[%d] = %+v, want %+v", i, log[i], want[i])
		}
	}
	if got := f.emulator.CountRequests("GetTaskProtection"); got != 2 {
		t.Errorf("CountRequests(GetTaskProtection) = %d, want 2", got)
	}
	if got := f.emulator.CountRequests(""); got != 3 {
		t.Errorf("CountRequests(\"\") = %d, want 3", got)
	}
	f.emulator.ResetRequests()
	if got := f.emulator.CountRequests(""); got != 0 || len(f.emulator.Requests()) != 0 {
		t.Errorf("after ResetRequests: count %d, log %d entries; want 0", got, len(f.emulator.Requests()))
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	e := ecsemulator.New(ecsemulator.Options{Clock: ecsemulator.NewFixedClock(testStart), MaxRequestLog: 3})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := ecsemulatortest.NewClient(srv.URL, testRegion)
	for range 5 {
		_, _ = client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{})
	}
	if got := len(e.Requests()); got != 3 {
		t.Errorf("log entries = %d, want the last 3", got)
	}
	if got := e.CountRequests("DescribeClusters"); got != 5 {
		t.Errorf("CountRequests = %d, want 5 (counters are not bounded)", got)
	}
}

func TestCanceledRequestIsRecorded(t *testing.T) {
	f := newFixture(t)
	f.emulator.SetLatency("DescribeClusters", 10*time.Second)
	req, err := http.NewRequest(http.MethodPost, f.server.URL+"/", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters")
	req.Header.Set("Authorization", testAuthorization)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request answered %s under 10s of latency, want a client timeout", resp.Status)
	}

	// The server detects the closed connection shortly after the client
	// gives up, so wait for the entry instead of checking at once.
	deadline := time.Now().Add(5 * time.Second)
	for f.emulator.CountRequests("DescribeClusters") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a second record would land by now
	log := f.emulator.Requests()
	if len(log) != 1 {
		t.Fatalf("log = %+v, want exactly one entry", log)
	}
	if log[0].Outcome != ecsemulator.OutcomeCanceled {
		t.Errorf("outcome = %q, want %q", log[0].Outcome, ecsemulator.OutcomeCanceled)
	}
	if !log[0].Time.Equal(testStart) {
		t.Errorf("time = %v, want the arrival time %v", log[0].Time, testStart)
	}
	if got := f.emulator.Counters()["DescribeClusters"]; len(got) != 1 || got[ecsemulator.OutcomeCanceled] != 1 {
		t.Errorf("counters = %v, want only Canceled: 1", got)
	}
}

func TestLoggedTimeIsArrival(t *testing.T) {
	clock := ecsemulator.NewFixedClock(testStart)
	var canceled atomic.Bool
	e := ecsemulator.New(ecsemulator.Options{
		Clock: clock,
		// Sleep moves the emulator clock by the delay, so a record written
		// after the delay would carry the later time.
		Sleep: func(ctx context.Context, d time.Duration) error {
			clock.Advance(d)
			if canceled.Load() {
				return context.Canceled
			}
			return nil
		},
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := ecsemulatortest.NewClient(srv.URL, testRegion)
	e.SetLatency("DescribeClusters", time.Minute)

	if _, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{}); err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	canceled.Store(true)
	// Sleep reports a cancellation while the client still waits, so the
	// client gets an empty response. Only the log matters here.
	shortCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = client.DescribeClusters(shortCtx, &ecs.DescribeClustersInput{})

	want := []ecsemulator.Request{
		{Time: testStart, Outcome: ecsemulator.OutcomeOK},
		{Time: testStart.Add(time.Minute), Outcome: ecsemulator.OutcomeCanceled},
	}
	log := e.Requests()
	if len(log) != len(want) {
		t.Fatalf("log = %+v, want %d entries", log, len(want))
	}
	for i := range want {
		if !log[i].Time.Equal(want[i].Time) {
			t.Errorf("log[%d].Time = %v, want the arrival time %v", i, log[i].Time, want[i].Time)
		}
		if log[i].Outcome != want[i].Outcome {
			t.Errorf("log[%d].Outcome = %q, want %q", i, log[i].Outcome, want[i].Outcome)
		}
	}
}
