package ecsemulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator/ecsemulatortest"
)

// injectedCodes are the seven modeled ECS exceptions plus throttling, with
// the status the emulator sends for each.
var injectedCodes = []struct {
	code   string
	status int
}{
	{"AccessDeniedException", 400},
	{"ClientException", 400},
	{"ClusterNotFoundException", 400},
	{"InvalidParameterException", 400},
	{"ResourceNotFoundException", 400},
	{"ServerException", 500},
	{"UnsupportedFeatureException", 400},
	{"ThrottlingException", 400},
}

func TestAWSCLIParsesEveryAnswer(t *testing.T) {
	f := newFixture(t)
	url := f.server.URL
	cli := func(args ...string) ecsemulatortest.CLIResult {
		t.Helper()
		return ecsemulatortest.RunCLI(t, url, testRegion, append([]string{"ecs"}, args...)...)
	}
	var out map[string]any
	ok := func(args ...string) map[string]any {
		t.Helper()
		out = nil
		cli(args...).Decode(t, &out)
		return out
	}
	wantError := func(code, message string, args ...string) {
		t.Helper()
		gotCode, gotMessage, found := cli(args...).Error()
		if !found || gotCode != code || !strings.Contains(gotMessage, message) {
			t.Errorf("aws ecs %v: error %q %q, want %s containing %q", args, gotCode, gotMessage, code, message)
		}
	}

	ok("create-cluster", "--cluster-name", "orders")
	if got := jsonPath(out, "cluster.clusterArn"); got != "arn:aws:ecs:eu-west-1:111122223333:cluster/orders" {
		t.Errorf("clusterArn = %v", got)
	}
	ok("register-task-definition", "--family", "worker", "--container-definitions", `[{"name":"app","image":"worker:1"}]`)
	if got := jsonPath(out, "taskDefinition.revision"); got != float64(1) {
		t.Errorf("revision = %v, want 1", got)
	}
	ok("describe-task-definition", "--task-definition", "worker:1")
	if got := jsonPath(out, "taskDefinition.registeredAt"); got != "2026-12-04T10:00:00.123000+00:00" {
		t.Errorf("registeredAt = %v, want the emulator time parsed by botocore", got)
	}
	ok("create-service", "--cluster", "orders", "--service-name", "worker", "--task-definition", "worker", "--desired-count", "2")
	if got := jsonPath(out, "service.runningCount"); got != float64(2) {
		t.Errorf("runningCount = %v, want 2", got)
	}
	ok("update-service", "--cluster", "orders", "--service", "worker", "--desired-count", "3")
	ok("describe-services", "--cluster", "orders", "--services", "worker")
	if got := jsonPath(out, "services.0.runningCount"); got != float64(3) {
		t.Errorf("runningCount after update = %v, want 3", got)
	}
	ok("run-task", "--cluster", "orders", "--task-definition", "worker")
	standalone := jsonPath(out, "tasks.0.taskArn").(string)
	ok("list-tasks", "--cluster", "orders", "--service-name", "worker")
	taskList := toStrings(out["taskArns"])
	if len(taskList) != 3 {
		t.Fatalf("service tasks = %v, want 3", taskList)
	}
	ok("update-task-protection", "--cluster", "orders", "--tasks", taskList[0], "--protection-enabled", "--expires-in-minutes", "1")
	if got := jsonPath(out, "protectedTasks.0.expirationDate"); got != "2026-12-04T10:01:00.123000+00:00" {
		t.Errorf("expirationDate = %v, want 2026-12-04T10:01:00.123000+00:00", got)
	}
	ok("get-task-protection", "--cluster", "orders", "--tasks", taskList[0], taskList[1], standalone)
	if got := jsonPath(out, "protectedTasks.1.protectionEnabled"); got != false {
		t.Errorf("unprotected entry protectionEnabled = %v", got)
	}
	if _, has := jsonPath(out, "protectedTasks.1").(map[string]any)["expirationDate"]; has {
		t.Error("unprotected entry has an expirationDate")
	}
	if got := jsonPath(out, "failures.0.reason"); got != "TASK_NOT_VALID" {
		t.Errorf("standalone failure = %v", got)
	}
	ok("describe-tasks", "--cluster", "orders", "--tasks", standalone, "0123456789abcdef0123456789abcdef")
	if got := jsonPath(out, "failures.0.reason"); got != "MISSING" {
		t.Errorf("describe-tasks failure = %v, want MISSING", got)
	}
	ok("stop-task", "--cluster", "orders", "--task", standalone, "--reason", "done")
	if got := jsonPath(out, "task.lastStatus"); got != "STOPPED" {
		t.Errorf("stopped lastStatus = %v", got)
	}
	ok("describe-clusters", "--clusters", "orders")
	if got := jsonPath(out, "clusters.0.runningTasksCount"); got != float64(3) {
		t.Errorf("runningTasksCount = %v, want 3", got)
	}
	ok("delete-service", "--cluster", "orders", "--service", "worker", "--force")
	ok("delete-cluster", "--cluster", "orders")
	if got := jsonPath(out, "cluster.status"); got != "INACTIVE" {
		t.Errorf("deleted cluster status = %v", got)
	}

	wantError("ClusterNotFoundException", "Cluster not found.", "get-task-protection", "--cluster", "orders", "--tasks", taskList[0])
	wantError("ClientException", "Unable to describe task definition.", "describe-task-definition", "--task-definition", "ghost")
	ok("create-cluster", "--cluster-name", "orders")
	wantError("InvalidParameterException", `"bad"`, "get-task-protection", "--cluster", "orders", "--tasks", "bad")
	for _, c := range injectedCodes {
		f.emulator.InjectFault(ecsemulator.Fault{Operation: "GetTaskProtection", Code: c.code, Message: "injected " + c.code, Count: 1})
		wantError(c.code, "injected "+c.code, "get-task-protection", "--cluster", "orders", "--tasks", taskList[0])
	}
}

func TestBoto3ParsesEveryAnswer(t *testing.T) {
	f := newFixture(t)
	service := f.serviceTasks(t, 2)
	standalone, err := f.emulator.RunStandaloneTasks(testRegion, "orders", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range injectedCodes {
		f.emulator.InjectFault(ecsemulator.Fault{Operation: "DescribeServices", Code: c.code, Message: "injected " + c.code, Count: 1})
	}
	calls := []ecsemulatortest.Boto3Call{
		{Method: "create_cluster", Params: map[string]any{"clusterName": "billing"}},
		{Method: "describe_clusters", Params: map[string]any{"clusters": []string{"orders", "ghost"}}},
		{Method: "register_task_definition", Params: map[string]any{"family": "api",
			"containerDefinitions": []map[string]any{{"name": "app", "image": "api:1"}}}},
		{Method: "describe_task_definition", Params: map[string]any{"taskDefinition": "api"}},
		{Method: "create_service", Params: map[string]any{"cluster": "billing", "serviceName": "api",
			"taskDefinition": "api", "desiredCount": 1, "launchType": "FARGATE",
			"networkConfiguration": map[string]any{"awsvpcConfiguration": map[string]any{"subnets": []string{"subnet-1"}}}}},
		{Method: "update_service", Params: map[string]any{"cluster": "billing", "service": "api", "desiredCount": 0}},
		{Method: "delete_service", Params: map[string]any{"cluster": "billing", "service": "api"}},
		{Method: "delete_cluster", Params: map[string]any{"cluster": "billing"}},
		{Method: "run_task", Params: map[string]any{"cluster": "orders", "taskDefinition": "worker", "count": 2}},
		{Method: "list_tasks", Params: map[string]any{"cluster": "orders", "serviceName": "worker"}},
		{Method: "describe_tasks", Params: map[string]any{"cluster": "orders", "tasks": []string{service[0]}}},
		{Method: "update_task_protection", Params: map[string]any{"cluster": "orders", "tasks": []string{service[0]},
			"protectionEnabled": true, "expiresInMinutes": 1}},
		{Method: "get_task_protection", Params: map[string]any{"cluster": "orders",
			"tasks": []string{service[0], service[1], standalone[0], "0123456789abcdef0123456789abcdef"}}},
		{Method: "stop_task", Params: map[string]any{"cluster": "orders", "task": standalone[0]}},
		{Method: "get_task_protection", Params: map[string]any{"cluster": "ghost", "tasks": []string{service[0]}}},
		{Method: "update_task_protection", Params: map[string]any{"cluster": "orders", "tasks": []string{service[0]},
			"protectionEnabled": true, "expiresInMinutes": 5000}},
		{Method: "describe_task_definition", Params: map[string]any{"taskDefinition": "ghost"}},
	}
	for range injectedCodes {
		calls = append(calls, ecsemulatortest.Boto3Call{Method: "describe_services",
			Params: map[string]any{"cluster": "orders", "services": []string{"worker"}}})
	}
	results := ecsemulatortest.RunBoto3(t, f.server.URL, testRegion, calls)

	for i, r := range results[:14] {
		if r.Error != nil {
			t.Errorf("%s: error %+v", calls[i].Method, r.Error)
		}
	}
	if got := jsonPath(results[1].Response, "failures.0.reason"); got != "MISSING" {
		t.Errorf("describe_clusters failure = %v", got)
	}
	if got := jsonPath(results[3].Response, "taskDefinition.registeredAt"); got != epochSeconds(testStart) {
		t.Errorf("registeredAt = %v, want %v", got, epochSeconds(testStart))
	}
	if got := jsonPath(results[6].Response, "service.status"); got != "DRAINING" {
		t.Errorf("delete_service status = %v", got)
	}
	if got := len(results[8].Response["tasks"].([]any)); got != 2 {
		t.Errorf("run_task tasks = %d, want 2", got)
	}
	protection := results[12].Response
	if got := jsonPath(protection, "protectedTasks.0.expirationDate"); got != epochSeconds(testStart.Add(time.Minute)) {
		t.Errorf("expirationDate = %v, want %v", got, epochSeconds(testStart.Add(time.Minute)))
	}
	if got := jsonPath(protection, "protectedTasks.1.protectionEnabled"); got != false {
		t.Errorf("unprotected entry = %v", jsonPath(protection, "protectedTasks.1"))
	}
	reasons := map[string]string{}
	for _, fl := range protection["failures"].([]any) {
		m := fl.(map[string]any)
		reasons[m["arn"].(string)] = m["reason"].(string)
	}
	if reasons[standalone[0]] != "TASK_NOT_VALID" || reasons["0123456789abcdef0123456789abcdef"] != "MISSING" {
		t.Errorf("failures = %v", reasons)
	}

	wantErrors := []ecsemulatortest.Boto3Error{
		{Code: "ClusterNotFoundException", Message: "Cluster not found.", HTTPStatus: 400},
		{Code: "InvalidParameterException", Message: "expiresInMinutes 5000 is out of range: it must be between 1 and 2880.", HTTPStatus: 400},
		{Code: "ClientException", Message: "Unable to describe task definition.", HTTPStatus: 400},
	}
	for _, c := range injectedCodes {
		wantErrors = append(wantErrors, ecsemulatortest.Boto3Error{Code: c.code, Message: "injected " + c.code, HTTPStatus: c.status})
	}
	for i, want := range wantErrors {
		r := results[14+i]
		if r.Error == nil || *r.Error != want {
			t.Errorf("%s call %d: error %+v, want %+v", calls[14+i].Method, 14+i, r.Error, want)
		}
	}
}

func epochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// jsonPath walks a decoded JSON value along a dotted path of keys and list
// indexes, returning nil when a step is missing.
func jsonPath(v any, path string) any {
	for _, step := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[step]
		case []any:
			var i int
			if _, err := fmt.Sscanf(step, "%d", &i); err != nil || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

func toStrings(v any) []string {
	raw, _ := json.Marshal(v)
	var out []string
	_ = json.Unmarshal(raw, &out)
	return out
}
