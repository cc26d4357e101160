package ecsemulator_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator/ecsemulatortest"
)

const (
	testAccount = "111122223333"
	testRegion  = "eu-west-1"
)

// testStart has a millisecond fraction so that timestamp tests see it.
var testStart = time.Date(2026, 12, 4, 10, 0, 0, 123_000_000, time.UTC)

type fixture struct {
	emulator *ecsemulator.Emulator
	server   *httptest.Server
	client   *ecs.Client
	ctx      context.Context
}

// newFixture serves an emulator with a fixed clock at testStart on a
// loopback httptest server.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := ecsemulator.New(ecsemulator.Options{
		Account:    testAccount,
		Clock:      ecsemulator.NewFixedClock(testStart),
		RandomSeed: 42,
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &fixture{
		emulator: e,
		server:   srv,
		client:   ecsemulatortest.NewClient(srv.URL, testRegion),
		ctx:      context.Background(),
	}
}

func (f *fixture) clientFor(region string) *ecs.Client {
	return ecsemulatortest.NewClient(f.server.URL, region)
}

// serviceTasks creates cluster "orders" with service "worker" of count
// tasks and returns their ARNs.
func (f *fixture) serviceTasks(t *testing.T, count int) []string {
	t.Helper()
	arns, err := f.emulator.CreateServiceTasks(testRegion, "orders", "worker", count)
	if err != nil {
		t.Fatalf("CreateServiceTasks: %v", err)
	}
	return arns
}

func (f *fixture) getProtection(t *testing.T, tasks ...string) *ecs.GetTaskProtectionOutput {
	t.Helper()
	out, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: tasks,
	})
	if err != nil {
		t.Fatalf("GetTaskProtection: %v", err)
	}
	return out
}

func protectionByARN(out []types.ProtectedTask) map[string]types.ProtectedTask {
	m := map[string]types.ProtectedTask{}
	for _, p := range out {
		m[aws.ToString(p.TaskArn)] = p
	}
	return m
}

func failuresByARN(out []types.Failure) map[string]types.Failure {
	m := map[string]types.Failure{}
	for _, f := range out {
		m[aws.ToString(f.Arn)] = f
	}
	return m
}

// errorCode returns the API error code of err, failing the test when err is
// not an API error.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an API error", err)
	}
	return apiErr.ErrorCode()
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %s", code)
	}
	if got := errorCode(t, err); got != code {
		t.Fatalf("error code = %s, want %s (error: %v)", got, code, err)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
