package node

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// uiClient is a cookie-keeping client, like a browser tab.
func uiClient(t *testing.T, tn *testNode) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: tn.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func uiDo(t *testing.T, c *http.Client, method, u string, hdr map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, data
}

func TestWebUICookieSessionAndCSRF(t *testing.T) {
	t.Parallel()
	tn := startCluster(t, 1, nil)[0]
	newFamily(t, tn, "ui@example.org", "Robin", "9-12")
	c := uiClient(t, tn)

	// The console is served with a strict CSP; / redirects to it.
	res, body := uiDo(t, c, "GET", tn.base+"/", nil, "")
	if res.StatusCode != 302 || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("/: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = uiDo(t, c, "GET", tn.base+"/ui/", nil, "")
	if res.StatusCode != 200 || !strings.Contains(string(body), "parent console") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("/ui/: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := uiDo(t, c, "GET", tn.base+"/ui/../../etc/passwd", nil, ""); res.StatusCode != 404 {
		t.Fatalf("path traversal: %d", res.StatusCode)
	}

	creds := `{"email":"ui@example.org","password":"correct horse battery staple"}`
	// Login CSRF: another origin cannot log this browser in.
	if res, _ := uiDo(t, c, "POST", tn.base+"/v1/ui/login", map[string]string{"Origin": "https://evil.example"}, creds); res.StatusCode != 403 {
		t.Fatalf("cross-site login: %d", res.StatusCode)
	}
	res, body = uiDo(t, c, "POST", tn.base+"/v1/ui/login", map[string]string{"Origin": tn.base}, creds)
	if res.StatusCode != 200 {
		t.Fatalf("ui login: %d %s", res.StatusCode, body)
	}
	var sess struct {
		AccessToken  string `json:"access_token"`
		CSRFToken    string `json:"csrf_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &sess); err != nil || sess.AccessToken == "" || sess.CSRFToken == "" || sess.RefreshToken != "" {
		t.Fatalf("ui login body %s (the refresh token must stay in the cookie)", body)
	}
	var refreshSet, csrfSet bool
	for _, ck := range res.Cookies() {
		switch ck.Name {
		case "__Host-dd_refresh":
			refreshSet = ck.HttpOnly && ck.Secure && ck.SameSite == http.SameSiteStrictMode && ck.Path == "/" && ck.Domain == ""
		case "__Host-dd_csrf":
			csrfSet = !ck.HttpOnly && ck.Secure && ck.SameSite == http.SameSiteStrictMode && ck.Value == sess.CSRFToken
		}
	}
	if !refreshSet || !csrfSet {
		t.Fatalf("cookies %v: want __Host- prefixed, Secure, SameSite=Strict (refresh HttpOnly)", res.Header["Set-Cookie"])
	}
	// The API itself never authenticates by cookie: a bare request with the cookies is refused.
	if res, _ := uiDo(t, c, "GET", tn.base+"/v1/children", nil, ""); res.StatusCode != 401 {
		t.Fatalf("cookie-only API call: %d", res.StatusCode)
	}
	if res, _ := uiDo(t, c, "GET", tn.base+"/v1/children", map[string]string{"Authorization": "Bearer " + sess.AccessToken}, ""); res.StatusCode != 200 {
		t.Fatalf("bearer API call: %d", res.StatusCode)
	}

	// Refresh needs the double-submitted CSRF token and a same-site origin.
	for name, hdr := range map[string]map[string]string{
		"no CSRF header":    nil,
		"wrong CSRF header": {"X-CSRF-Token": "nope"},
		"cross-site origin": {"X-CSRF-Token": sess.CSRFToken, "Origin": "https://evil.example"},
		"http origin":       {"X-CSRF-Token": sess.CSRFToken, "Origin": strings.Replace(tn.base, "https", "http", 1)},
	} {
		if res, body := uiDo(t, c, "POST", tn.base+"/v1/ui/refresh", hdr, ""); res.StatusCode != 403 || !strings.Contains(string(body), `"csrf"`) {
			t.Fatalf("%s: %d %s", name, res.StatusCode, body)
		}
	}
	res, body = uiDo(t, c, "POST", tn.base+"/v1/ui/refresh", map[string]string{"X-CSRF-Token": sess.CSRFToken, "Origin": tn.base}, "")
	if res.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", res.StatusCode, body)
	}
	var next struct {
		AccessToken string `json:"access_token"`
		CSRFToken   string `json:"csrf_token"`
	}
	_ = json.Unmarshal(body, &next)

	// Logout ends the session everywhere and clears the cookies.
	if res, _ := uiDo(t, c, "POST", tn.base+"/v1/ui/logout", map[string]string{"X-CSRF-Token": next.CSRFToken}, ""); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res, _ := uiDo(t, c, "GET", tn.base+"/v1/children", map[string]string{"Authorization": "Bearer " + next.AccessToken}, ""); res.StatusCode != 401 {
		t.Fatalf("access token after UI logout: %d", res.StatusCode)
	}
	u, _ := url.Parse(tn.base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-dd_refresh" {
			t.Fatalf("refresh cookie still set after logout")
		}
	}
}
