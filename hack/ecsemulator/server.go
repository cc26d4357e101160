package ecsemulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// targetPrefix is the X-Amz-Target prefix of the ECS API (service version
// 2014-11-13).
const targetPrefix = "AmazonEC2ContainerServiceV20141113."

// jsonContentType is the AWS JSON 1.1 media type.
const jsonContentType = "application/x-amz-json-1.1"

// maxBodyBytes bounds a request body; real ECS requests are far smaller.
const maxBodyBytes = 10 << 20

// AdminPrefix is the path prefix of the emulator's control API. ECS requests
// never use it, so the two cannot be confused.
const AdminPrefix = "/_emulator/"

// credentialPattern reads the credential scope of a SigV4 Authorization
// header: Credential=AKID/DATE/REGION/SERVICE/aws4_request.
var credentialPattern = regexp.MustCompile(
	`Credential=[^/,\s]+/[0-9]{8}/([^/,\s]+)/([^/,\s]+)/aws4_request`)

// Options configures an Emulator. The zero value is usable.
type Options struct {
	// Account is the 12-digit account ID in ARNs; default "123456789012".
	Account string
	// DefaultRegion is the region of state entries without one; default
	// "us-east-1".
	DefaultRegion string
	// Clock drives protection expiry, retention and throttling; nil means
	// NewClock(time.Now).
	Clock *Clock
	// StoppedTaskRetention is how long a stopped task stays visible in
	// DescribeTasks and ListTasks before it is forgotten; default 1h, about
	// what ECS keeps.
	StoppedTaskRetention time.Duration
	// RandomSeed seeds the generator behind Fault.Probability; 0 picks a
	// random seed.
	RandomSeed uint64
	// MaxRequestLog bounds the request log (oldest entries are dropped);
	// default 10000. Counters keep counting past it.
	MaxRequestLog int
	// Sleep waits out injected latency; nil sleeps on a real timer and stops
	// early when the request is cancelled. Tests replace it to observe delays
	// without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Emulator is an in-memory ECS control plane that serves the ECS API over the AWS
// JSON 1.1 protocol. It implements http.Handler: paths under AdminPrefix go to the
// control API, all others to the ECS API. It is safe for concurrent use.
type Emulator struct {
	account       string
	defaultRegion string
	clock         *Clock
	retention     time.Duration
	maxLog        int
	sleep         func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex // guards every field below
	regions  map[string]*regionState
	nextSeq  int64
	controls controls
	log      []Request
	counts   map[string]map[string]int // operation to outcome to count
	admin    *http.ServeMux
}

// New returns an emulator with no clusters.
func New(opts Options) *Emulator {
	e := &Emulator{
		account:       opts.Account,
		defaultRegion: opts.DefaultRegion,
		clock:         opts.Clock,
		retention:     opts.StoppedTaskRetention,
		maxLog:        opts.MaxRequestLog,
		sleep:         opts.Sleep,
		regions:       map[string]*regionState{},
		counts:        map[string]map[string]int{},
	}
	if e.account == "" {
		e.account = "123456789012"
	}
	if e.defaultRegion == "" {
		e.defaultRegion = "us-east-1"
	}
	if e.clock == nil {
		e.clock = NewClock(time.Now)
	}
	if e.retention <= 0 {
		e.retention = time.Hour
	}
	if e.maxLog <= 0 {
		e.maxLog = 10000
	}
	if e.sleep == nil {
		e.sleep = sleepContext
	}
	seed := opts.RandomSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	e.controls = newControls(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
	e.admin = e.adminMux()
	return e
}

// Clock returns the clock the emulator reads.
func (e *Emulator) Clock() *Clock { return e.clock }

// Account returns the account ID used in ARNs.
func (e *Emulator) Account() string { return e.account }

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP dispatches admin paths to the control API and everything else to
// the ECS API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, AdminPrefix) || r.URL.Path == strings.TrimSuffix(AdminPrefix, "/") {
		e.admin.ServeHTTP(w, r)
		return
	}
	e.serveECS(w, r)
}

// call is one parsed ECS request.
type call struct {
	operation string
	region    string
	cluster   string
	taskCount int
	body      []byte
}

type operationHandler func(e *Emulator, rs *regionState, c *call) (any, *apiError)

// operations maps each supported ECS operation to its handler.
var operations = map[string]operationHandler{
	"CreateCluster":          (*Emulator).createCluster,
	"DescribeClusters":       (*Emulator).describeClusters,
	"DeleteCluster":          (*Emulator).deleteCluster,
	"RegisterTaskDefinition": (*Emulator).registerTaskDefinition,
	"DescribeTaskDefinition": (*Emulator).describeTaskDefinition,
	"CreateService":          (*Emulator).createService,
	"UpdateService":          (*Emulator).updateService,
	"DeleteService":          (*Emulator).deleteService,
	"DescribeServices":       (*Emulator).describeServices,
	"RunTask":                (*Emulator).runTask,
	"StopTask":               (*Emulator).stopTaskOperation,
	"ListTasks":              (*Emulator).listTasks,
	"DescribeTasks":          (*Emulator).describeTasks,
	"GetTaskProtection":      (*Emulator).getTaskProtection,
	"UpdateTaskProtection":   (*Emulator).updateTaskProtection,
}

// Operations returns the names of the ECS operations the emulator serves,
// sorted.
func Operations() []string {
	return slices.Sorted(maps.Keys(operations))
}

// serveECS runs one ECS request and records it exactly once: with its error
// code when the envelope is invalid, with OutcomeCanceled when the client
// gives up during injected latency, and otherwise with the result of the
// operation.
func (e *Emulator) serveECS(w http.ResponseWriter, r *http.Request) {
	arrived := e.clock.Now()
	c, apiErr := e.parseCall(r)
	if apiErr != nil {
		e.mu.Lock()
		e.record(c, arrived, apiErr.code)
		e.mu.Unlock()
		e.writeError(w, apiErr)
		return
	}

	e.mu.Lock()
	delay := e.controls.latency[c.operation]
	e.mu.Unlock()
	if delay > 0 {
		if err := e.sleep(r.Context(), delay); err != nil {
			// The client cancelled the request, so no response is written
			// and the operation does not run.
			e.mu.Lock()
			e.record(c, arrived, OutcomeCanceled)
			e.mu.Unlock()
			return
		}
	}

	e.mu.Lock()
	result, apiErr := e.execute(c)
	outcome := OutcomeOK
	if apiErr != nil {
		outcome = apiErr.code
	}
	e.record(c, arrived, outcome)
	e.mu.Unlock()

	if apiErr != nil {
		e.writeError(w, apiErr)
		return
	}
	e.writeJSON(w, http.StatusOK, result)
}

// parseCall checks the protocol envelope in the order AWS does:
// authentication, operation, then body. The returned call carries whatever
// was known when a check failed, for the request log.
func (e *Emulator) parseCall(r *http.Request) (*call, *apiError) {
	c := &call{operation: strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)}
	if r.Method != http.MethodPost {
		return c, newError(CodeUnknownOperation,
			"ECS API requests use POST with an X-Amz-Target header; got %s %s", r.Method, r.URL.Path)
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return c, newError(CodeMissingAuthToken, "Missing Authentication Token")
	}
	m := credentialPattern.FindStringSubmatch(auth)
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || m == nil {
		return c, newError(CodeIncompleteSignature,
			"Authorization header requires a SigV4 'Credential' parameter of the form "+
				"Credential=ACCESS_KEY/YYYYMMDD/REGION/ecs/aws4_request.")
	}
	c.region = m[1]
	if m[2] != "ecs" {
		return c, newError(CodeInvalidSignature,
			"Credential should be scoped to correct service: 'ecs'.")
	}

	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		return c, newError(CodeUnknownOperation, "Missing X-Amz-Target header.")
	}
	if _, known := operations[c.operation]; !known || !strings.HasPrefix(target, targetPrefix) {
		return c, newError(CodeUnknownOperation,
			"Operation %s is not supported by this ECS endpoint.", strconv.Quote(target))
	}

	// NOTE: Content-Type is not checked, so a JSON body sent as text/plain
	// runs. The AWS CLI, boto3 and aws-sdk-go-v2 all send
	// application/x-amz-json-1.1, and how ECS responds to another media type
	// is not documented.
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return c, newError(CodeRequestEntityTooLarge, "Request body is larger than %d bytes.", maxBodyBytes)
		}
		return c, newError(CodeSerialization, "Failed to read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	c.body = body
	var envelope map[string]json.RawMessage
	if err := json.Unmarshal(body, &envelope); err != nil {
		return c, newError(CodeSerialization, "The request body is not a valid JSON object: %v", err)
	}
	c.cluster, c.taskCount = summarize(c.operation, envelope)
	return c, nil
}

// summarize extracts the cluster name and the number of tasks a request
// names, for the request log and for faults that target one cluster.
// Members of the wrong type are left for the operation to reject.
func summarize(operation string, envelope map[string]json.RawMessage) (string, int) {
	var cluster string
	if operation == "CreateCluster" {
		_ = json.Unmarshal(envelope["clusterName"], &cluster)
	} else if operation != "RegisterTaskDefinition" && operation != "DescribeTaskDefinition" &&
		operation != "DescribeClusters" {
		_ = json.Unmarshal(envelope["cluster"], &cluster)
		if cluster == "" {
			cluster = "default"
		}
	}
	if name, _, _, err := clusterNameFromRef(cluster); err == nil {
		cluster = name
	}

	taskCount := 0
	var tasks []json.RawMessage
	if json.Unmarshal(envelope["tasks"], &tasks) == nil {
		taskCount = len(tasks)
	}
	if _, ok := envelope["task"]; ok {
		taskCount = 1
	}
	if operation == "RunTask" {
		var count int
		if json.Unmarshal(envelope["count"], &count) != nil || count == 0 {
			count = 1
		}
		taskCount = count
	}
	return cluster, taskCount
}

// execute runs the throttle, the fault injector and the operation. The
// caller holds e.mu.
func (e *Emulator) execute(c *call) (any, *apiError) {
	now := e.clock.Now()
	if !e.controls.allow(c.region, c.operation, now) {
		return nil, newError(CodeThrottling, "Rate exceeded")
	}
	if err := e.controls.injectedFault(c.operation, c.cluster); err != nil {
		return nil, err
	}
	rs := e.region(c.region)
	e.purgeStopped(rs, now)
	return operations[c.operation](e, rs, c)
}

// decode unmarshals the request body into v. A type mismatch returns
// SerializationException, as AWS does.
func decode(c *call, v any) *apiError {
	if err := json.Unmarshal(c.body, v); err != nil {
		return newError(CodeSerialization, "Invalid request body for %s: %v", c.operation, err)
	}
	return nil
}

func (e *Emulator) writeHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("x-amzn-RequestId", uuid.NewString())
	h.Set("Date", e.clock.Now().UTC().Format(http.TimeFormat))
}

func (e *Emulator) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshalJSON(v)
	if err != nil {
		e.writeError(w, newError(CodeInternalFailure, "Failed to encode the response: %v", err))
		return
	}
	e.writeHeaders(w)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError sends the AWS JSON 1.1 error shape. The code goes both into the
// body's __type, which botocore reads, and into X-Amzn-ErrorType, which the
// Go SDK reads first.
func (e *Emulator) writeError(w http.ResponseWriter, apiErr *apiError) {
	body, _ := marshalJSON(map[string]string{"__type": apiErr.code, "message": apiErr.message})
	e.writeHeaders(w)
	w.Header().Set("X-Amzn-ErrorType", apiErr.code)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(apiErr.status)
	_, _ = w.Write(body)
}

// region returns the state of a region, creating it on first use. The
// caller holds e.mu.
func (e *Emulator) region(name string) *regionState {
	rs := e.regions[name]
	if rs == nil {
		rs = &regionState{
			name:            name,
			clusters:        map[string]*cluster{},
			taskDefinitions: map[string][]*taskDefinition{},
		}
		e.regions[name] = rs
	}
	return rs
}

// marshalJSON encodes v without escaping <, > and &, which AWS does not
// escape either.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
