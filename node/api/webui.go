package api

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/auth"
	"daisydog/storage"
)

// The embedded parent console (/ui/). It is static files plus the JSON
// API: pages hold the short-lived access token in memory only and send it
// as a bearer token, which a cross-site request cannot do. The one
// credential a browser sends by itself is the refresh cookie, so the only
// cookie-authenticated endpoints are the three under /v1/ui/, and each is
// protected against cross-site request forgery twice over:
//   - the cookies are __Host- prefixed, Secure, SameSite=Strict (the
//     refresh cookie HttpOnly too), so other sites neither send nor plant them;
//   - every /v1/ui/ request must carry X-CSRF-Token equal to the CSRF
//     cookie (double submit: a cross-site page can read neither), and, when
//     the browser sends Origin, it must be this server's own origin.

//go:embed webui
var webFiles embed.FS

const (
	refreshCookie = "__Host-dd_refresh"
	csrfCookie    = "__Host-dd_csrf"
	csrfHeader    = "X-CSRF-Token"
	uiCSP         = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

var errCSRF = &apiError{Status: http.StatusForbidden, Code: "csrf", Message: "missing or mismatched CSRF token, or a cross-site request"}

func (s *Server) uiRoutes(rt *routeTable) {
	rt.GET("/", s.wrap(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		http.Redirect(w, r, "/ui/", http.StatusFound)
		return nil
	}))
	rt.GET("/ui/*file", s.wrap(s.uiFile))
	rt.POST("/v1/ui/login", s.wrap(s.uiLogin))
	rt.POST("/v1/ui/refresh", s.wrap(s.sameSite(s.uiRefresh)))
	rt.POST("/v1/ui/logout", s.wrap(s.sameSite(s.uiLogout)))
}

func (s *Server) uiFile(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := strings.TrimPrefix(path.Clean("/"+p.ByName("file")), "/")
	if name == "" {
		name = "index.html"
	}
	data, err := fs.ReadFile(webFiles, "webui/"+name)
	if err != nil {
		return errNotFound
	}
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	switch path.Ext(name) {
	case ".html":
		h.Set("Content-Type", "text/html; charset=utf-8")
	case ".js":
		h.Set("Content-Type", "text/javascript; charset=utf-8")
	case ".css":
		h.Set("Content-Type", "text/css; charset=utf-8")
	default:
		h.Set("Content-Type", "application/octet-stream")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// sameSite enforces the CSRF double submit and, when present, the Origin.
func (s *Server) sameSite(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
		if !s.sameOrigin(r) {
			return errCSRF
		}
		c, err := r.Cookie(csrfCookie)
		got := r.Header.Get(csrfHeader)
		if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 {
			return errCSRF
		}
		return h(w, r, p)
	}
}

// sameOrigin accepts a request without Origin (non-browser clients) or one
// whose Origin is this server's own https origin.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Scheme == "https" && u.Host == r.Host
}

// capture records what an inner handler wrote, so the UI endpoints reuse
// the API's login and refresh (lockout, limits, rotation) unchanged.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *capture) WriteHeader(status int)      { c.status = status }

func (s *Server) runInner(h handler, r *http.Request, body []byte) (*capture, error) {
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	inner.Header.Set("Content-Type", "application/json")
	c := &capture{header: http.Header{}, status: http.StatusOK}
	if err := h(c, inner, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// uiLogin logs a parent in for the console: the refresh token goes into an
// HttpOnly cookie, the access token and the CSRF token into the response.
func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if !s.sameOrigin(r) {
		return errCSRF // login CSRF: another site must not log the browser into its account
	}
	var req credentials
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	// #nosec G117 -- the login body forwarded in-process to the login handler, never logged
	body, _ := json.Marshal(req)
	inner := s.login
	if s.limiter != nil {
		inner = s.limited(s.login)
	}
	c, err := s.runInner(inner, r, body)
	if err != nil {
		return err
	}
	return s.uiSession(w, c)
}

func (s *Server) uiRefresh(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	rc, err := r.Cookie(refreshCookie)
	if err != nil || rc.Value == "" {
		return errUnauthorized
	}
	body, _ := json.Marshal(map[string]string{"refresh_token": rc.Value})
	c, err := s.runInner(s.refresh, r, body)
	if err != nil {
		clearUICookies(w)
		return err
	}
	return s.uiSession(w, c)
}

// uiSession moves the refresh token of a login/refresh response into the
// cookie and adds a fresh CSRF token.
func (s *Server) uiSession(w http.ResponseWriter, c *capture) error {
	var tr tokenResponse
	if err := json.Unmarshal(c.body.Bytes(), &tr); err != nil || tr.RefreshToken == "" {
		return errInternal
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	csrf := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Value: tr.RefreshToken, Path: "/", MaxAge: int(RefreshTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	// #nosec G124 -- the CSRF cookie must be readable by the page (double-submit); Secure and SameSite=Strict are set
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/", MaxAge: int(RefreshTTL.Seconds()),
		Secure: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, c.status, map[string]any{"access_token": tr.AccessToken, "token_type": "Bearer", "expires_in": tr.ExpiresIn, "csrf_token": csrf})
	return nil
}

// uiLogout ends the console's session (on every node) and clears the cookies.
func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	rc, err := r.Cookie(refreshCookie)
	if err == nil && rc.Value != "" {
		// Using the refresh token tells us the session; revoking it ends it everywhere.
		body, _ := json.Marshal(map[string]string{"refresh_token": rc.Value})
		if c, err := s.runInner(s.refresh, r, body); err == nil {
			var tr tokenResponse
			if json.Unmarshal(c.body.Bytes(), &tr) == nil && tr.AccessToken != "" {
				if claims, err := s.Tokens.Verify(tr.AccessToken); err == nil {
					rv := r.Clone(r.Context())
					rv.Body, rv.ContentLength = http.NoBody, 0
					_ = s.revoke(&capture{header: http.Header{}}, rv, actorOfClaims(claims), claims.SessionID)
				}
			}
		}
	}
	clearUICookies(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func clearUICookies(w http.ResponseWriter) {
	for _, name := range []string{refreshCookie, csrfCookie} {
		// #nosec G124 -- the CSRF cookie must be readable by the page (double-submit); Secure and SameSite=Strict are set
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: name == refreshCookie,
			SameSite: http.SameSiteStrictMode})
	}
}

func actorOfClaims(c *auth.Claims) storage.Actor {
	return storage.Actor{Role: storage.RoleParent, ID: c.Subject, FamilyID: c.FamilyID, SessionID: c.SessionID}
}
