package ecsemulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"
)

// maxAdminBodyBytes bounds an admin request body (state documents included).
const maxAdminBodyBytes = 10 << 20

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
	`POST /_emulator/clock/advance {"seconds":61}  move the clock forward`,
	`POST /_emulator/clock/set {"time":"2030-01-01T00:00:00Z"}  set the clock`,
	"GET /_emulator/faults  injected faults in force",
	`POST /_emulator/faults {"operation","cluster","code","message","httpStatus","count","probability"}`,
	"DELETE /_emulator/faults  remove every fault",
	"GET /_emulator/throttle  token buckets in force",
	`POST /_emulator/throttle {"operation":"GetTaskProtection","burst":5,"perSecond":1}  burst 0 removes`,
	"GET /_emulator/latency  added delay per operation",
	`POST /_emulator/latency {"operation":"GetTaskProtection","milliseconds":250}  0 removes`,
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
	if req.Seconds == nil || math.IsNaN(*req.Seconds) || math.Abs(*req.Seconds) > 1e9 {
		adminError(w, http.StatusBadRequest, `seconds is required: a number such as {"seconds":61}`)
		return
	}
	e.clock.Advance(time.Duration(*req.Seconds * float64(time.Second)))
	writeAdmin(w, http.StatusOK, e.clockAnswer())
}

func (e *Emulator) adminClockSet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Time time.Time `json:"time"`
	}
	if !readAdmin(w, r, &req) {
		return
	}
	if req.Time.IsZero() {
		adminError(w, http.StatusBadRequest, `time is required: an RFC 3339 time such as {"time":"2030-01-01T00:00:00Z"}`)
		return
	}
	e.clock.Set(req.Time)
	writeAdmin(w, http.StatusOK, e.clockAnswer())
}

func (e *Emulator) adminAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !readAdmin(w, r, &f) {
		return
	}
	if f.HTTPStatus != 0 && !validFaultStatus(f.HTTPStatus) {
		adminError(w, http.StatusBadRequest, "httpStatus %d is invalid: use an error status from 400 to 599", f.HTTPStatus)
		return
	}
	if f.Count < 0 || f.Probability < 0 || f.Probability > 1 {
		adminError(w, http.StatusBadRequest, "count must be 0 or more and probability between 0 and 1")
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
	if req.Operation == "" {
		adminError(w, http.StatusBadRequest, "operation is required, e.g. GetTaskProtection")
		return
	}
	if req.PerSecond < 0 {
		adminError(w, http.StatusBadRequest, "perSecond %v is negative", req.PerSecond)
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
	if req.Operation == "" || req.Milliseconds < 0 {
		adminError(w, http.StatusBadRequest, "operation is required and milliseconds must be 0 or more")
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
