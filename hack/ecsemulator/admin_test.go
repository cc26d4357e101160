package ecsemulator_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

func adminJSON(t *testing.T, f *fixture, method, path, body string, v any) int {
	t.Helper()
	resp := rawRequest(t, f, method, path, map[string]string{"Content-Type": "application/json"}, body)
	if v != nil {
		if err := json.Unmarshal([]byte(resp.text), v); err != nil {
			t.Fatalf("%s %s answered %q: %v", method, path, resp.text, err)
		}
	}
	return resp.status
}

func TestAdminClock(t *testing.T) {
	f := newFixture(t)
	var clock struct {
		Now          time.Time `json:"now"`
		EpochSeconds float64   `json:"epochSeconds"`
	}
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/advance", `{"seconds":61}`, &clock); status != http.StatusOK {
		t.Fatalf("advance status = %d", status)
	}
	if want := testStart.Add(61 * time.Second); !clock.Now.Equal(want) || !f.emulator.Clock().Now().Equal(want) {
		t.Errorf("clock after advance = %v, want %v", clock.Now, want)
	}
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/set", `{"time":"2030-01-01T00:00:00Z"}`, &clock); status != http.StatusOK {
		t.Fatalf("set status = %d", status)
	}
	if clock.EpochSeconds != 1893456000 {
		t.Errorf("epochSeconds = %v, want 1893456000", clock.EpochSeconds)
	}
	var errBody struct{ Error string }
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/advance", `{"secs":61}`, &errBody); status != http.StatusBadRequest ||
		!strings.Contains(errBody.Error, "secs") {
		t.Errorf("unknown field: %d %q, want 400 naming the field", status, errBody.Error)
	}
}

func TestAdminFaultsThrottleLatencyQuirks(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 1)
	var faults []map[string]any
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults",
		`{"operation":"GetTaskProtection","code":"AccessDeniedException","message":"no","count":1}`, &faults); status != http.StatusOK {
		t.Fatalf("POST faults status = %d", status)
	}
	if len(faults) != 1 || faults[0]["code"] != "AccessDeniedException" || faults[0]["httpStatus"] != float64(400) {
		t.Errorf("faults = %v, want the AccessDeniedException fault with status 400", faults)
	}
	_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns})
	wantCode(t, err, "AccessDeniedException")
	adminJSON(t, f, http.MethodPost, "/_emulator/faults", `{"code":"ServerException"}`, nil)
	if status := adminJSON(t, f, http.MethodDelete, "/_emulator/faults", "", &faults); status != http.StatusOK || len(faults) != 0 {
		t.Errorf("DELETE faults = %d %v, want 200 []", status, faults)
	}
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults", `{"httpStatus":200}`, nil); status != http.StatusBadRequest {
		t.Errorf("fault with status 200: %d, want 400", status)
	}

	var throttles []map[string]any
	adminJSON(t, f, http.MethodPost, "/_emulator/throttle", `{"operation":"GetTaskProtection","burst":1,"perSecond":0.5}`, &throttles)
	if len(throttles) != 1 || throttles[0]["perSecond"] != 0.5 {
		t.Errorf("throttles = %v", throttles)
	}
	for i, want := range []string{"", "ThrottlingException"} {
		_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("orders"), Tasks: arns})
		if want == "" && err != nil {
			t.Errorf("call %d: %v", i, err)
		}
		if want != "" {
			wantCode(t, err, want)
		}
	}
	adminJSON(t, f, http.MethodPost, "/_emulator/throttle", `{"operation":"GetTaskProtection","burst":0}`, &throttles)
	if len(throttles) != 0 {
		t.Errorf("throttles after burst 0 = %v, want none", throttles)
	}

	var latency struct{ Milliseconds map[string]int64 }
	adminJSON(t, f, http.MethodPost, "/_emulator/latency", `{"operation":"ListTasks","milliseconds":5}`, &latency)
	if latency.Milliseconds["ListTasks"] != 5 || f.emulator.Latencies()["ListTasks"] != 5*time.Millisecond {
		t.Errorf("latency = %v", latency.Milliseconds)
	}

	var quirks struct {
		EmptyProtectionForNeverProtected bool `json:"emptyProtectionForNeverProtected"`
	}
	adminJSON(t, f, http.MethodPost, "/_emulator/quirks", `{"emptyProtectionForNeverProtected":true}`, &quirks)
	if !quirks.EmptyProtectionForNeverProtected || !f.emulator.EmptyProtectionQuirk() {
		t.Error("quirk not switched on")
	}
}

func TestAdminStateAndRequests(t *testing.T) {
	f := newFixture(t)
	yamlState := `
account: "111122223333"
clusters:
- name: orders
  region: eu-west-1
  taskDefinitions: [{family: worker}]
  services:
  - name: worker
    tasks: [{id: 0123456789abcdef0123456789abcdef, protectedForMinutes: 30}]
`
	resp := rawRequest(t, f, http.MethodPost, "/_emulator/state", map[string]string{"Content-Type": "application/yaml"}, yamlState)
	if resp.status != http.StatusOK {
		t.Fatalf("POST state: %d %s", resp.status, resp.text)
	}
	out := f.getProtection(t, "0123456789abcdef0123456789abcdef")
	if len(out.ProtectedTasks) != 1 || !out.ProtectedTasks[0].ProtectionEnabled {
		t.Fatalf("loaded task protection = %+v, want enabled", out.ProtectedTasks)
	}
	if got, want := *out.ProtectedTasks[0].ExpirationDate, testStart.Add(30*time.Minute); !got.Equal(want) {
		t.Errorf("expirationDate = %v, want %v", got, want)
	}

	var snapshot struct {
		Clusters []struct {
			Name     string
			Services []struct {
				Tasks []struct {
					ID                  string
					ProtectedForMinutes int
				}
			}
		}
	}
	adminJSON(t, f, http.MethodGet, "/_emulator/state", "", &snapshot)
	if len(snapshot.Clusters) != 1 || snapshot.Clusters[0].Services[0].Tasks[0].ProtectedForMinutes != 30 {
		t.Errorf("snapshot = %+v, want the loaded cluster with 30 protected minutes", snapshot)
	}

	var requests []map[string]any
	adminJSON(t, f, http.MethodGet, "/_emulator/requests?operation=GetTaskProtection", "", &requests)
	if len(requests) != 1 || requests[0]["outcome"] != "OK" || requests[0]["taskCount"] != float64(1) {
		t.Errorf("requests = %v, want one OK GetTaskProtection with 1 task", requests)
	}
	var counters map[string]map[string]int
	adminJSON(t, f, http.MethodGet, "/_emulator/counters", "", &counters)
	if counters["GetTaskProtection"]["OK"] != 1 {
		t.Errorf("counters = %v", counters)
	}
	adminJSON(t, f, http.MethodDelete, "/_emulator/requests", "", nil)
	if n := f.emulator.CountRequests(""); n != 0 {
		t.Errorf("requests after DELETE = %d, want 0", n)
	}

	resp = rawRequest(t, f, http.MethodPost, "/_emulator/state", nil, "clusters: [{name: x, colour: red}]")
	if resp.status != http.StatusBadRequest || !strings.Contains(resp.text, "colour") {
		t.Errorf("unknown state field: %d %s, want 400 naming it", resp.status, resp.text)
	}
	adminJSON(t, f, http.MethodDelete, "/_emulator/state", "", nil)
	_, err := f.client.GetTaskProtection(f.ctx, &ecs.GetTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: []string{"0123456789abcdef0123456789abcdef"},
	})
	wantCode(t, err, "ClusterNotFoundException")
	if status := adminJSON(t, f, http.MethodGet, "/_emulator/nothing", "", nil); status != http.StatusNotFound {
		t.Errorf("unknown admin path: %d, want 404", status)
	}
}

func TestAdminRejectsUnknownOperation(t *testing.T) {
	tests := []struct {
		name string
		path string
		body string
	}{
		{name: "fault", path: "/_emulator/faults", body: `{"operation":"GetTaskProtecton"}`},
		{name: "throttle", path: "/_emulator/throttle", body: `{"operation":"GetTaskProtecton","burst":1}`},
		{name: "latency", path: "/_emulator/latency", body: `{"operation":"GetTaskProtecton","milliseconds":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var errBody struct{ Error string }
			status := adminJSON(t, f, http.MethodPost, tt.path, tt.body, &errBody)
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(errBody.Error, `"GetTaskProtecton"`) {
				t.Errorf("error %q does not name the operation", errBody.Error)
			}
			if !strings.Contains(errBody.Error, strings.Join(ecsemulator.Operations(), ", ")) {
				t.Errorf("error %q does not list the valid operations", errBody.Error)
			}
			if n := len(f.emulator.Faults()) + len(f.emulator.Throttles()) + len(f.emulator.Latencies()); n != 0 {
				t.Errorf("%d settings stored after a rejected request, want 0", n)
			}
		})
	}
}

func TestAdminRequiresOperation(t *testing.T) {
	f := newFixture(t)
	var errBody struct{ Error string }
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/throttle", `{"burst":1}`, &errBody); status != http.StatusBadRequest {
		t.Errorf("throttle without operation: status %d, want 400", status)
	}
	if !strings.Contains(errBody.Error, "operation is required") {
		t.Errorf("throttle without operation: error %q", errBody.Error)
	}
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/latency", `{"milliseconds":5}`, &errBody); status != http.StatusBadRequest {
		t.Errorf("latency without operation: status %d, want 400", status)
	}
	// A fault without an operation matches every operation.
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults", `{"count":1}`, nil); status != http.StatusOK {
		t.Errorf("fault without operation: status %d, want 200", status)
	}
}

func TestAdminFaultCode(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode string // empty when the request must be rejected
		wantErr  string
	}{
		{name: "code outside the ECS model", body: `{"code":"ExpiredTokenException"}`, wantCode: "ExpiredTokenException"},
		{name: "namespaced code", body: `{"code":"aws.protocols#Throttled"}`, wantCode: "aws.protocols#Throttled"},
		{name: "omitted code", body: `{}`, wantCode: "ServerException"},
		{name: "empty code", body: `{"code":""}`, wantErr: "code is empty"},
		{name: "code with a space", body: `{"code":"Access Denied"}`, wantErr: `code "Access Denied" is invalid`},
		{name: "code starting with a digit", body: `{"code":"500"}`, wantErr: `code "500" is invalid`},
		{name: "code with a newline", body: `{"code":"Bad\nCode"}`, wantErr: "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.wantCode != "" {
				var faults []ecsemulator.Fault
				if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults", tt.body, &faults); status != http.StatusOK {
					t.Fatalf("status = %d, want 200", status)
				}
				if len(faults) != 1 || faults[0].Code != tt.wantCode {
					t.Errorf("faults = %+v, want one with code %s", faults, tt.wantCode)
				}
				return
			}
			var errBody struct{ Error string }
			if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults", tt.body, &errBody); status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(errBody.Error, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", errBody.Error, tt.wantErr)
			}
			if n := len(f.emulator.Faults()); n != 0 {
				t.Errorf("%d faults stored after a rejected request, want 0", n)
			}
		})
	}
}

func TestAdminThrottleRejectsNegative(t *testing.T) {
	f := newFixture(t)
	f.emulator.SetThrottle("GetTaskProtection", 5, 1)
	for _, body := range []string{
		`{"operation":"GetTaskProtection","burst":-1,"perSecond":1}`,
		`{"operation":"GetTaskProtection","burst":5,"perSecond":-1}`,
	} {
		var errBody struct{ Error string }
		if status := adminJSON(t, f, http.MethodPost, "/_emulator/throttle", body, &errBody); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, status)
		}
		if !strings.Contains(errBody.Error, "is negative") {
			t.Errorf("%s: error %q, want it to say the value is negative", body, errBody.Error)
		}
	}
	if got := f.emulator.Throttles(); len(got) != 1 || got[0].Burst != 5 {
		t.Errorf("throttles = %+v, want the burst 5 setting unchanged", got)
	}
}

func TestAdminLatencyRange(t *testing.T) {
	tests := []struct {
		milliseconds string
		wantStatus   int
		wantErr      string
	}{
		{milliseconds: "-1", wantStatus: http.StatusBadRequest, wantErr: "is negative"},
		{milliseconds: "9223372036854775", wantStatus: http.StatusBadRequest, wantErr: "maximum is 600000"},
		{milliseconds: "600001", wantStatus: http.StatusBadRequest, wantErr: "maximum is 600000"},
		{milliseconds: "600000", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.milliseconds, func(t *testing.T) {
			f := newFixture(t)
			var errBody struct{ Error string }
			body := `{"operation":"ListTasks","milliseconds":` + tt.milliseconds + `}`
			if status := adminJSON(t, f, http.MethodPost, "/_emulator/latency", body, &errBody); status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (error %q)", status, tt.wantStatus, errBody.Error)
			}
			if tt.wantStatus == http.StatusOK {
				if got := f.emulator.Latencies()["ListTasks"]; got != 10*time.Minute {
					t.Errorf("latency = %v, want 10m", got)
				}
				return
			}
			if !strings.Contains(errBody.Error, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", errBody.Error, tt.wantErr)
			}
			if n := len(f.emulator.Latencies()); n != 0 {
				t.Errorf("%d latencies stored after a rejected request, want 0", n)
			}
		})
	}
}

func TestAdminClockAdvanceRange(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{name: "missing seconds", body: `{}`, wantErr: "seconds is required"},
		{name: "null seconds", body: `{"seconds":null}`, wantErr: "seconds is required"},
		{name: "negative seconds", body: `{"seconds":-5}`, wantErr: "is negative"},
		{name: "more than 10 years", body: `{"seconds":1e12}`, wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var errBody struct{ Error string }
			if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/advance", tt.body, &errBody); status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(errBody.Error, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", errBody.Error, tt.wantErr)
			}
			if got := f.emulator.Clock().Now(); !got.Equal(testStart) {
				t.Errorf("clock = %v after a rejected request, want %v", got, testStart)
			}
		})
	}
}

func TestAdminClockAdvanceLimits(t *testing.T) {
	f := newFixture(t)
	var clock struct{ Now time.Time }
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/advance", `{"seconds":0}`, &clock); status != http.StatusOK {
		t.Errorf("advance by 0: status %d, want 200", status)
	}
	tenYears := 10 * 365 * 24 * time.Hour
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/advance", `{"seconds":315360000}`, &clock); status != http.StatusOK {
		t.Fatalf("advance by 10 years: status %d, want 200", status)
	}
	if want := testStart.Add(tenYears); !clock.Now.Equal(want) {
		t.Errorf("clock = %v, want %v", clock.Now, want)
	}

	f.emulator.Clock().Set(time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC))
	var errBody struct{ Error string }
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/advance", `{"seconds":172800}`, &errBody); status != http.StatusBadRequest {
		t.Errorf("advance past 2200: status %d, want 400", status)
	}
	if !strings.Contains(errBody.Error, "past the latest time 2200-01-01T00:00:00Z") {
		t.Errorf("advance past 2200: error %q", errBody.Error)
	}
}

func TestAdminClockSetRange(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{name: "missing time", body: `{}`, wantErr: "time is required"},
		{name: "zero time", body: `{"time":"0001-01-01T00:00:00Z"}`, wantErr: "is the zero time"},
		{name: "before 1970", body: `{"time":"1969-12-31T23:59:59Z"}`, wantErr: "out of range"},
		{name: "after 2200", body: `{"time":"2400-01-01T00:00:00Z"}`, wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var errBody struct{ Error string }
			if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/set", tt.body, &errBody); status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(errBody.Error, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", errBody.Error, tt.wantErr)
			}
			if got := f.emulator.Clock().Now(); !got.Equal(testStart) {
				t.Errorf("clock = %v after a rejected request, want %v", got, testStart)
			}
		})
	}
}

func TestAdminClockSetEarlier(t *testing.T) {
	f := newFixture(t)
	var clock struct{ Now time.Time }
	if status := adminJSON(t, f, http.MethodPost, "/_emulator/clock/set", `{"time":"2020-01-01T00:00:00Z"}`, &clock); status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if want := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC); !clock.Now.Equal(want) {
		t.Errorf("clock = %v, want %v", clock.Now, want)
	}
}

func TestAdminIndexSortsOperations(t *testing.T) {
	f := newFixture(t)
	var index struct{ Operations []string }
	if status := adminJSON(t, f, http.MethodGet, "/_emulator/", "", &index); status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if !slices.IsSorted(index.Operations) {
		t.Errorf("operations = %v, want them sorted", index.Operations)
	}
	if len(index.Operations) != 15 {
		t.Errorf("operations = %d, want 15", len(index.Operations))
	}
	if got := ecsemulator.Operations(); !slices.IsSorted(got) {
		t.Errorf("Operations() = %v, want it sorted", got)
	}
}

func TestAdminFaultClusterAndLimits(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantCluster string // empty when the request must be rejected
		wantErr     string
	}{
		{name: "cluster ARN is reduced to its name", body: `{"cluster":"arn:aws:ecs:eu-west-1:111122223333:cluster/orders"}`, wantCluster: "orders"},
		{name: "cluster name is kept", body: `{"cluster":"orders"}`, wantCluster: "orders"},
		{name: "ARN of another resource", body: `{"cluster":"arn:aws:ecs:eu-west-1:111122223333:service/orders/worker"}`, wantErr: "is invalid: use a cluster name or a cluster ARN"},
		{name: "negative count", body: `{"count":-2}`, wantErr: "count -2 is invalid"},
		{name: "probability above 1", body: `{"probability":1.5}`, wantErr: "probability 1.5 is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.wantCluster != "" {
				var faults []ecsemulator.Fault
				if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults", tt.body, &faults); status != http.StatusOK {
					t.Fatalf("status = %d, want 200", status)
				}
				if len(faults) != 1 || faults[0].Cluster != tt.wantCluster {
					t.Errorf("faults = %+v, want one for cluster %s", faults, tt.wantCluster)
				}
				return
			}
			var errBody struct{ Error string }
			if status := adminJSON(t, f, http.MethodPost, "/_emulator/faults", tt.body, &errBody); status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(errBody.Error, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", errBody.Error, tt.wantErr)
			}
		})
	}
}
