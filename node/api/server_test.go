package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/node/auth"
	"daisydog/storage"
)

// bareServer is the API with no storage or cluster behind it: enough for
// what is decided before any of them is used (routing, headers, CORS,
// per-IP limits, metrics access, readiness).
func bareServer(d Deps) *Server {
	d.Logger = discardLogger()
	if d.Tokens == nil {
		d.Tokens = auth.NewTokens(time.Now) // no keys: every token fails to verify
	}
	return New(d)
}

func serveReq(s *Server, method, path, remote string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func errCodeOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", w.Body.Bytes(), err)
	}
	return b.Error.Code
}

func TestCORS(t *testing.T) {
	s := bareServer(Deps{CORSOrigins: []string{"https://app.example", "*", "null"}})
	cases := []struct {
		name, method, origin, reqMethod string
		status                          int
		allowOrigin                     string
		allowMethods                    bool
	}{
		{"preflight from an allowed origin", "OPTIONS", "https://app.example", "POST", 204, "https://app.example", true},
		{"preflight from another origin", "OPTIONS", "https://evil.example", "POST", 403, "", false},
		{"a wildcard is never honoured", "OPTIONS", "*", "POST", 403, "", false},
		{"neither is null", "OPTIONS", "null", "POST", 403, "", false},
		{"GET from an allowed origin", "GET", "https://app.example", "", 200, "https://app.example", false},
		{"GET from another origin is served without CORS headers", "GET", "https://evil.example", "", 200, "", false},
		{"OPTIONS without a request method is no preflight", "OPTIONS", "https://app.example", "", 200, "https://app.example", false},
	}
	for _, c := range cases {
		hdr := map[string]string{"Origin": c.origin}
		if c.reqMethod != "" {
			hdr["Access-Control-Request-Method"] = c.reqMethod
		}
		w := serveReq(s, c.method, "/healthz", "", hdr, "")
		h := w.Header()
		if w.Code != c.status || h.Get("Access-Control-Allow-Origin") != c.allowOrigin || (h.Get("Access-Control-Allow-Methods") != "") != c.allowMethods {
			t.Errorf("%s: %d, Allow-Origin %q, Allow-Methods %q", c.name, w.Code, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Methods"))
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed", c.name)
		}
		if !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("%s: no Vary: Origin", c.name)
		}
	}
	// Without Origin nothing CORS-related is added.
	if w := serveReq(s, "GET", "/healthz", "", nil, ""); w.Header().Get("Vary") != "" || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("same-origin request got CORS headers: %v", w.Header())
	}
}

func TestRoutingErrorsAndSecurityHeaders(t *testing.T) {
	s := bareServer(Deps{})
	cases := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown route", "GET", "/v1/nope", 404, "not_found"},
		{"wrong method", "DELETE", "/v1/chat", 405, "method_not_allowed"},
		{"trailing slash is not redirected", "GET", "/healthz/", 404, "not_found"},
		{"no token", "GET", "/v1/children", 401, "unauthorized"},
	}
	for _, c := range cases {
		w := serveReq(s, c.method, c.path, "", nil, "")
		if w.Code != c.status || errCodeOf(t, w) != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, w.Code, errCodeOf(t, w), c.status, c.code)
		}
		for hdr, want := range map[string]string{"Strict-Transport-Security": "max-age=63072000; includeSubDomains", "X-Frame-Options": "DENY",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "Cache-Control": "no-store"} {
			if got := w.Header().Get(hdr); got != want {
				t.Errorf("%s: %s %q", c.name, hdr, got)
			}
		}
	}
	// Token shapes the middleware refuses before any lookup.
	for name, auth := range map[string]string{"basic auth": "Basic dXNlcjpwYXNz", "empty bearer": "Bearer ", "lower-case scheme": "bearer abc",
		"garbage bearer": "Bearer a.b.c"} {
		w := serveReq(s, "GET", "/v1/children", "", map[string]string{"Authorization": auth}, "")
		if w.Code != 401 || errCodeOf(t, w) != "unauthorized" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	snap := s.Metrics.Snapshot(nil)
	if snap.Requests["total"] < 8 || snap.Requests["4xx"] < 8 || snap.Requests["2xx"] != 0 {
		t.Errorf("request counters %v", snap.Requests)
	}
}

// A handler that panics answers 500 with the bare envelope; the process lives.
func TestPanicIsAnInternalError(t *testing.T) {
	s := bareServer(Deps{}) // no vault: the verify handler dereferences nil
	w := serveReq(s, "POST", "/v1/auth/verify-email", "", map[string]string{"Content-Type": "application/json"},
		`{"token":"ev_`+strings.Repeat("A", 43)+`"}`)
	if w.Code != 500 || errCodeOf(t, w) != "internal" || strings.Contains(w.Body.String(), "nil") {
		t.Fatalf("panic answered %d %s", w.Code, w.Body.String())
	}
	if n := s.Metrics.Snapshot(nil).Requests["5xx"]; n != 1 {
		t.Fatalf("5xx counter %d", n)
	}
}

func TestReadyz(t *testing.T) {
	var ready error = errors.New("no cluster leader")
	s := bareServer(Deps{Ready: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("readiness check without a deadline")
		}
		return ready
	}})
	w := serveReq(s, "GET", "/readyz", "", nil, "")
	var body map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || body["status"] != "not_ready" || body["reason"] != "no cluster leader" {
		t.Fatalf("not ready: %d %v Retry-After %q", w.Code, body, w.Header().Get("Retry-After"))
	}
	ready = nil
	w = serveReq(s, "GET", "/readyz", "", nil, "")
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 200 || body["status"] != "ready" {
		t.Fatalf("ready: %d %v", w.Code, body)
	}
}

// The endpoint end to end (metricsAllowed's cases are in metrics_test.go):
// a refusal looks like an absent route; an answer is the whole snapshot.
func TestMetricsEndpoint(t *testing.T) {
	cases := []struct {
		name, token, remote, auth string
		status                    int
	}{
		{"loopback", "", "127.0.0.1:5000", "", 200},
		{"remote without a token", "", "192.0.2.1:5000", "", 404},
		{"remote with the token", "s3cret", "192.0.2.1:5000", "Bearer s3cret", 200},
		{"remote with a wrong token", "s3cret", "192.0.2.1:5000", "Bearer guess", 404},
	}
	for _, c := range cases {
		s := bareServer(Deps{MetricsToken: c.token})
		hdr := map[string]string{}
		if c.auth != "" {
			hdr["Authorization"] = c.auth
		}
		w := serveReq(s, "GET", "/v1/metrics", c.remote, hdr, "")
		if w.Code != c.status {
			t.Errorf("%s: %d, want %d", c.name, w.Code, c.status)
			continue
		}
		if c.status != 200 {
			if errCodeOf(t, w) != "not_found" {
				t.Errorf("%s: refused with %s, want it to look absent", c.name, w.Body.String())
			}
			continue
		}
		var snap MetricsSnapshot
		if err := json.Unmarshal(w.Body.Bytes(), &snap); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, ok := snap.Timings["turn"]; !ok || snap.Process["goroutines"] <= 0 || snap.ReplyVerdicts == nil {
			t.Errorf("%s: snapshot %+v", c.name, snap)
		}
	}
}

// The per-node limit on unauthenticated routes answers 429 before the handler runs.
func TestPerIPLimitOnUnauthenticatedRoutes(t *testing.T) {
	s := bareServer(Deps{AuthPerMinute: 60, AuthBurst: 2})
	ct := map[string]string{"Content-Type": "application/json"}
	for i := range 2 {
		if w := serveReq(s, "POST", "/v1/auth/login", "192.0.2.1:1", ct, "{"); w.Code != 400 {
			t.Fatalf("request %d within the burst: %d %s", i, w.Code, w.Body.String())
		}
	}
	w := serveReq(s, "POST", "/v1/auth/login", "192.0.2.1:2", ct, "{")
	if w.Code != 429 || errCodeOf(t, w) != "rate_limited" || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the burst: %d %s Retry-After %q", w.Code, w.Body.String(), w.Header().Get("Retry-After"))
	}
	if w := serveReq(s, "POST", "/v1/devices/link", "192.0.2.1:3", ct, "{"); w.Code != 429 {
		t.Fatalf("the bucket is per client, not per route: %d", w.Code)
	}
	if w := serveReq(s, "POST", "/v1/auth/login", "192.0.2.2:1", ct, "{"); w.Code != 400 {
		t.Fatalf("another client: %d", w.Code)
	}
	// Authenticated routes do not spend the bucket.
	if w := serveReq(s, "GET", "/v1/children", "192.0.2.1:4", nil, ""); w.Code != 401 {
		t.Fatalf("authenticated route: %d", w.Code)
	}
	// Negative disables the limiter.
	off := bareServer(Deps{AuthPerMinute: -1})
	for i := range 30 {
		if w := serveReq(off, "POST", "/v1/auth/login", "192.0.2.1:1", ct, "{"); w.Code != 400 {
			t.Fatalf("limiter off, request %d: %d", i, w.Code)
		}
	}
}

func TestIPLimiterRefillAndSweep(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := newIPLimiter(60, 3, func() time.Time { return now }) // one token a second
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != time.Second {
		t.Fatalf("empty bucket: ok %v wait %v, want refused for 1s", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, wait := l.allow("a"); ok || wait != 500*time.Millisecond {
		t.Fatalf("half refilled: ok %v wait %v", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another client refused")
	}
	// After a minute both buckets are full again: the sweep drops them.
	now = now.Add(2 * time.Minute)
	l.allow("c")
	l.mu.Lock()
	_, hasA := l.buckets["a"]
	_, hasC := l.buckets["c"]
	n := len(l.buckets)
	l.mu.Unlock()
	if hasA || !hasC || n != 1 {
		t.Fatalf("after the sweep: %d buckets, a kept %v, c kept %v", n, hasA, hasC)
	}
}

func TestRoutesDeclareRoles(t *testing.T) {
	s := bareServer(Deps{Join: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }})
	roles := map[string][]storage.Role{}
	for _, r := range s.Routes() {
		key := r.Method + " " + r.Path
		if _, dup := roles[key]; dup {
			t.Fatalf("%s registered twice", key)
		}
		roles[key] = r.Roles
	}
	want := map[string][]storage.Role{
		"POST /v1/chat":                      {storage.RoleChild},
		"GET /v1/children":                   {storage.RoleParent},
		"POST /v1/admin/invites":             {storage.RoleAdmin},
		"GET /v1/moderation/flagged":         {storage.RoleModerator, storage.RoleAdmin},
		"POST /v1/admin/logout":              {storage.RoleAdmin, storage.RoleModerator},
		"DELETE /v1/admin/catalog/jokes/:id": {storage.RoleAdmin},
		"POST /v1/parents/signup":            nil,
		"GET /healthz":                       nil,
		"POST /internal/join":                nil,
	}
	for k, w := range want {
		got, ok := roles[k]
		if !ok || !slices.Equal(got, w) {
			t.Errorf("%s: roles %v (registered %v), want %v", k, got, ok, w)
		}
	}
	// Policy routes exist only with a PolicyAdmin.
	if _, ok := roles["POST /v1/admin/policies"]; ok {
		t.Error("policy routes registered without a PolicyAdmin")
	}
	// Routes returns a copy.
	rs := s.Routes()
	rs[0].Path = "/changed"
	if s.Routes()[0].Path == "/changed" {
		t.Error("Routes exposes the server's table")
	}
	if w := serveReq(s, "POST", "/internal/join", "", nil, ""); w.Code != http.StatusTeapot {
		t.Errorf("join handler not reached: %d", w.Code)
	}
}

func TestStatusWriterRecordsImplicitOK(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec}
	if _, err := sw.Write([]byte("x")); err != nil || sw.status != 200 {
		t.Fatalf("implicit status %d (%v)", sw.status, err)
	}
	sw.WriteHeader(500) // too late: the first status stands
	if sw.status != 200 {
		t.Fatalf("status changed to %d after the body started", sw.status)
	}
	if sw.Unwrap() != rec {
		t.Fatal("Unwrap does not reach the underlying writer")
	}
}

// Turn admission: with every turn slot taken, a new turn waits at most
// TurnQueueTimeout and is refused with 503 + Retry-After before anything
// is read or stored (this server has no storage: reaching it would panic).
func TestTurnRefusedWhenEverySlotIsTaken(t *testing.T) {
	s := bareServer(Deps{TurnSlots: 1, TurnQueueTimeout: 30 * time.Millisecond})
	release, err := s.turns.acquire(context.Background(), time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/v1/chat", nil)
	w := httptest.NewRecorder()
	start := time.Now()
	err = s.runTurn(w, r, storage.Actor{Role: storage.RoleChild, ID: "ch_1"}, "hello", "chat", chatStep, false, false)
	if err != errOverloaded {
		t.Fatalf("turn with no free slot: %v, want errOverloaded", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Fatalf("refused after %v, before the queue timeout", waited)
	}
	s.writeError(w, r, err)
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || errCodeOf(t, w) != "unavailable" {
		t.Fatalf("refusal answered %d %s Retry-After %q", w.Code, w.Body.String(), w.Header().Get("Retry-After"))
	}
	if shed := s.Metrics.Snapshot(nil).Shed; shed != 1 {
		t.Fatalf("turns_shed = %d, want 1", shed)
	}
	release()
	if _, err := s.turns.acquire(context.Background(), time.Second, true); err != nil {
		t.Fatalf("slot not free after release: %v", err)
	}
}
