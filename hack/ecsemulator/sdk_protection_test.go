package ecsemulator_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

func TestGetTaskProtectionMixedAnswer(t *testing.T) {
	f := newFixture(t)
	service := f.serviceTasks(t, 3)
	standalone, err := f.emulator.RunStandaloneTasks(testRegion, "orders", 1)
	if err != nil {
		t.Fatalf("RunStandaloneTasks: %v", err)
	}
	if err := f.emulator.SetProtection(testRegion, "orders", service[:2], true, time.Minute); err != nil {
		t.Fatalf("SetProtection: %v", err)
	}
	unknown := "0123456789abcdef0123456789abcdef"
	// Ask by bare ID for one task: the response still carries the full ARN.
	serviceID := service[1][strings.LastIndex(service[1], "/")+1:]
	out := f.getProtection(t, service[0], serviceID, service[2], standalone[0], unknown)

	if len(out.ProtectedTasks) != 3 {
		t.Fatalf("protectedTasks = %d entries, want 3", len(out.ProtectedTasks))
	}
	byARN := protectionByARN(out.ProtectedTasks)
	wantExpiry := testStart.Add(time.Minute)
	for _, arn := range service[:2] {
		p, ok := byARN[arn]
		if !ok {
			t.Fatalf("no protectedTasks entry for %s", arn)
		}
		if !p.ProtectionEnabled {
			t.Errorf("%s protectionEnabled = false, want true", arn)
		}
		if p.ExpirationDate == nil || !p.ExpirationDate.Equal(wantExpiry) {
			t.Errorf("%s expirationDate = %v, want %v", arn, p.ExpirationDate, wantExpiry)
		}
	}
	if p := byARN[service[2]]; p.ProtectionEnabled || p.ExpirationDate != nil {
		t.Errorf("unprotected task entry = %+v, want protectionEnabled false and no expirationDate", p)
	}
	failures := failuresByARN(out.Failures)
	if len(failures) != 2 {
		t.Fatalf("failures = %+v, want 2", out.Failures)
	}
	if got := aws.ToString(failures[standalone[0]].Reason); got != "TASK_NOT_VALID" {
		t.Errorf("standalone failure reason = %q, want TASK_NOT_VALID", got)
	}
	if aws.ToString(failures[standalone[0]].Detail) == "" {
		t.Error("standalone failure has no detail")
	}
	if got := aws.ToString(failures[unknown].Reason); got != "MISSING" {
		t.Errorf("unknown task failure reason = %q, want MISSING with the ID as given", got)
	}
}

func TestGetTaskProtectionTwoLongStoppedTasks(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 2)
	for _, arn := range arns {
		if _, err := f.client.StopTask(f.ctx, &ecs.StopTaskInput{Cluster: aws.String("orders"), Task: aws.String(arn)}); err != nil {
			t.Fatalf("StopTask: %v", err)
		}
	}
	f.emulator.Clock().Advance(2 * time.Hour)
	// One asked by ARN, one by ID: each failure carries the entry as given,
	// so a client can match by ARN or ID, whatever the order.
	id := arns[1][strings.LastIndex(arns[1], "/")+1:]
	out := f.getProtection(t, arns[0], id)
	if len(out.ProtectedTasks) != 0 {
		t.Errorf("protectedTasks = %+v, want none", out.ProtectedTasks)
	}
	failures := failuresByARN(out.Failures)
	for _, key := range []string{arns[0], id} {
		if got := aws.ToString(failures[key].Reason); got != "MISSING" {
			t.Errorf("failure for %s = %q, want MISSING", key, got)
		}
	}
}

func TestGetTaskProtectionValidation(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("%032x", i)
	}
	tests := []struct {
		name    string
		cluster string
		tasks   []string
		code    string
		message string
	}{
		{name: "unknown cluster", cluster: "ghost", tasks: arns, code: "ClusterNotFoundException", message: "Cluster not found."},
		{name: "cluster ARN of another region", cluster: "arn:aws:ecs:us-west-2:111122223333:cluster/orders",
			tasks: arns, code: "ClusterNotFoundException", message: "Cluster not found."},
		{name: "101 tasks", cluster: "orders", tasks: tooMany, code: "InvalidParameterException", message: "got 101"},
		{name: "malformed task", cluster: "orders", tasks: []string{arns[0], "not-a-task"},
			code: "InvalidParameterException", message: `"not-a-task"`},
		{name: "tasks omitted", cluster: "orders", tasks: nil, code: "InvalidParameterException", message: "tasks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
				Cluster: aws.String(tt.cluster), Tasks: tt.tasks,
			})
			wantCode(t, err, tt.code)
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err.Error(), tt.message)
			}
		})
	}
	out, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
		Cluster: aws.String("arn:aws:ecs:eu-west-1:111122223333:cluster/orders"), Tasks: tooMany[:100],
	})
	if err != nil {
		t.Fatalf("100 tasks by cluster ARN: %v", err)
	}
	if len(out.Failures) != 100 {
		t.Errorf("failures = %d, want 100 MISSING", len(out.Failures))
	}
}

func TestGetTaskProtectionOtherClusterIsMissing(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	if _, err := f.emulator.CreateServiceTasks(testRegion, "billing", "api", 1); err != nil {
		t.Fatalf("CreateServiceTasks: %v", err)
	}
	out, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
		Cluster: aws.String("billing"), Tasks: arns,
	})
	if err != nil {
		t.Fatalf("GetTaskProtection: %v", err)
	}
	if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" || aws.ToString(out.Failures[0].Arn) != arns[0] {
		t.Errorf("failures = %+v, want MISSING for %s", out.Failures, arns[0])
	}
}

func TestOldFormatTaskARNs(t *testing.T) {
	f := newFixture(t)
	const id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	state, err := ecsemulator.ParseState([]byte(`
clusters:
- name: legacy
  region: eu-west-1
  taskArnFormat: old
  taskDefinitions: [{family: batch}]
  services:
  - name: batch
    tasks: [{id: ` + id + `, protectedForMinutes: 5}]
`))
	if err != nil {
		t.Fatalf("ParseState: %v", err)
	}
	if err := f.emulator.LoadState(state); err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	wantARN := "arn:aws:ecs:eu-west-1:111122223333:task/" + id
	for _, ref := range []string{id, wantARN} {
		out, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("legacy"), Tasks: []string{ref}})
		if err != nil {
			t.Fatalf("GetTaskProtection(%s): %v", ref, err)
		}
		if len(out.ProtectedTasks) != 1 || aws.ToString(out.ProtectedTasks[0].TaskArn) != wantARN {
			t.Fatalf("GetTaskProtection(%s) = %+v, want the old-format ARN %s", ref, out.ProtectedTasks, wantARN)
		}
		if !out.ProtectedTasks[0].ProtectionEnabled {
			t.Errorf("GetTaskProtection(%s) protectionEnabled = false, want true", ref)
		}
	}
}

func TestUpdateTaskProtectionDeploymentBlocked(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 2)
	a, b := arns[0], arns[1]
	// Desired count 2: both may be protected. Scaling to 1 then stops
	// neither, and disabling B leaves desired 1 with A protected and B not.
	if _, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: arns, ProtectionEnabled: true,
	}); err != nil {
		t.Fatalf("UpdateTaskProtection: %v", err)
	}
	if _, err := f.client.UpdateService(f.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"), DesiredCount: aws.Int32(1),
	}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if _, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: []string{b}, ProtectionEnabled: false,
	}); err != nil {
		t.Fatalf("UpdateTaskProtection(disable): %v", err)
	}

	out, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: []string{b}, ProtectionEnabled: true,
	})
	if err != nil {
		t.Fatalf("UpdateTaskProtection(enable B) returned an error, want HTTP 200 with failures: %v", err)
	}
	if len(out.ProtectedTasks) != 0 {
		t.Errorf("protectedTasks = %+v, want empty", out.ProtectedTasks)
	}
	if len(out.Failures) != 1 {
		t.Fatalf("failures = %+v, want one", out.Failures)
	}
	if got := aws.ToString(out.Failures[0].Arn); got != b {
		t.Errorf("failure arn = %s, want %s", got, b)
	}
	if got := aws.ToString(out.Failures[0].Reason); got != "DEPLOYMENT_BLOCKED" {
		t.Errorf("failure reason = %s, want DEPLOYMENT_BLOCKED", got)
	}
	if p := protectionByARN(f.getProtection(t, b).ProtectedTasks)[b]; p.ProtectionEnabled {
		t.Error("B reads as protected after a DEPLOYMENT_BLOCKED answer")
	}
	// Renewing A, which is already protected, is not blocked.
	renewed, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: []string{a}, ProtectionEnabled: true,
	})
	if err != nil || len(renewed.ProtectedTasks) != 1 || len(renewed.Failures) != 0 {
		t.Errorf("renewing A = %+v, %v; want one protected task and no failures", renewed, err)
	}
}

func TestUpdateTaskProtectionExpiry(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 2)

	// No expiresInMinutes: ECS uses 120 minutes.
	out, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: arns[:1], ProtectionEnabled: true,
	})
	if err != nil {
		t.Fatalf("UpdateTaskProtection: %v", err)
	}
	if len(out.ProtectedTasks) != 1 {
		t.Fatalf("protectedTasks = %+v, want one", out.ProtectedTasks)
	}
	if got, want := out.ProtectedTasks[0].ExpirationDate, testStart.Add(120*time.Minute); got == nil || !got.Equal(want) {
		t.Errorf("default expirationDate = %v, want %v", got, want)
	}

	// Enabling again resets the expiry from the current time.
	f.emulator.Clock().Advance(30 * time.Minute)
	out, err = f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: arns[:1], ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(1),
	})
	if err != nil {
		t.Fatalf("UpdateTaskProtection(renew): %v", err)
	}
	wantExpiry := testStart.Add(31 * time.Minute)
	if got := out.ProtectedTasks[0].ExpirationDate; got == nil || !got.Equal(wantExpiry) {
		t.Errorf("renewed expirationDate = %v, want %v", got, wantExpiry)
	}

	// One minute and one second later the protection has expired.
	f.emulator.Clock().Advance(61 * time.Second)
	p := protectionByARN(f.getProtection(t, arns[0]).ProtectedTasks)[arns[0]]
	if p.ProtectionEnabled {
		t.Error("protectionEnabled = true after expiry, want false")
	}
	if p.ExpirationDate != nil {
		t.Errorf("expirationDate = %v after expiry, want none", p.ExpirationDate)
	}

	// Disabling clears the expiry at once.
	if err := f.emulator.SetProtection(testRegion, "orders", arns[1:], true, time.Hour); err != nil {
		t.Fatalf("SetProtection: %v", err)
	}
	out, err = f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: arns[1:], ProtectionEnabled: false,
	})
	if err != nil {
		t.Fatalf("UpdateTaskProtection(disable): %v", err)
	}
	if out.ProtectedTasks[0].ProtectionEnabled || out.ProtectedTasks[0].ExpirationDate != nil {
		t.Errorf("disabled entry = %+v, want protectionEnabled false and no expirationDate", out.ProtectedTasks[0])
	}
}

func TestExpirationDateWireFormat(t *testing.T) {
	f := newFixture(t)
	f.emulator.Clock().Set(time.Date(2026, 12, 4, 10, 0, 0, 987_654_321, time.UTC))
	arns := f.serviceTasks(t, 1)
	if err := f.emulator.SetProtection(testRegion, "orders", arns, true, time.Minute); err != nil {
		t.Fatalf("SetProtection: %v", err)
	}
	// The Go SDK accepts only a JSON number of epoch seconds; it keeps the
	// milliseconds and drops the rest.
	p := protectionByARN(f.getProtection(t, arns...).ProtectedTasks)[arns[0]]
	want := time.Date(2026, 12, 4, 10, 1, 0, 987_000_000, time.UTC)
	if p.ExpirationDate == nil || !p.ExpirationDate.Equal(want) {
		t.Fatalf("expirationDate = %v, want %v", p.ExpirationDate, want)
	}

	body := rawECS(t, f, "GetTaskProtection", `{"cluster":"orders","tasks":["`+arns[0]+`"]}`)
	if !strings.Contains(body.text, `"expirationDate":1796378460.987`) {
		t.Errorf("raw body %s does not carry expirationDate as epoch seconds 1796378460.987", body.text)
	}
}

func TestEmptyProtectionQuirk(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 2)
	if err := f.emulator.SetProtection(testRegion, "orders", arns[:1], true, time.Minute); err != nil {
		t.Fatalf("SetProtection: %v", err)
	}
	f.emulator.SetEmptyProtectionQuirk(true)
	out := f.getProtection(t, arns[1])
	if len(out.ProtectedTasks) != 0 || len(out.Failures) != 0 {
		t.Errorf("never-protected task with the quirk = %+v / %+v, want both lists empty", out.ProtectedTasks, out.Failures)
	}
	if out := f.getProtection(t, arns[0]); len(out.ProtectedTasks) != 1 {
		t.Errorf("protected task with the quirk = %+v, want its entry", out.ProtectedTasks)
	}
	f.emulator.SetEmptyProtectionQuirk(false)
	out = f.getProtection(t, arns[1])
	if len(out.ProtectedTasks) != 1 || out.ProtectedTasks[0].ProtectionEnabled {
		t.Errorf("never-protected task without the quirk = %+v, want protectionEnabled false", out.ProtectedTasks)
	}
}

func TestUpdateTaskProtectionValidation(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	standalone, err := f.emulator.RunStandaloneTasks(testRegion, "orders", 1)
	if err != nil {
		t.Fatalf("RunStandaloneTasks: %v", err)
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("%032x", i)
	}
	tests := []struct {
		name    string
		tasks   []string
		minutes *int32
		message string
	}{
		{name: "11 tasks", tasks: eleven, message: "at most 10 tasks; got 11"},
		{name: "0 minutes", tasks: arns, minutes: aws.Int32(0), message: "expiresInMinutes 0"},
		{name: "2881 minutes", tasks: arns, minutes: aws.Int32(2881), message: "expiresInMinutes 2881"},
		{name: "empty tasks", tasks: []string{}, message: "at least one task"},
		{name: "malformed task", tasks: []string{"task-1"}, message: `"task-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
				Cluster: aws.String("orders"), Tasks: tt.tasks, ProtectionEnabled: true, ExpiresInMinutes: tt.minutes,
			})
			var invalid *types.InvalidParameterException
			if !errors.As(err, &invalid) {
				t.Fatalf("error = %v, want InvalidParameterException", err)
			}
			if !strings.Contains(invalid.ErrorMessage(), tt.message) {
				t.Errorf("message %q does not contain %q", invalid.ErrorMessage(), tt.message)
			}
		})
	}
	out, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: []string{standalone[0], eleven[0], arns[0]},
		ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(2880),
	})
	if err != nil {
		t.Fatalf("UpdateTaskProtection: %v", err)
	}
	failures := failuresByARN(out.Failures)
	if got := aws.ToString(failures[standalone[0]].Reason); got != "TASK_NOT_VALID" {
		t.Errorf("standalone reason = %q, want TASK_NOT_VALID", got)
	}
	if got := aws.ToString(failures[eleven[0]].Reason); got != "MISSING" {
		t.Errorf("unknown reason = %q, want MISSING", got)
	}
	if len(out.ProtectedTasks) != 1 || aws.ToString(out.ProtectedTasks[0].TaskArn) != arns[0] {
		t.Errorf("protectedTasks = %+v, want the service task", out.ProtectedTasks)
	}
	if got, want := out.ProtectedTasks[0].ExpirationDate, testStart.Add(48*time.Hour); got == nil || !got.Equal(want) {
		t.Errorf("expirationDate = %v, want %v", got, want)
	}
}

func TestProtectionPerRegion(t *testing.T) {
	f := newFixture(t)
	euTasks := f.serviceTasks(t, 1)
	usTasks, err := f.emulator.CreateServiceTasks("us-west-2", "orders", "worker", 2)
	if err != nil {
		t.Fatalf("CreateServiceTasks: %v", err)
	}
	if !strings.HasPrefix(usTasks[0], "arn:aws:ecs:us-west-2:111122223333:task/orders/") {
		t.Errorf("us-west-2 task ARN = %s", usTasks[0])
	}
	us := f.clientFor("us-west-2")
	out, err := us.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: append([]string{euTasks[0]}, usTasks...),
	})
	if err != nil {
		t.Fatalf("GetTaskProtection in us-west-2: %v", err)
	}
	if len(out.ProtectedTasks) != 2 {
		t.Errorf("us-west-2 protectedTasks = %d, want its own 2 tasks", len(out.ProtectedTasks))
	}
	if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Arn) != euTasks[0] {
		t.Errorf("us-west-2 failures = %+v, want the eu-west-1 task as MISSING", out.Failures)
	}
	_, err = f.clientFor("ap-south-1").GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: euTasks,
	})
	var notFound *types.ClusterNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("cluster in an empty region: error = %v, want ClusterNotFoundException", err)
	}
	for _, r := range f.emulator.Requests() {
		if r.Operation == "GetTaskProtection" && r.Region != "us-west-2" && r.Region != "ap-south-1" {
			t.Errorf("request logged in region %s, want the credential scope's region", r.Region)
		}
	}
}
