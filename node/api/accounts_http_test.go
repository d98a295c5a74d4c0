package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"daisydog/node/api"
)

func TestHealthReadyAndJWKS(t *testing.T) {
	n := testNode(t)
	var h struct{ Status string }
	n.must(t, http.StatusOK, "GET", "/healthz", "", nil, &h)
	if h.Status != "ok" {
		t.Errorf("healthz status %q", h.Status)
	}
	var r struct{ Status string }
	res := n.must(t, http.StatusOK, "GET", "/readyz", "", nil, &r)
	if r.Status != "ready" {
		t.Errorf("readyz status %q", r.Status)
	}
	for hdr, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
		"Referrer-Policy": "no-referrer"} {
		if got := res.header.Get(hdr); got != want {
			t.Errorf("%s: %q, want %q", hdr, got, want)
		}
	}
	var jwks struct {
		Keys []struct {
			Kty, Crv, Kid, X string
		}
	}
	n.must(t, http.StatusOK, "GET", "/.well-known/jwks.json", "", nil, &jwks)
	if len(jwks.Keys) == 0 || jwks.Keys[0].Kid == "" || jwks.Keys[0].X == "" {
		t.Fatalf("jwks %+v: want at least one signing key", jwks)
	}
}

func TestSignUpValidation(t *testing.T) {
	n := testNode(t)
	taken := n.newParent(t)
	n.runErrCases(t, []errCase{
		{"no content type", "POST", "/v1/parents/signup", "", "text/plain", `{}`, 415, "unsupported_media_type"},
		{"malformed JSON", "POST", "/v1/parents/signup", "", "", `{"email":"a@b.test",`, 400, "bad_request"},
		{"unknown field", "POST", "/v1/parents/signup", "", "", `{"email":"a@b.test","password":"x","role":"admin"}`, 400, "bad_request"},
		{"oversized body", "POST", "/v1/parents/signup", "", "", `{"email":"` + strings.Repeat("a", 5000) + `@b.test"}`, 413, "too_large"},
		{"display-name address", "POST", "/v1/parents/signup", "", "", map[string]string{"email": "Pat <pat@example.test>", "password": goodPassword}, 422, "invalid"},
		{"no address", "POST", "/v1/parents/signup", "", "", map[string]string{"email": "", "password": goodPassword}, 422, "invalid"},
		{"short password", "POST", "/v1/parents/signup", "", "", map[string]string{"email": uniqueEmail("short"), "password": "short"}, 422, "invalid"},
		{"taken address, other case", "POST", "/v1/parents/signup", "", "", map[string]string{"email": strings.ToUpper(taken.email), "password": goodPassword}, 409, "conflict"},
	})
}

func TestSignUpSendsVerificationAndVerifyEmail(t *testing.T) {
	n := testNode(t)
	email := uniqueEmail("verify")
	var out struct {
		ParentID      string `json:"parent_id"`
		EmailVerified bool   `json:"email_verified"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/parents/signup", "", map[string]string{"email": email, "password": goodPassword}, &out)
	if !strings.HasPrefix(out.ParentID, "pa_") || out.EmailVerified {
		t.Fatalf("sign-up answer %+v", out)
	}
	tok := n.mailedToken(t, email, "verify_email", 1)

	var login struct {
		AccessToken string `json:"access_token"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}, &login)
	var me struct {
		ID            string `json:"id"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		VerifiedAt    string `json:"email_verified_at"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/parents/me", login.AccessToken, nil, &me)
	if me.ID != out.ParentID || me.Email != email || me.EmailVerified || me.VerifiedAt != "" {
		t.Fatalf("before verification: %+v", me)
	}

	n.runErrCases(t, []errCase{
		{"wrong prefix", "POST", "/v1/auth/verify-email", "", "", map[string]string{"token": "pr_" + tok[3:]}, 400, "invalid_token"},
		{"truncated", "POST", "/v1/auth/verify-email", "", "", map[string]string{"token": tok[:20]}, 400, "invalid_token"},
		{"well-formed but unknown", "POST", "/v1/auth/verify-email", "", "", map[string]string{"token": "ev_" + strings.Repeat("A", 43)}, 400, "invalid_token"},
	})

	var v struct {
		EmailVerified bool `json:"email_verified"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, &v)
	if !v.EmailVerified {
		t.Fatal("verify-email did not report the address verified")
	}
	if res := n.do(t, "POST", "/v1/auth/verify-email", "", "", map[string]string{"token": tok}); res.status != http.StatusGone || res.code() != "token_used" {
		t.Fatalf("second use: %d %s, want 410 token_used", res.status, res.body)
	}
	n.must(t, http.StatusOK, "GET", "/v1/parents/me", login.AccessToken, nil, &me)
	if !me.EmailVerified || me.VerifiedAt == "" {
		t.Fatalf("after verification: %+v", me)
	}
	if res := n.do(t, "POST", "/v1/parents/me/verification-email", login.AccessToken, "", nil); res.status != http.StatusConflict || res.code() != "already_verified" {
		t.Fatalf("resend when verified: %d %s, want 409 already_verified", res.status, res.body)
	}
}

func TestResendVerificationReplacesTheLinkAndIsLimited(t *testing.T) {
	n := testNode(t)
	p := n.newParent(t)
	first := n.mailedToken(t, p.email, "verify_email", 1)
	if res := n.do(t, "POST", "/v1/parents/me/verification-email", p.token, "", `{"extra":1}`); res.status != http.StatusBadRequest {
		t.Fatalf("resend with an unknown field: %d, want 400", res.status)
	}
	for i := 1; i <= verifyMailLimit; i++ {
		var out struct{ Status string }
		n.must(t, http.StatusAccepted, "POST", "/v1/parents/me/verification-email", p.token, nil, &out)
		if out.Status != "sent" {
			t.Fatalf("resend %d: status %q", i, out.Status)
		}
	}
	res := n.do(t, "POST", "/v1/parents/me/verification-email", p.token, "", nil)
	if res.status != http.StatusTooManyRequests || res.code() != "rate_limited" || res.header.Get("Retry-After") == "" {
		t.Fatalf("resend over the limit: %d %s Retry-After %q, want 429 rate_limited", res.status, res.body, res.header.Get("Retry-After"))
	}
	// Only the newest link works (a resend replaces an e-mail the outbox
	// has not sent yet: its link would not work anyway).
	latest := n.lastMailedToken(t, p.email, "verify_email")
	if latest == first {
		t.Fatal("resend mailed the same token")
	}
	if res := n.do(t, "POST", "/v1/auth/verify-email", "", "", map[string]string{"token": first}); res.status != http.StatusBadRequest || res.code() != "invalid_token" {
		t.Fatalf("replaced token: %d %s, want 400 invalid_token", res.status, res.body)
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/verify-email", "", map[string]string{"token": latest}, nil)
}

func TestLoginRefreshAndLogout(t *testing.T) {
	n := testNode(t)
	p := n.newParent(t)
	n.runErrCases(t, []errCase{
		{"empty password", "POST", "/v1/auth/login", "", "", map[string]string{"email": p.email, "password": ""}, 401, "invalid_credentials"},
		{"empty email", "POST", "/v1/auth/login", "", "", map[string]string{"email": "", "password": goodPassword}, 401, "invalid_credentials"},
		{"absurdly long password", "POST", "/v1/auth/login", "", "", map[string]string{"email": p.email, "password": strings.Repeat("x", 1000)}, 401, "invalid_credentials"},
		{"wrong password", "POST", "/v1/auth/login", "", "", map[string]string{"email": p.email, "password": "wrong horse battery staple"}, 401, "invalid_credentials"},
		{"unknown account", "POST", "/v1/auth/login", "", "", map[string]string{"email": uniqueEmail("nobody"), "password": goodPassword}, 401, "invalid_credentials"},
		{"refresh without prefix", "POST", "/v1/auth/refresh", "", "", map[string]string{"refresh_token": strings.Repeat("a", 46)}, 401, "unauthorized"},
		{"refresh unknown", "POST", "/v1/auth/refresh", "", "", map[string]string{"refresh_token": "rt_" + strings.Repeat("A", 43)}, 401, "unauthorized"},
		{"refresh bad JSON", "POST", "/v1/auth/refresh", "", "", `{"refresh_token":`, 400, "bad_request"},
	})

	var next struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": p.refresh}, &next)
	if next.TokenType != "Bearer" || next.RefreshToken == p.refresh || !strings.HasPrefix(next.RefreshToken, "rt_") || next.ExpiresIn != 900 {
		t.Fatalf("refresh answer %+v", next)
	}
	n.must(t, http.StatusOK, "GET", "/v1/children", next.AccessToken, nil, nil)

	// Reusing a spent refresh token signs the session out everywhere.
	if res := n.do(t, "POST", "/v1/auth/refresh", "", "", map[string]string{"refresh_token": p.refresh}); res.status != 401 || res.code() != "token_reused" {
		t.Fatalf("reuse: %d %s, want 401 token_reused", res.status, res.body)
	}
	if res := n.do(t, "GET", "/v1/children", next.AccessToken, "", nil); res.status != 401 {
		t.Fatalf("access token after reuse detection: %d, want 401", res.status)
	}

	// Logout ends one session, logout-all every session.
	a, b := n.loginAgain(t, p.email), n.loginAgain(t, p.email)
	if res := n.do(t, "POST", "/v1/auth/logout", a, "", `{"all":true}`); res.status != 400 {
		t.Fatalf("logout with an unknown field: %d, want 400", res.status)
	}
	n.must(t, http.StatusNoContent, "POST", "/v1/auth/logout", a, nil, nil)
	if res := n.do(t, "GET", "/v1/children", a, "", nil); res.status != 401 || res.code() != "unauthorized" {
		t.Fatalf("after logout: %d %s", res.status, res.body)
	}
	n.must(t, http.StatusOK, "GET", "/v1/children", b, nil, nil)
	c := n.loginAgain(t, p.email)
	n.must(t, http.StatusNoContent, "POST", "/v1/auth/logout-all", c, `{}`, nil)
	for _, tok := range []string{b, c} {
		if res := n.do(t, "GET", "/v1/children", tok, "", nil); res.status != 401 {
			t.Fatalf("after logout-all: %d, want 401", res.status)
		}
	}
}

func (n *apiNode) loginAgain(t *testing.T, email string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}, &tok)
	return tok.AccessToken
}

func TestPasswordReset(t *testing.T) {
	n := testNode(t)
	p := n.newParent(t)
	var unknown, known map[string]string
	n.must(t, http.StatusAccepted, "POST", "/v1/auth/password-reset", "", map[string]string{"email": uniqueEmail("nobody")}, &unknown)
	n.must(t, http.StatusAccepted, "POST", "/v1/auth/password-reset", "", map[string]string{"email": p.email}, &known)
	if unknown["status"] != "accepted" || unknown["message"] != known["message"] || unknown["status"] != known["status"] {
		t.Fatalf("answers differ: unknown %v, known %v", unknown, known)
	}
	tok := n.mailedToken(t, p.email, "password_reset", 1)
	newPassword := "a brand new horse battery"
	n.runErrCases(t, []errCase{
		{"bad address", "POST", "/v1/auth/password-reset", "", "", map[string]string{"email": "nope"}, 422, "invalid"},
		{"confirm with a verify token", "POST", "/v1/auth/password-reset/confirm", "", "", map[string]string{"token": "ev_" + tok[3:], "password": newPassword}, 400, "invalid_token"},
		{"confirm unknown token", "POST", "/v1/auth/password-reset/confirm", "", "", map[string]string{"token": "pr_" + strings.Repeat("B", 43), "password": newPassword}, 400, "invalid_token"},
		{"confirm weak password", "POST", "/v1/auth/password-reset/confirm", "", "", map[string]string{"token": tok, "password": "short"}, 422, "invalid"},
		{"confirm unknown field", "POST", "/v1/auth/password-reset/confirm", "", "", map[string]string{"token": tok, "password": newPassword, "x": "y"}, 400, "bad_request"},
	})
	n.must(t, http.StatusNoContent, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": newPassword}, nil)
	if res := n.do(t, "GET", "/v1/children", p.token, "", nil); res.status != 401 {
		t.Fatalf("old session after reset: %d, want 401", res.status)
	}
	if res := n.do(t, "POST", "/v1/auth/password-reset/confirm", "", "", map[string]string{"token": tok, "password": newPassword}); res.status != 410 || res.code() != "token_used" {
		t.Fatalf("second use: %d %s, want 410 token_used", res.status, res.body)
	}
	if res := n.do(t, "POST", "/v1/auth/login", "", "", map[string]string{"email": p.email, "password": goodPassword}); res.status != 401 {
		t.Fatalf("old password: %d, want 401", res.status)
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/login", "", map[string]string{"email": p.email, "password": newPassword}, nil)

	// A reset link dies after 30 minutes.
	n.must(t, http.StatusAccepted, "POST", "/v1/auth/password-reset", "", map[string]string{"email": p.email}, nil)
	late := n.mailedToken(t, p.email, "password_reset", 2)
	n.clock.add(31 * time.Minute)
	if res := n.do(t, "POST", "/v1/auth/password-reset/confirm", "", "", map[string]string{"token": late, "password": newPassword + "!"}); res.status != 410 || res.code() != "token_expired" {
		t.Fatalf("expired token: %d %s, want 410 token_expired", res.status, res.body)
	}
}

// Failed logins lock the address (replicated), whatever the password later.
func TestLoginLockout(t *testing.T) {
	n := testNode(t)
	p := n.newParent(t)
	var locked response
	for i := 0; i < 50; i++ {
		locked = n.do(t, "POST", "/v1/auth/login", "", "", map[string]string{"email": p.email, "password": "wrong horse battery staple"})
		if locked.status == http.StatusTooManyRequests {
			break
		}
		if locked.status != 401 {
			t.Fatalf("failed login %d: %d %s", i, locked.status, locked.body)
		}
	}
	if locked.status != http.StatusTooManyRequests || locked.code() != "locked" || locked.header.Get("Retry-After") == "" {
		t.Fatalf("after many failures: %d %s, want 429 locked with Retry-After", locked.status, locked.body)
	}
	if res := n.do(t, "POST", "/v1/auth/login", "", "", map[string]string{"email": p.email, "password": goodPassword}); res.status != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: %d, want 429", res.status)
	}
	n.clock.add(2 * time.Hour)
	n.must(t, http.StatusOK, "POST", "/v1/auth/login", "", map[string]string{"email": p.email, "password": goodPassword}, nil)
}

// The metrics endpoint on a running node (loopback client) counts requests
// and reports storage and process figures.
func TestMetricsOnANode(t *testing.T) {
	n := testNode(t)
	n.must(t, http.StatusOK, "GET", "/healthz", "", nil, nil)
	n.do(t, "GET", "/v1/nope", "", "", nil)
	// Safety counters: one ordinary turn, one a child in crisis, one with a
	// phone number.
	f := n.newFamily(t, "9-12")
	for _, msg := range []string{"hello daisy", "I want to kill myself", "my number is 07700 900123"} {
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": msg}, nil)
	}
	var m struct {
		Requests map[string]uint64 `json:"requests"`
		Timings  map[string]struct {
			Count uint64 `json:"count"`
		} `json:"timings"`
		Process map[string]int64   `json:"process"`
		Safety  api.SafetySnapshot `json:"safety"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/metrics", "", nil, &m)
	sf := m.Safety
	if sf.Turns != 3 || sf.In["allow"] != 1 || sf.In["support"] != 1 || sf.In["redact"] != 1 || sf.Out["allow"] != 3 ||
		sf.Categories["self_harm"] != 1 || sf.Categories["pii_disclosure"] != 1 || sf.Categories["profanity"] != 0 ||
		sf.Escalated != 1 || sf.FailClosed != 0 {
		t.Errorf("safety counters %+v", sf)
	}
	if m.Requests["total"] < 2 || m.Requests["2xx"] < 1 || m.Requests["4xx"] < 1 {
		t.Errorf("request counts %v", m.Requests)
	}
	if m.Timings["http_request"].Count < 2 || m.Timings["fsm_apply_batch"].Count == 0 {
		t.Errorf("timings %v", m.Timings)
	}
	if m.Process["db_bytes"] <= 0 || m.Process["goroutines"] <= 0 {
		t.Errorf("process %v", m.Process)
	}
}
