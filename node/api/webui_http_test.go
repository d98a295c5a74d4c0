package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// uiDo sends a request with explicit cookies and headers and never follows redirects.
func (n *apiNode) uiDo(t *testing.T, method, path string, cookies []*http.Cookie, hdr map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	c := *n.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, data
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func codeOf(body []byte) string {
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

func TestWebUIFiles(t *testing.T) {
	n := testNode(t)
	res, _ := n.uiDo(t, "GET", "/", nil, nil, "")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, c := range []struct {
		path, ctype string
		status      int
	}{
		{"/ui/", "text/html; charset=utf-8", 200},
		{"/ui/index.html", "text/html; charset=utf-8", 200},
		{"/ui/app.js", "text/javascript; charset=utf-8", 200},
		{"/ui/app.css", "text/css; charset=utf-8", 200},
		{"/ui/missing.png", "", 404},
		{"/ui/../../../etc/passwd", "", 404},
		{"/ui/%2e%2e/server.go", "", 404},
	} {
		res, body := n.uiDo(t, "GET", c.path, nil, nil, "")
		if res.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.path, res.StatusCode, c.status)
			continue
		}
		if c.status != 200 {
			if codeOf(body) != "not_found" {
				t.Errorf("%s: body %q", c.path, body)
			}
			continue
		}
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", c.path, csp)
		}
		if len(body) == 0 {
			t.Errorf("%s: empty", c.path)
		}
	}
}

func TestWebUISessionCookiesAndCSRF(t *testing.T) {
	n := testNode(t)
	p := n.newParent(t)
	creds := `{"email":"` + p.email + `","password":"` + goodPassword + `"}`
	self := "https://" + n.HTTPAddr()

	res, body := n.uiDo(t, "POST", "/v1/ui/login", nil, map[string]string{"Origin": "https://evil.example"}, creds)
	if res.StatusCode != 403 || codeOf(body) != "csrf" {
		t.Fatalf("cross-site login: %d %s", res.StatusCode, body)
	}
	res, body = n.uiDo(t, "POST", "/v1/ui/login", nil, map[string]string{"Origin": self},
		`{"email":"`+p.email+`","password":"wrong horse battery staple"}`)
	if res.StatusCode != 401 || codeOf(body) != "invalid_credentials" || len(res.Cookies()) != 0 {
		t.Fatalf("wrong password: %d %s cookies %v", res.StatusCode, body, res.Cookies())
	}
	res, body = n.uiDo(t, "POST", "/v1/ui/login", nil, map[string]string{"Origin": self}, creds)
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	var login struct {
		AccessToken  string `json:"access_token"`
		CSRFToken    string `json:"csrf_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &login); err != nil {
		t.Fatal(err)
	}
	refresh, csrf := cookieNamed(res.Cookies(), "__Host-dd_refresh"), cookieNamed(res.Cookies(), "__Host-dd_csrf")
	if login.AccessToken == "" || login.CSRFToken == "" || login.RefreshToken != "" {
		t.Fatalf("login body %s: want an access and a CSRF token, never the refresh token", body)
	}
	if refresh == nil || !refresh.HttpOnly || !refresh.Secure || refresh.SameSite != http.SameSiteStrictMode || refresh.Path != "/" {
		t.Fatalf("refresh cookie %+v", refresh)
	}
	if csrf == nil || csrf.HttpOnly || !csrf.Secure || csrf.Value != login.CSRFToken {
		t.Fatalf("CSRF cookie %+v, body token %q", csrf, login.CSRFToken)
	}
	n.must(t, http.StatusOK, "GET", "/v1/parents/me", login.AccessToken, nil, nil)

	jar := []*http.Cookie{refresh, csrf}
	for _, c := range []struct {
		name    string
		cookies []*http.Cookie
		hdr     map[string]string
		status  int
		code    string
	}{
		{"no CSRF header", jar, nil, 403, "csrf"},
		{"wrong CSRF header", jar, map[string]string{"X-CSRF-Token": "guess"}, 403, "csrf"},
		{"no CSRF cookie", []*http.Cookie{refresh}, map[string]string{"X-CSRF-Token": csrf.Value}, 403, "csrf"},
		{"cross-site origin", jar, map[string]string{"X-CSRF-Token": csrf.Value, "Origin": "https://evil.example"}, 403, "csrf"},
		{"plain http origin", jar, map[string]string{"X-CSRF-Token": csrf.Value, "Origin": "http://" + n.HTTPAddr()}, 403, "csrf"},
		{"no refresh cookie", []*http.Cookie{csrf}, map[string]string{"X-CSRF-Token": csrf.Value}, 401, "unauthorized"},
	} {
		res, body := n.uiDo(t, "POST", "/v1/ui/refresh", c.cookies, c.hdr, "")
		if res.StatusCode != c.status || codeOf(body) != c.code {
			t.Errorf("refresh, %s: %d %s, want %d %s", c.name, res.StatusCode, body, c.status, c.code)
		}
	}
	// A refresh rotates the cookie; the old one is then reuse (the session ends).
	res, body = n.uiDo(t, "POST", "/v1/ui/refresh", jar, map[string]string{"X-CSRF-Token": csrf.Value, "Origin": self}, "")
	if res.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", res.StatusCode, body)
	}
	next := cookieNamed(res.Cookies(), "__Host-dd_refresh")
	if next == nil || next.Value == refresh.Value {
		t.Fatalf("refresh did not rotate the cookie: %+v", next)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		CSRFToken   string `json:"csrf_token"`
	}
	_ = json.Unmarshal(body, &tok)
	n.must(t, http.StatusOK, "GET", "/v1/children", tok.AccessToken, nil, nil)
	newCSRF := cookieNamed(res.Cookies(), "__Host-dd_csrf")

	// Logout ends the session everywhere and clears both cookies.
	res, _ = n.uiDo(t, "POST", "/v1/ui/logout", []*http.Cookie{next, newCSRF}, map[string]string{"X-CSRF-Token": newCSRF.Value}, "")
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	for _, name := range []string{"__Host-dd_refresh", "__Host-dd_csrf"} {
		if c := cookieNamed(res.Cookies(), name); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("logout left cookie %s: %+v", name, c)
		}
	}
	if res := n.do(t, "GET", "/v1/children", tok.AccessToken, "", nil); res.status != 401 {
		t.Fatalf("access token after UI logout: %d, want 401", res.status)
	}
	// A refresh with a dead cookie fails and clears the cookies.
	res, body = n.uiDo(t, "POST", "/v1/ui/refresh", []*http.Cookie{next, newCSRF}, map[string]string{"X-CSRF-Token": newCSRF.Value}, "")
	if res.StatusCode != 401 || cookieNamed(res.Cookies(), "__Host-dd_refresh") == nil {
		t.Fatalf("refresh after logout: %d %s cookies %v", res.StatusCode, body, res.Cookies())
	}
	// Logout without a session still clears and answers 204.
	res, _ = n.uiDo(t, "POST", "/v1/ui/logout", []*http.Cookie{newCSRF}, map[string]string{"X-CSRF-Token": newCSRF.Value}, "")
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout without a session: %d", res.StatusCode)
	}
}
