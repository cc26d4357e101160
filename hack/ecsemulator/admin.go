package ecsemulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// maxAdminBodyBytes bounds an admin request body (state documents included).
const maxAdminBodyBytes = 10 << 20

// Limits of the admin API. The clock range keeps ECS timestamps (epoch
// seconds) positive. It also keeps the offset of a clock that follows the
// real time within time.Duration (about 292 years), because Clock.Set would
// saturate a larger offset and Clock.Advance would wrap it, both silently.
const (
	maxLatency      = 10 * time.Minute
	maxClockAdvance = 10 * 365 * 24 * time.Hour
)

var (
	minClockTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxClockTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// faultCodePattern matches an error code that clients can parse from
// __type and X-Amzn-ErrorType, such as ExpiredTokenException or
// aws.protocols#Code.
var faultCodePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.#:]*$`)

// adminMux routes the control API. Every response is JSON, and errors are
// {"error": "..."} with status 400, 404 or 405.
func (e *Emulator) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/{$}", e.adminIndex)
	mux.HandleFunc("GET /_emulator/requests", e.adminRequests)
	mux.HandleFunc("DELETE /_emulator/requests", func(w http.ResponseWriter, r *http.Request) {
		e.ResetRequests()
		writeAdmin(w, http.StatusOK, map[string]string{"status": "request log cleared"})
	})
	mux.HandleFunc("GET /_emulator/counters", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, e.Counters())
	})

	mux.HandleFunc("GET /_emulator/clock", e.adminClock)
	mux.HandleFunc("POST /_emulator/clock/advance", e.adminClockAdvance)
	mux.HandleFunc("POST /_emulator/clock/set", e.adminClockSet)

	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, e.Faults())
	})
	mux.HandleFunc("POST /_emulator/faults", e.adminAddFault)
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		e.ClearFaults()
		writeAdmin(w, http.StatusOK, e.Faults())
	})

	mux.HandleFunc("GET /_emulator/throttle", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, e.Throttles())
	})
	mux.HandleFunc("POST /_emulator/throttle", e.adminThrottle)

	mux.HandleFunc("GET /_emulator/latency", e.adminGetLatency)
	mux.HandleFunc("POST /_emulator/latency", e.adminSetLatency)

	mux.HandleFunc("GET /_emulator/quirks", e.adminGetQuirks)
	mux.HandleFunc("POST /_emulator/quirks", e.adminSetQuirks)

	mux.HandleFunc("GET /_emulator/state", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, e.Snapshot())
	})
	mux.HandleFunc("POST /_emulator/state", e.adminLoadState)
	mux.HandleFunc("DELETE /_emulator/state", func(w http.ResponseWriter, r *http.Request) {
		e.ResetState()
		writeAdmin(w, http.StatusOK, e.Snapshot())
	})

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, "no admin endpoint %s %s; GET %s lists them", r.Method, r.URL.Path, AdminPrefix)
	})
	return mux
}

// adminEndpoints documents the control API for GET /_emulator/.
var adminEndpoints = []string{
	"GET /_emulator/requests[?operation=NAME]  request log, oldest first",
	"DELETE /_emulator/requests  clear the request log and counters",
	"GET /_emulator/counters  calls per operation and outcome",
	"GET /_emulator/clock  current emulator time",
	`POST /_emulator/clock/advance {"seconds":61}  move the clock forward by up to 10 years`,
	`POST /_emulator/clock/set {"time":"2030-01-01T00:00:00Z"}  set the clock to a time from 1970 to 2200`,
	"GET /_emulator/faults  injected faults in force",
	`POST /_emulator/faults {"operation","cluster","code","message","httpStatus","count","probability"}`,
	"DELETE /_emulator/faults  remove every fault",
	"GET /_emulator/throttle  token buckets in force",
	`POST /_emulator/throttle {"operation":"GetTaskProtection","burst":5,"perSecond":1}  burst 0 removes`,
	"GET /_emulator/latency  added delay per operation",
	`POST /_emulator/latency {"operation":"GetTaskProtection","milliseconds":250}  0 removes, at most 600000`,
	"GET /_emulator/quirks  behaviour switches",
	`POST /_emulator/quirks {"emptyProtectionForNeverProtected":true}`,
	"GET /_emulator/state  running resources in the --state format",
	"POST /_emulator/state  load a YAML or JSON state document",
	"DELETE /_emulator/state  remove every resource",
}

func (e *Emulator) adminIndex(w http.ResponseWriter, r *http.Request) {
	writeAdmin(w, http.StatusOK, map[string]any{
		"account":    e.account,
		"endpoints":  adminEndpoints,
		"operations": Operations(),
	})
}

func (e *Emulator) adminRequests(w http.ResponseWriter, r *http.Request) {
	requests := e.Requests()
	if op := r.URL.Query().Get("operation"); op != "" {
		filtered := []Request{}
		for _, req := range requests {
			if req.Operation == op {
				filtered = append(filtered, req)
			}
		}
		requests = filtered
	}
	writeAdmin(w, http.StatusOK, emptyIfNil(requests))
}

type clockAnswer struct {
	Now          time.Time `json:"now"`
	EpochSeconds float64   `json:"epochSeconds"`
}

func (e *Emulator) clockAnswer() clockAnswer {
	now := e.clock.Now()
	return clockAnswer{Now: now.UTC(), EpochSeconds: float64(now.UnixMilli()) / 1000}
}

func (e *Emulator) adminClock(w http.ResponseWriter, r *http.Request) {
	writeAdmin(w, http.StatusOK, e.clockAnswer())
}

func (e *Emulator) adminClockAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if !readAdmin(w, r, &req) {
		return
	}
	if req.Seconds == nil {
		adminError(w, http.StatusBadRequest, `seconds is required: a number such as {"seconds":61}`)
		return
	}
	seconds := *req.Seconds
	if seconds < 0 {
		adminError(w, http.StatusBadRequest, "seconds %v is negative: the clock only moves forward. "+
			"POST %sclock/set sets an earlier time", seconds, AdminPrefix)
		return
	}
	if seconds > maxClockAdvance.Seconds() {
		adminError(w, http.StatusBadRequest, "seconds %v is out of range: advance by at most %.0f seconds (10 years) at a time",
			seconds, maxClockAdvance.Seconds())
		return
	}
	d := time.Duration(seconds * float64(time.Second))
	if target := e.clock.Now().Add(d); target.After(maxClockTime) {
		adminError(w, http.StatusBadRequest, "seconds %v would move the clock to %s, past the latest time %s",
			seconds, target.UTC().Format(time.RFC3339), maxClockTime.Format(time.RFC3339))
		return
	}
	e.clock.Advance(d)
	writeAdmin(w, http.StatusOK, e.clockAnswer())
}

func (e *Emulator) adminClockSet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Time *time.Time `json:"time"`
	}
	if !readAdmin(w, r, &req) {
		return
	}
	if req.Time == nil {
		adminError(w, http.StatusBadRequest, `time is required: an RFC 3339 time such as {"time":"2030-01-01T00:00:00Z"}`)
		return
	}
	t := *req.Time
	if t.IsZero() {
		adminError(w, http.StatusBadRequest, "time %s is the zero time: use a time from %s to %s",
			t.Format(time.RFC3339), minClockTime.Format(time.RFC3339), maxClockTime.Format(time.RFC3339))
		return
	}
	if t.Before(minClockTime) || t.After(maxClockTime) {
		adminError(w, http.StatusBadRequest, "time %s is out of range: use a time from %s to %s",
			t.Format(time.RFC3339), minClockTime.Format(time.RFC3339), maxClockTime.Format(time.RFC3339))
		return
	}
	e.clock.Set(t)
	writeAdmin(w, http.StatusOK, e.clockAnswer())
}

// faultRequest is the body of POST /_emulator/faults. Code is a pointer, so
// that an explicit empty code is rejected while an omitted one defaults to
// ServerException.
type faultRequest struct {
	Fault
	Code *string `json:"code,omitempty"`
}

func (e *Emulator) adminAddFault(w http.ResponseWriter, r *http.Request) {
	var req faultRequest
	if !readAdmin(w, r, &req) {
		return
	}
	f := req.Fault
	if f.Operation != "" {
		if err := checkOperation(f.Operation); err != nil {
			adminError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	if req.Code != nil {
		if err := checkFaultCode(*req.Code); err != nil {
			adminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		f.Code = *req.Code
	}
	if f.HTTPStatus != 0 && !validFaultStatus(f.HTTPStatus) {
		adminError(w, http.StatusBadRequest, "httpStatus %d is invalid: use an error status from 400 to 599", f.HTTPStatus)
		return
	}
	if f.Cluster != "" {
		// Requests are matched by short cluster name, so a cluster ARN is
		// reduced to its name here rather than never matching.
		name, _, _, err := clusterNameFromRef(f.Cluster)
		if err != nil || !namePattern.MatchString(name) {
			adminError(w, http.StatusBadRequest, "cluster %q is invalid: use a cluster name or a cluster ARN", f.Cluster)
			return
		}
		f.Cluster = name
	}
	if f.Count < 0 {
		adminError(w, http.StatusBadRequest, "count %d is invalid: use 0 (no limit) or more", f.Count)
		return
	}
	if f.Probability < 0 || f.Probability > 1 {
		adminError(w, http.StatusBadRequest, "probability %g is invalid: use a value from 0 to 1", f.Probability)
		return
	}
	e.InjectFault(f)
	writeAdmin(w, http.StatusOK, e.Faults())
}

func (e *Emulator) adminThrottle(w http.ResponseWriter, r *http.Request) {
	var req ThrottleSetting
	if !readAdmin(w, r, &req) {
		return
	}
	if err := checkOperation(req.Operation); err != nil {
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Burst < 0 {
		adminError(w, http.StatusBadRequest, "burst %d is negative: use 0 to remove the throttle or a positive number of requests",
			req.Burst)
		return
	}
	if req.PerSecond < 0 {
		adminError(w, http.StatusBadRequest, "perSecond %v is negative: use 0 for a bucket that never refills or a positive rate",
			req.PerSecond)
		return
	}
	e.SetThrottle(req.Operation, req.Burst, req.PerSecond)
	writeAdmin(w, http.StatusOK, e.Throttles())
}

func (e *Emulator) adminGetLatency(w http.ResponseWriter, r *http.Request) {
	out := map[string]int64{}
	for op, d := range e.Latencies() {
		out[op] = d.Milliseconds()
	}
	writeAdmin(w, http.StatusOK, map[string]any{"milliseconds": out})
}

func (e *Emulator) adminSetLatency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operation    string `json:"operation"`
		Milliseconds int64  `json:"milliseconds"`
	}
	if !readAdmin(w, r, &req) {
		return
	}
	if err := checkOperation(req.Operation); err != nil {
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Milliseconds < 0 {
		adminError(w, http.StatusBadRequest, "milliseconds %d is negative: use 0 to remove the delay", req.Milliseconds)
		return
	}
	if req.Milliseconds > maxLatency.Milliseconds() {
		adminError(w, http.StatusBadRequest, "milliseconds %d is out of range: the maximum is %d (10 minutes)",
			req.Milliseconds, maxLatency.Milliseconds())
		return
	}
	e.SetLatency(req.Operation, time.Duration(req.Milliseconds)*time.Millisecond)
	e.adminGetLatency(w, r)
}

type quirks struct {
	EmptyProtectionForNeverProtected *bool `json:"emptyProtectionForNeverProtected"`
}

func (e *Emulator) adminGetQuirks(w http.ResponseWriter, r *http.Request) {
	on := e.EmptyProtectionQuirk()
	writeAdmin(w, http.StatusOK, quirks{EmptyProtectionForNeverProtected: &on})
}

func (e *Emulator) adminSetQuirks(w http.ResponseWriter, r *http.Request) {
	var req quirks
	if !readAdmin(w, r, &req) {
		return
	}
	if req.EmptyProtectionForNeverProtected != nil {
		e.SetEmptyProtectionQuirk(*req.EmptyProtectionForNeverProtected)
	}
	e.adminGetQuirks(w, r)
}

func (e *Emulator) adminLoadState(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBodyBytes))
	if err != nil {
		adminError(w, http.StatusBadRequest, "failed to read the state document: %v", err)
		return
	}
	s, err := ParseState(body)
	if err == nil {
		err = e.LoadState(s)
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeAdmin(w, http.StatusOK, e.Snapshot())
}

// checkOperation returns an error naming operation unless the emulator
// serves it. Settings for other names would never match a request.
func checkOperation(operation string) error {
	if operation == "" {
		return fmt.Errorf("operation is required: one of %s", strings.Join(Operations(), ", "))
	}
	if _, ok := operations[operation]; !ok {
		return fmt.Errorf("operation %q is not an ECS operation the emulator serves: use one of %s",
			operation, strings.Join(Operations(), ", "))
	}
	return nil
}

// checkFaultCode returns an error unless code can be sent as an error code.
// Any such code is accepted, including codes ECS never sends.
func checkFaultCode(code string) error {
	if code == "" {
		return errors.New("code is empty: omit it for ServerException or name an error code such as ThrottlingException")
	}
	if !faultCodePattern.MatchString(code) {
		return fmt.Errorf("code %q is invalid: an error code starts with a letter and contains only "+
			"letters, digits, '.', '#' and ':', such as ExpiredTokenException", code)
	}
	return nil
}

// readAdmin decodes a JSON body strictly; an empty body decodes as {}.
func readAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBodyBytes))
	if err != nil {
		adminError(w, http.StatusBadRequest, "failed to read the request body: %v", err)
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, "invalid JSON body: %v", err)
		return false
	}
	if dec.More() {
		adminError(w, http.StatusBadRequest, "invalid JSON body: %v", errors.New("trailing data after the object"))
		return false
	}
	return true
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func adminError(w http.ResponseWriter, status int, format string, args ...any) {
	writeAdmin(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}
