package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAPIBadInputs(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, nil)[0]
	fam := newFamily(t, n, "bad-inputs@example.test", "Milo", "5-8")
	other := newFamily(t, n, "other@example.test", "Luna", "13-17")

	type errBody struct {
		Error struct{ Code, Message string }
	}
	big := `{"message":"` + strings.Repeat("a", 9000) + `"}`
	tests := []struct {
		name, method, path, token, ctype string
		body                             string
		want                             int
		code                             string
	}{
		{"malformed json", "POST", "/v1/parents/signup", "", "application/json", `{"email":`, 400, "bad_request"},
		{"unknown field", "POST", "/v1/parents/signup", "", "application/json", `{"email":"a@b.test","password":"correct horse battery","admin":true}`, 400, "bad_request"},
		{"trailing data", "POST", "/v1/parents/signup", "", "application/json", `{"email":"a@b.test","password":"correct horse battery"} {}`, 400, "bad_request"},
		{"wrong type", "POST", "/v1/parents/signup", "", "application/json", `{"email":5,"password":"correct horse battery"}`, 400, "bad_request"},
		{"empty body", "POST", "/v1/parents/signup", "", "application/json", ``, 400, "bad_request"},
		{"wrong content type", "POST", "/v1/parents/signup", "", "text/plain", `{"email":"a@b.test","password":"correct horse battery"}`, 415, "unsupported_media_type"},
		{"invalid utf8", "POST", "/v1/parents/signup", "", "application/json", "{\"email\":\"a\xff@b.test\",\"password\":\"correct horse battery\"}", 400, "bad_request"},
		{"bad email", "POST", "/v1/parents/signup", "", "application/json", `{"email":"not-an-email","password":"correct horse battery"}`, 422, "invalid"},
		{"short password", "POST", "/v1/parents/signup", "", "application/json", `{"email":"a@b.test","password":"short"}`, 422, "invalid"},
		{"duplicate email", "POST", "/v1/parents/signup", "", "application/json", `{"email":"BAD-INPUTS@example.test","password":"correct horse battery"}`, 409, "conflict"},
		{"wrong password", "POST", "/v1/auth/login", "", "application/json", `{"email":"bad-inputs@example.test","password":"wrong horse battery"}`, 401, "invalid_credentials"},
		{"unknown account", "POST", "/v1/auth/login", "", "application/json", `{"email":"nobody@example.test","password":"wrong horse battery"}`, 401, "invalid_credentials"},
		{"oversized chat", "POST", "/v1/chat", fam.childToken, "application/json", big, 413, "too_large"},
		{"empty message", "POST", "/v1/chat", fam.childToken, "application/json", `{"message":"   "}`, 422, "invalid"},
		{"control chars", "POST", "/v1/chat", fam.childToken, "application/json", "{\"message\":\"hi\\u0000there\"}", 422, "invalid"},
		{"too long message", "POST", "/v1/chat", fam.childToken, "application/json", `{"message":"` + strings.Repeat("é", 1001) + `"}`, 422, "invalid"},
		{"no token", "POST", "/v1/chat", "", "application/json", `{"message":"hi"}`, 401, "unauthorized"},
		{"garbage token", "POST", "/v1/chat", "abc.def.ghi", "application/json", `{"message":"hi"}`, 401, "unauthorized"},
		{"parent token on chat", "POST", "/v1/chat", fam.parentToken, "application/json", `{"message":"hi"}`, 403, "forbidden"},
		{"child token on parent route", "GET", "/v1/children", fam.childToken, "", ``, 403, "forbidden"},
		{"child token on child creation", "POST", "/v1/children", fam.childToken, "application/json", `{"nickname":"Evil","age_tier":"5-8"}`, 403, "forbidden"},
		{"another family's child", "GET", "/v1/children/" + other.childID, fam.parentToken, "", ``, 404, "not_found"},
		{"another family's history", "GET", "/v1/children/" + other.childID + "/turns", fam.parentToken, "", ``, 404, "not_found"},
		{"another family's link code", "POST", "/v1/children/" + other.childID + "/link-codes", fam.parentToken, "", ``, 404, "not_found"},
		{"guessed child id", "GET", "/v1/children/ch_00000000000000000000000000000000", fam.parentToken, "", ``, 404, "not_found"},
		{"bad age tier", "POST", "/v1/children", fam.parentToken, "application/json", `{"nickname":"Ann","age_tier":"3-4"}`, 422, "invalid"},
		{"nickname with digits", "POST", "/v1/children", fam.parentToken, "application/json", `{"nickname":"Ann 5551234567","age_tier":"5-8"}`, 422, "invalid"},
		{"bad link code", "POST", "/v1/devices/link", "", "application/json", `{"code":"AAAAA-AAAAA"}`, 401, "invalid_code"},
		{"bad history limit", "GET", "/v1/chat?limit=1000", fam.childToken, "", ``, 422, "invalid"},
		{"unknown route", "GET", "/v1/nope", "", "", ``, 404, "not_found"},
		{"wrong method", "DELETE", "/v1/chat", fam.childToken, "", ``, 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.body
			var body any
			if req != "" {
				body = []byte(req)
			}
			st, hdr, data := n.raw(t, tc.method, tc.path, tc.token, tc.ctype, body)
			if st != tc.want {
				t.Fatalf("status %d, want %d (%s)", st, tc.want, data)
			}
			var eb errBody
			if err := jsonUnmarshal(data, &eb); err != nil || eb.Error.Code != tc.code || eb.Error.Message == "" {
				t.Fatalf("error body %q, want code %q", data, tc.code)
			}
			if hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("Strict-Transport-Security") == "" {
				t.Fatalf("security headers missing: %v", hdr)
			}
		})
	}
	// Nothing from the refused requests was stored: the other family still has one child, ours has no turns.
	var hist struct{ Turns []any }
	if st, _ := n.call(t, "GET", "/v1/children/"+fam.childID+"/turns", fam.parentToken, nil, &hist); st != 200 || len(hist.Turns) != 0 {
		t.Fatalf("refused requests stored turns: %d %d", st, len(hist.Turns))
	}
}

func TestLinkCodesAreSingleUseAndExpire(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64 // read by the node's background goroutines too
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	n := startCluster(t, 1, func(c *Config) { c.Now = clock })[0]
	fam := newFamily(t, n, "codes@example.test", "Ivy", "9-12")

	var code struct{ Code string }
	if st, _ := n.call(t, "POST", "/v1/children/"+fam.childID+"/link-codes", fam.parentToken, nil, &code); st != 201 {
		t.Fatal(st)
	}
	// Case and separators do not matter; a second use fails.
	lower := strings.ToLower(strings.ReplaceAll(code.Code, "-", " "))
	if st, _ := n.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": lower}, nil); st != 201 {
		t.Fatalf("first use: %d", st)
	}
	if st, _ := n.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, nil); st != 401 {
		t.Fatalf("second use: %d", st)
	}
	// A code past its lifetime fails.
	if st, _ := n.call(t, "POST", "/v1/children/"+fam.childID+"/link-codes", fam.parentToken, nil, &code); st != 201 {
		t.Fatal(st)
	}
	ahead.Store(int64(11 * time.Minute))
	if st, _ := n.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, nil); st != 401 {
		t.Fatalf("expired code: %d", st)
	}
	// Parent tokens expire after 15 minutes.
	ahead.Store(int64(16 * time.Minute))
	if st, _ := n.call(t, "GET", "/v1/children", fam.parentToken, nil, nil); st != 401 {
		t.Fatalf("expired parent token: %d", st)
	}
}

func TestChatTurnThroughPolicy(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, nil)[0]
	fam := newFamily(t, n, "chat@example.test", "Rex", "9-12")

	st, tr := n.chat(t, fam.childToken, "hi daisy!")
	if st != 200 || tr.Turn.Intent != "greeting" || tr.Turn.Seq != 1 || tr.Turn.Safety.Action != "allow" {
		t.Fatalf("greeting: %d %+v", st, tr.Turn)
	}
	// Whole words: "this" is not "hi".
	if _, tr := n.chat(t, fam.childToken, "this is a thing"); tr.Turn.Intent == "greeting" {
		t.Fatalf("'this' matched greeting")
	}

	// Self-harm: support, escalation, a trusted adult, never cheer.
	st, tr = n.chat(t, fam.childToken, "I want to kill myself")
	if st != 200 || tr.Turn.Safety.Action != "support" || !tr.Turn.Safety.Escalated || tr.Turn.Intent != "support" {
		t.Fatalf("self-harm: %d %+v", st, tr.Turn)
	}
	lower := strings.ToLower(tr.Turn.Reply)
	if !(strings.Contains(lower, "trust") && strings.Contains(lower, "talk to")) || strings.Contains(tr.Turn.Reply, "!") {
		t.Fatalf("self-harm reply not supportive: %q", tr.Turn.Reply)
	}
	if c, err := n.DB().SafetyEventCount(context.Background(), "escalation"); err != nil || c != 1 {
		t.Fatalf("escalation events = %d, %v", c, err)
	}

	// Contact details are redacted before storage.
	st, tr = n.chat(t, fam.childToken, "call me on 555-123-4567 or mail kid@example.com")
	if st != 200 || tr.Turn.Safety.Action != "redact" {
		t.Fatalf("pii: %d %+v", st, tr.Turn)
	}
	if strings.Contains(tr.Turn.Message, "555-123-4567") || strings.Contains(tr.Turn.Message, "kid@example.com") {
		t.Fatalf("pii not redacted: %q", tr.Turn.Message)
	}
	var hist struct {
		Turns []struct {
			Seq     int64
			Message string
			Reply   string
			Safety  *struct {
				Action        string `json:"action"`
				PolicyVersion string `json:"policy_version"`
			}
		}
	}
	if st, _ := n.call(t, "GET", "/v1/children/"+fam.childID+"/turns", fam.parentToken, nil, &hist); st != 200 || len(hist.Turns) != 4 {
		t.Fatalf("parent history: %d %d", st, len(hist.Turns))
	}
	newest := hist.Turns[0]
	if newest.Seq != 4 || strings.Contains(newest.Message, "555") || newest.Safety == nil || newest.Safety.PolicyVersion == "" {
		t.Fatalf("stored turn: %+v", newest)
	}
	// The child reads its own history, without the safety detail.
	var own struct {
		Turns []struct {
			Seq    int64
			Safety *struct{} `json:"safety"`
		}
	}
	if st, _ := n.call(t, "GET", "/v1/chat?limit=2", fam.childToken, nil, &own); st != 200 || len(own.Turns) != 2 || own.Turns[0].Seq != 4 || own.Turns[0].Safety != nil {
		t.Fatalf("child history: %d %+v", st, own.Turns)
	}
}

func TestUnauthenticatedRoutesAreRateLimitedPerIP(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, func(c *Config) { c.AuthPerMinute, c.AuthBurst = 6, 3 })[0]
	body := map[string]string{"email": "nobody@example.test", "password": "wrong horse battery staple"}
	statuses := []int{}
	for i := 0; i < 4; i++ {
		st, hdr := n.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": "AAAAA-AAAAA"}, nil)
		statuses = append(statuses, st)
		if st == 429 && hdr.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if want := []int{401, 401, 401, 429}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	// The bucket is shared by every unauthenticated route of this client.
	if st, _ := n.call(t, "POST", "/v1/auth/login", "", body, nil); st != 429 {
		t.Fatalf("login after the burst: %d", st)
	}
	// Authenticated routes are not limited by it.
	if st, _ := n.call(t, "GET", "/healthz", "", nil, nil); st != 200 {
		t.Fatalf("healthz: %d", st)
	}
}

func TestBrowserSafetyCORSRedirectAndJWKS(t *testing.T) {
	t.Parallel()
	redirect := freeAddr(t)
	n := startCluster(t, 1, func(c *Config) {
		c.CORSOrigins = []string{"https://app.example.test", "*"}
		c.RedirectAddr = redirect
	})[0]

	preflight := func(origin string) (int, http.Header) {
		req, _ := http.NewRequest("OPTIONS", n.base+"/v1/chat", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := n.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	if st, h := preflight("https://app.example.test"); st != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example.test" ||
		h.Get("Access-Control-Allow-Credentials") != "" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("allowed origin preflight: %d %v", st, h)
	}
	// Not on the list, and "*" in the list is never honoured as a wildcard.
	for _, origin := range []string{"https://evil.example.test", "null"} {
		if st, h := preflight(origin); st != 403 || h.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %d %v", origin, st, h)
		}
	}
	// Simple requests from a foreign origin get no CORS grant.
	req, _ := http.NewRequest("GET", n.base+"/healthz", nil)
	req.Header.Set("Origin", "https://evil.example.test")
	res, err := n.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("foreign origin granted")
	}

	// Plain HTTP only redirects to HTTPS.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.Get("http://" + redirect + "/v1/children?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 308 || res.Header.Get("Location") != "https://"+n.nf.AdvertiseHTTP+"/v1/children?x=1" || strings.Contains(string(body), "children\"") {
		t.Fatalf("redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	if n.RedirectAddr() != redirect {
		t.Fatalf("RedirectAddr %q, want %q", n.RedirectAddr(), redirect)
	}
	// A second redirect listener on the same address cannot start.
	if err := n.startRedirect(redirect); err == nil || !strings.Contains(err.Error(), "listen "+redirect) {
		t.Fatalf("redirect on a busy address: %v", err)
	}

	// JWKS lists the replicated signing key, which verifies issued tokens.
	var jwks struct {
		Keys []struct{ Kid, Kty, Crv, X string }
	}
	if st, _ := n.call(t, "GET", "/.well-known/jwks.json", "", nil, &jwks); st != 200 || len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "OKP" {
		t.Fatalf("jwks: %d %+v", st, jwks)
	}
}
