package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator/ecsemulatortest"
)

const region = "eu-west-1"

// startEmulator builds the command, starts it on a free loopback port and
// returns its URL. The process is interrupted when the test ends, and the
// cleanup checks that it shut down cleanly.
func startEmulator(t *testing.T, args ...string) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "ecs-emulator")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("reading the listen line: %v\n%s", err, stderr.String())
	}
	url, found := strings.CutPrefix(strings.TrimSpace(line), "ECS emulator listening on ")
	if !found || !strings.HasPrefix(url, "http://127.0.0.1:") {
		_ = cmd.Process.Kill()
		t.Fatalf("first line %q does not announce a loopback URL", line)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Errorf("interrupting the emulator: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("emulator did not exit cleanly after SIGINT: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "Stopped") {
			t.Errorf("emulator log has no Stopped line:\n%s", stderr.String())
		}
	})
	return url
}

// admin sends a control API request and decodes the JSON response into v.
func admin(t *testing.T, method, url, body string, v any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s answered %s: %v", method, url, data, err)
		}
	}
}

func emulatorNow(t *testing.T, url string) time.Time {
	t.Helper()
	var clock struct {
		Now time.Time `json:"now"`
	}
	admin(t, http.MethodGet, url+"/_emulator/clock", "", &clock)
	return clock.Now
}

type cliProtection struct {
	ProtectedTasks []struct {
		TaskArn           string  `json:"taskArn"`
		ProtectionEnabled bool    `json:"protectionEnabled"`
		ExpirationDate    *string `json:"expirationDate"`
	} `json:"protectedTasks"`
	Failures []struct {
		Arn    string `json:"arn"`
		Reason string `json:"reason"`
	} `json:"failures"`
}

func TestDoneScenario(t *testing.T) {
	url := startEmulator(t)
	cli := func(v any, args ...string) {
		t.Helper()
		ecsemulatortest.RunCLI(t, url, region, append([]string{"ecs"}, args...)...).Decode(t, v)
	}
	network := "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0],assignPublicIp=DISABLED}"

	var ignored map[string]any
	cli(&ignored, "create-cluster", "--cluster-name", "orders")
	cli(&ignored, "register-task-definition", "--family", "worker", "--network-mode", "awsvpc",
		"--requires-compatibilities", "FARGATE", "--cpu", "256", "--memory", "512",
		"--container-definitions", `[{"name":"app","image":"public.ecr.aws/docker/library/busybox:latest"}]`)
	var service struct {
		Service struct {
			RunningCount int    `json:"runningCount"`
			LaunchType   string `json:"launchType"`
		} `json:"service"`
	}
	cli(&service, "create-service", "--cluster", "orders", "--service-name", "worker", "--task-definition", "worker",
		"--desired-count", "3", "--launch-type", "FARGATE", "--network-configuration", network)
	if service.Service.RunningCount != 3 || service.Service.LaunchType != "FARGATE" {
		t.Fatalf("service = %+v, want 3 running FARGATE tasks", service.Service)
	}
	var run struct {
		Tasks []struct {
			TaskArn string `json:"taskArn"`
		} `json:"tasks"`
	}
	cli(&run, "run-task", "--cluster", "orders", "--task-definition", "worker", "--launch-type", "FARGATE",
		"--network-configuration", network)
	if len(run.Tasks) != 1 {
		t.Fatalf("run-task started %d tasks, want 1", len(run.Tasks))
	}
	standalone := run.Tasks[0].TaskArn
	var list struct {
		TaskArns []string `json:"taskArns"`
	}
	cli(&list, "list-tasks", "--cluster", "orders", "--service-name", "worker")
	if len(list.TaskArns) != 3 {
		t.Fatalf("service tasks = %v, want 3", list.TaskArns)
	}
	service1, service2, service3 := list.TaskArns[0], list.TaskArns[1], list.TaskArns[2]

	before := emulatorNow(t, url)
	cli(&ignored, "update-task-protection", "--cluster", "orders", "--tasks", service1, service2,
		"--protection-enabled", "--expires-in-minutes", "1")
	after := emulatorNow(t, url)
	// The command runs on real time, so the expiry lies between the clock
	// readings taken around the call, plus one minute.
	earliest := before.Add(time.Minute).Truncate(time.Millisecond)
	latest := after.Add(time.Minute)
	checkExpiry := func(client string, got time.Time) {
		t.Helper()
		if got.Before(earliest) || got.After(latest) {
			t.Errorf("%s: expirationDate %v is outside [%v, %v]", client, got, earliest, latest)
		}
	}

	const unknown = "0123456789abcdef0123456789abcdef"
	requested := []string{service1, service2, service3, standalone, unknown}

	// AWS CLI.
	var got cliProtection
	cli(&got, append([]string{"get-task-protection", "--cluster", "orders", "--tasks"}, requested...)...)
	if len(got.ProtectedTasks) != 3 {
		t.Fatalf("CLI protectedTasks = %+v, want 3", got.ProtectedTasks)
	}
	for _, p := range got.ProtectedTasks {
		switch p.TaskArn {
		case service1, service2:
			if !p.ProtectionEnabled || p.ExpirationDate == nil {
				t.Errorf("CLI entry %+v, want enabled with an expirationDate", p)
				continue
			}
			expiry, err := time.Parse(time.RFC3339Nano, *p.ExpirationDate)
			if err != nil {
				t.Errorf("CLI expirationDate %q: %v", *p.ExpirationDate, err)
				continue
			}
			checkExpiry("CLI", expiry)
		case service3:
			if p.ProtectionEnabled || p.ExpirationDate != nil {
				t.Errorf("CLI entry %+v, want disabled without expirationDate", p)
			}
		default:
			t.Errorf("CLI entry for unexpected task %s", p.TaskArn)
		}
	}
	cliReasons := map[string]string{}
	for _, fl := range got.Failures {
		cliReasons[fl.Arn] = fl.Reason
	}
	if cliReasons[standalone] != "TASK_NOT_VALID" || cliReasons[unknown] != "MISSING" || len(cliReasons) != 2 {
		t.Errorf("CLI failures = %v, want TASK_NOT_VALID for the standalone task and MISSING for the unknown ID", cliReasons)
	}

	// boto3.
	results := ecsemulatortest.RunBoto3(t, url, region, []ecsemulatortest.Boto3Call{{
		Method: "get_task_protection", Params: map[string]any{"cluster": "orders", "tasks": requested},
	}})
	if results[0].Error != nil {
		t.Fatalf("boto3 error: %+v", results[0].Error)
	}
	botoEnabled := 0
	for _, raw := range results[0].Response["protectedTasks"].([]any) {
		p := raw.(map[string]any)
		if p["protectionEnabled"] == true {
			botoEnabled++
			seconds, _ := p["expirationDate"].(float64)
			checkExpiry("boto3", time.UnixMilli(int64(seconds*1000+0.5)))
		} else if _, has := p["expirationDate"]; has {
			t.Errorf("boto3 disabled entry has an expirationDate: %v", p)
		}
	}
	if botoEnabled != 2 || len(results[0].Response["failures"].([]any)) != 2 {
		t.Errorf("boto3 answer = %v, want 2 enabled entries and 2 failures", results[0].Response)
	}

	// Go SDK.
	client := ecsemulatortest.NewClient(url, region)
	ctx := context.Background()
	out, err := client.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: requested})
	if err != nil {
		t.Fatalf("Go SDK GetTaskProtection: %v", err)
	}
	sdkEnabled := 0
	for _, p := range out.ProtectedTasks {
		if p.ProtectionEnabled {
			sdkEnabled++
			if p.ExpirationDate == nil {
				t.Errorf("Go SDK entry %s enabled without expirationDate", aws.ToString(p.TaskArn))
				continue
			}
			checkExpiry("Go SDK", *p.ExpirationDate)
		} else if p.ExpirationDate != nil {
			t.Errorf("Go SDK disabled entry has expirationDate %v", p.ExpirationDate)
		}
	}
	if sdkEnabled != 2 || len(out.ProtectedTasks) != 3 || len(out.Failures) != 2 {
		t.Errorf("Go SDK answer: %d enabled of %d, %d failures; want 2 of 3 and 2", sdkEnabled, len(out.ProtectedTasks), len(out.Failures))
	}

	// Move the emulator clock past the expiry through the admin API.
	admin(t, http.MethodPost, url+"/_emulator/clock/advance", `{"seconds":61}`, nil)
	var expired cliProtection
	cli(&expired, "get-task-protection", "--cluster", "orders", "--tasks", service1, service2)
	if len(expired.ProtectedTasks) != 2 {
		t.Errorf("CLI after 61 s: %d entries, want 2", len(expired.ProtectedTasks))
	}
	for _, p := range expired.ProtectedTasks {
		if p.ProtectionEnabled || p.ExpirationDate != nil {
			t.Errorf("CLI after 61 s: %+v, want disabled without expirationDate", p)
		}
	}
	out, err = client.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: []string{service1, service2}})
	if err != nil {
		t.Fatalf("Go SDK after 61 s: %v", err)
	}
	for _, p := range out.ProtectedTasks {
		if p.ProtectionEnabled || p.ExpirationDate != nil {
			t.Errorf("Go SDK after 61 s: %s enabled=%v expiry=%v, want disabled without expiry",
				aws.ToString(p.TaskArn), p.ProtectionEnabled, p.ExpirationDate)
		}
	}
	if len(out.ProtectedTasks) != 2 {
		t.Errorf("Go SDK after 61 s: %d entries, want 2", len(out.ProtectedTasks))
	}
}

func TestAdminFaultsReachGoSDK(t *testing.T) {
	url := startEmulator(t, "--state", "example-state.yaml")
	client := ecsemulatortest.NewClient(url, region)
	ctx := context.Background()
	get := func() error {
		_, err := client.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{
			Cluster: aws.String("orders"), Tasks: []string{"0123456789abcdef0123456789abcdef"},
		})
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("GetTaskProtection on the example state: %v", err)
	}
	typed := map[string]func(error) bool{
		"AccessDeniedException":       func(err error) bool { var e *types.AccessDeniedException; return errors.As(err, &e) },
		"ClientException":             func(err error) bool { var e *types.ClientException; return errors.As(err, &e) },
		"ClusterNotFoundException":    func(err error) bool { var e *types.ClusterNotFoundException; return errors.As(err, &e) },
		"InvalidParameterException":   func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) },
		"ResourceNotFoundException":   func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
		"ServerException":             func(err error) bool { var e *types.ServerException; return errors.As(err, &e) },
		"UnsupportedFeatureException": func(err error) bool { var e *types.UnsupportedFeatureException; return errors.As(err, &e) },
	}
	for code, isType := range typed {
		admin(t, http.MethodPost, url+"/_emulator/faults",
			`{"operation":"GetTaskProtection","code":"`+code+`","count":1}`, nil)
		if err := get(); !isType(err) {
			t.Errorf("fault %s: error %v, want *types.%s", code, err, code)
		}
	}

	admin(t, http.MethodPost, url+"/_emulator/throttle", `{"operation":"GetTaskProtection","burst":1,"perSecond":0}`, nil)
	if err := get(); err != nil {
		t.Fatalf("first call within the burst: %v", err)
	}
	err := get()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" || apiErr.ErrorMessage() != "Rate exceeded" {
		t.Errorf("throttled call: error %v, want ThrottlingException \"Rate exceeded\"", err)
	}

	var requests []struct {
		Operation string `json:"operation"`
		Outcome   string `json:"outcome"`
	}
	admin(t, http.MethodGet, url+"/_emulator/requests?operation=GetTaskProtection", "", &requests)
	outcomes := map[string]int{}
	for _, r := range requests {
		outcomes[r.Outcome]++
	}
	if outcomes["OK"] != 2 || outcomes["ThrottlingException"] != 1 || len(requests) != 10 {
		t.Errorf("request log outcomes = %v over %d requests, want 2 OK, 7 faults, 1 throttled", outcomes, len(requests))
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr string
	}{
		{name: "defaults", args: nil,
			want: config{addr: defaultAddr, account: defaultAccount, region: defaultRegion, retention: time.Hour}},
		{name: "all flags", args: []string{"--addr", "127.0.0.1:0", "--state", "s.yaml", "--account", "111122223333",
			"--region", "eu-west-1", "--stopped-task-retention", "90s"},
			want: config{addr: "127.0.0.1:0", statePath: "s.yaml", account: "111122223333", region: "eu-west-1",
				retention: 90 * time.Second, accountSet: true}},
		{name: "short account", args: []string{"--account", "123"}, wantErr: `invalid --account "123"`},
		{name: "negative retention", args: []string{"--stopped-task-retention", "-1s"}, wantErr: "stopped-task-retention"},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHelpNamesUnits(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, io.Discard, &stderr); code != 0 {
		t.Errorf("--help exit code = %d, want 0", code)
	}
	for _, want := range []string{"-addr host:port", "-state path", "-account ID", "-region region", "(12 digits)",
		"-stopped-task-retention duration"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help does not contain %q:\n%s", want, stderr.String())
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout, writer := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, writer, io.Discard) }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ECS emulator listening on http://127.0.0.1:") {
		t.Fatalf("first line = %q, %v", line, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code after cancel = %d, want 0", code)
	}
}

func TestRunRejectsBadState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.yaml")
	if err := os.WriteFile(path, []byte("clusters: [{name: orders, servces: []}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--state", path}, io.Discard, &stderr); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "servces") {
		t.Errorf("log does not name the unknown field:\n%s", stderr.String())
	}
}
