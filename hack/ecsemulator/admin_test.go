package ecsemulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
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
