package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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

// The staff dashboard: its data endpoint answers administrators and
// moderators only, with this node's place in the cluster, the active
// policy and its counters (no histogram buckets, no personal data); the
// page is served under the console's CSP and shows server values with
// textContent only.
func TestStaffDashboard(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	mod := n.newStaff(t, "moderator")
	f := n.newFamily(t, "9-12")
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "hello Daisy"}, nil)
	var d struct {
		At   string `json:"at"`
		Node *struct {
			Members []struct {
				ID     string `json:"id"`
				Leader bool   `json:"leader"`
			} `json:"members"`
			Applied uint64 `json:"applied_index"`
		} `json:"node"`
		Cluster []struct {
			Answered bool   `json:"answered"`
			State    string `json:"state"`
			Applied  uint64 `json:"applied_index"`
			CA       string `json:"ca"`
		} `json:"cluster"`
		Policy  string `json:"policy_version"`
		Metrics struct {
			Requests map[string]uint64 `json:"requests"`
			Timings  map[string]struct {
				Count   uint64            `json:"count"`
				Buckets []json.RawMessage `json:"buckets"`
			} `json:"timings"`
			Safety struct {
				Turns uint64 `json:"turns"`
			} `json:"safety"`
			Moderation *struct{} `json:"moderation"`
		} `json:"metrics"`
		Usage struct {
			Families       int            `json:"families"`
			Children       int            `json:"children"`
			ByTier         map[string]int `json:"children_by_tier"`
			Devices        int            `json:"devices_linked"`
			Turns          int            `json:"turns"`
			ActiveChildren int            `json:"active_children"`
		} `json:"usage"`
		UsageAt string `json:"usage_at"`
		Daily   []struct {
			Day   string `json:"day"`
			Turns int    `json:"turns"`
		} `json:"daily"`
	}
	for _, tok := range []string{admin.token, mod.token} {
		n.must(t, http.StatusOK, "GET", "/v1/admin/dashboard", tok, nil, &d)
		if d.At == "" || d.Node == nil || len(d.Node.Members) != 1 || !d.Node.Members[0].Leader || d.Node.Applied == 0 || d.Policy == "" ||
			d.Metrics.Requests["total"] == 0 || d.Metrics.Safety.Turns == 0 || d.Metrics.Timings["turn"].Count == 0 || d.Metrics.Moderation == nil {
			t.Fatalf("dashboard %+v", d)
		}
		if len(d.Cluster) != 1 || !d.Cluster[0].Answered || d.Cluster[0].State != "Leader" || d.Cluster[0].Applied == 0 || len(d.Cluster[0].CA) != 12 {
			t.Fatalf("cluster view %+v", d.Cluster)
		}
		if u := d.Usage; u.Families < 1 || u.Children < 1 || u.ByTier["9-12"] < 1 || u.Devices < 1 || u.Turns < 1 || u.ActiveChildren < 1 || d.UsageAt == "" {
			t.Fatalf("usage totals %+v at %q", u, d.UsageAt)
		}
		if len(d.Daily) != 14 || d.Daily[13].Day != n.clock.now().UTC().Format(time.DateOnly) || d.Daily[13].Turns < 1 {
			t.Fatalf("daily trend %+v", d.Daily)
		}
		for k, h := range d.Metrics.Timings {
			if len(h.Buckets) != 0 {
				t.Fatalf("timing %s carries %d buckets", k, len(h.Buckets))
			}
		}
	}
	n.runErrCases(t, []errCase{
		{"parent", "GET", "/v1/admin/dashboard", f.token, "", nil, 403, "forbidden"},
		{"child", "GET", "/v1/admin/dashboard", f.childToken, "", nil, 403, "forbidden"},
		{"no token", "GET", "/v1/admin/dashboard", "", "", nil, 401, "unauthorized"},
	})
	for _, file := range []string{"/ui/staff.html", "/ui/staff.js"} {
		res, body := n.uiDo(t, "GET", file, nil, nil, "")
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("%s: %d, CSP %q", file, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
		if strings.Contains(string(body), "innerHTML") || strings.Contains(string(body), "<script>") {
			t.Fatalf("%s builds HTML from strings or has an inline script", file)
		}
	}
}
