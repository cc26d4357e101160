package ecsemulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const testAuthorization = "AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/20261204/eu-west-1/ecs/aws4_request, " +
	"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123456789abcdef"

type rawResponse struct {
	status int
	header http.Header
	text   string
}

// errorBody decodes an AWS JSON error body.
func (r rawResponse) errorBody(t *testing.T) (code, message string) {
	t.Helper()
	var body struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.text), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.text, err)
	}
	return body.Type, body.Message
}

// rawRequest sends one HTTP request to the fixture's server.
func rawRequest(t *testing.T, f *fixture, method, path string, header map[string]string, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, f.server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, text: string(data)}
}

// rawECS sends a signed-looking ECS request for operation with body.
func rawECS(t *testing.T, f *fixture, operation, body string) rawResponse {
	t.Helper()
	return rawRequest(t, f, http.MethodPost, "/", map[string]string{
		"Content-Type":  "application/x-amz-json-1.1",
		"X-Amz-Target":  "AmazonEC2ContainerServiceV20141113." + operation,
		"Authorization": testAuthorization,
	}, body)
}

func TestUnknownOperation(t *testing.T) {
	f := newFixture(t)
	resp := rawECS(t, f, "GetTaskProtections", `{}`)
	if resp.status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.status)
	}
	code, message := resp.errorBody(t)
	if code != "UnknownOperationException" {
		t.Errorf("__type = %s, want UnknownOperationException", code)
	}
	if !strings.Contains(message, "AmazonEC2ContainerServiceV20141113.GetTaskProtections") {
		t.Errorf("message %q does not name the target", message)
	}
	if got := resp.header.Get("X-Amzn-ErrorType"); got != "UnknownOperationException" {
		t.Errorf("X-Amzn-ErrorType = %q", got)
	}
	if got := f.emulator.Requests(); len(got) != 1 || got[0].Outcome != "UnknownOperationException" {
		t.Errorf("request log = %+v, want one UnknownOperationException entry", got)
	}

	resp = rawRequest(t, f, http.MethodPost, "/", map[string]string{
		"X-Amz-Target": "DynamoDB_20120810.ListTables", "Authorization": testAuthorization,
	}, `{}`)
	if code, _ := resp.errorBody(t); code != "UnknownOperationException" {
		t.Errorf("another service's target: __type = %s, want UnknownOperationException", code)
	}
}

func TestMissingAuthorization(t *testing.T) {
	f := newFixture(t)
	resp := rawRequest(t, f, http.MethodPost, "/", map[string]string{
		"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListTasks",
	}, `{}`)
	if resp.status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.status)
	}
	code, message := resp.errorBody(t)
	if code != "MissingAuthenticationTokenException" || message != "Missing Authentication Token" {
		t.Errorf("error = %s %q, want MissingAuthenticationTokenException %q", code, message, "Missing Authentication Token")
	}
	resp = rawRequest(t, f, http.MethodPost, "/", map[string]string{
		"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListTasks", "Authorization": "Bearer x",
	}, `{}`)
	if code, _ := resp.errorBody(t); code != "IncompleteSignatureException" {
		t.Errorf("non-SigV4 Authorization: __type = %s, want IncompleteSignatureException", code)
	}
}

func TestProtocolEnvelope(t *testing.T) {
	f := newFixture(t)
	f.serviceTasks(t, 1)

	resp := rawECS(t, f, "ListTasks", `{"cluster": "orders"`)
	if code, _ := resp.errorBody(t); code != "SerializationException" || resp.status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %s, want 400 SerializationException", resp.status, code)
	}
	resp = rawECS(t, f, "ListTasks", `{"cluster": 5}`)
	if code, _ := resp.errorBody(t); code != "SerializationException" {
		t.Errorf("wrong member type: __type = %s, want SerializationException", code)
	}

	// An empty body means {}: DescribeClusters then describes "default".
	resp = rawECS(t, f, "DescribeClusters", "")
	if resp.status != http.StatusOK {
		t.Fatalf("empty body: status %d, body %s", resp.status, resp.text)
	}
	if !strings.Contains(resp.text, `"reason":"MISSING"`) || !strings.Contains(resp.text, "cluster/default") {
		t.Errorf("empty body answer %s, want a MISSING failure for cluster/default", resp.text)
	}

	// Every response carries these headers.
	if _, err := uuid.Parse(resp.header.Get("x-amzn-RequestId")); err != nil {
		t.Errorf("x-amzn-RequestId %q is not a UUID", resp.header.Get("x-amzn-RequestId"))
	}
	date, err := http.ParseTime(resp.header.Get("Date"))
	if err != nil || !date.Equal(testStart.Truncate(time.Second)) {
		t.Errorf("Date = %q, want the emulator time %v", resp.header.Get("Date"), testStart)
	}
	if got := resp.header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", got)
	}

	// Any path serves the ECS API, so a base endpoint with a path works.
	resp = rawRequest(t, f, http.MethodPost, "/ecs/", map[string]string{
		"X-Amz-Target":  "AmazonEC2ContainerServiceV20141113.ListTasks",
		"Authorization": testAuthorization,
	}, `{"cluster":"orders"}`)
	if resp.status != http.StatusOK || !strings.Contains(resp.text, "taskArns") {
		t.Errorf("path prefix: %d %s, want the ListTasks answer", resp.status, resp.text)
	}

	// Timestamps are numbers of epoch seconds with milliseconds.
	resp = rawECS(t, f, "ListTasks", `{"cluster":"orders"}`)
	var list struct {
		TaskArns []string `json:"taskArns"`
	}
	if err := json.Unmarshal([]byte(resp.text), &list); err != nil || len(list.TaskArns) != 1 {
		t.Fatalf("ListTasks = %s, %v", resp.text, err)
	}
	resp = rawECS(t, f, "DescribeTasks", `{"cluster":"orders","tasks":["`+list.TaskArns[0]+`"]}`)
	if !regexp.MustCompile(`"createdAt":1796378400\.123[,}]`).MatchString(resp.text) {
		t.Errorf("DescribeTasks body %s has no createdAt of 1796378400.123", resp.text)
	}
}

func TestAdminAndECSPathsStaySeparate(t *testing.T) {
	f := newFixture(t)
	// An admin path responds without X-Amz-Target or Authorization.
	resp := rawRequest(t, f, http.MethodGet, "/_emulator/clock", nil, "")
	if resp.status != http.StatusOK || !strings.Contains(resp.text, "2026-12-04T10:00:00.123Z") {
		t.Errorf("admin clock: %d %s", resp.status, resp.text)
	}
	// An ECS request sent to an admin path is not dispatched to ECS.
	resp = rawRequest(t, f, http.MethodPost, "/_emulator/requests", map[string]string{
		"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListTasks", "Authorization": testAuthorization,
	}, `{}`)
	if resp.status != http.StatusMethodNotAllowed && resp.status != http.StatusNotFound {
		t.Errorf("ECS request on an admin path: status %d, want 404 or 405", resp.status)
	}
	if n := f.emulator.CountRequests(""); n != 0 {
		t.Errorf("ECS request log has %d entries after admin calls, want 0", n)
	}
	// An ECS path without X-Amz-Target is not an admin request.
	resp = rawRequest(t, f, http.MethodPost, "/clock/advance", map[string]string{"Authorization": testAuthorization}, `{"seconds":61}`)
	if code, _ := resp.errorBody(t); code != "UnknownOperationException" {
		t.Errorf("ECS path without target: __type = %s, want UnknownOperationException", code)
	}
	if !f.emulator.Clock().Now().Equal(testStart) {
		t.Error("a request outside /_emulator/ moved the clock")
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	body := `{"cluster":"` + strings.Repeat("x", 10<<20) + `"}`
	resp := rawECS(t, f, "ListTasks", body)
	if resp.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", resp.status)
	}
	if code, _ := resp.errorBody(t); code != "RequestEntityTooLargeException" {
		t.Errorf("__type = %s, want RequestEntityTooLargeException", code)
	}
	if got := resp.header.Get("X-Amzn-ErrorType"); got != "RequestEntityTooLargeException" {
		t.Errorf("X-Amzn-ErrorType = %q", got)
	}
}

func TestContentTypeNotChecked(t *testing.T) {
	// Pins the documented behaviour: a JSON body runs whatever media type the
	// request names.
	f := newFixture(t)
	resp := rawRequest(t, f, http.MethodPost, "/", map[string]string{
		"Content-Type":  "text/plain",
		"X-Amz-Target":  "AmazonEC2ContainerServiceV20141113.DescribeClusters",
		"Authorization": testAuthorization,
	}, `{}`)
	if resp.status != http.StatusOK {
		t.Errorf("text/plain request: status %d %s, want 200", resp.status, resp.text)
	}
}
