package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/auth"
	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// Replicator sends a command through consensus and returns the deterministic response.
type Replicator interface {
	Apply(ctx context.Context, cmd []byte) (raftcluster.Response, error)
	// WaitApplied blocks until this node applied the given log index.
	WaitApplied(ctx context.Context, index uint64) error
	// SyncRead waits until this node has applied everything the leader has
	// committed (a read-index), so the next local read is not stale.
	SyncRead(ctx context.Context) error
}

// Evaluator is the active safety policy.
type Evaluator interface {
	Evaluate(ctx context.Context, in policies.Input) (policies.Verdict, error)
	Version() string
}

// Deps are the services the API uses.
type Deps struct {
	DB        *storage.DB
	Vault     *storage.Vault
	Repl      Replicator
	Policy    func() Evaluator // the currently active policy
	Companion *companion.Engine
	// AI is the optional model provider (nil: built-in engine only).
	AI     AIProvider
	Tokens *auth.Tokens
	Hasher *auth.Hasher
	Now    func() time.Time
	Logger *slog.Logger
	// Ready reports whether this node can serve (leader known, token keys and the active policy loaded, storage answering, disk not nearly full).
	Ready func(ctx context.Context) error
	// Join handles the first phase of a node joining (token-authenticated); nil disables it.
	Join http.HandlerFunc
	// PolicyTimeout bounds each policy evaluation once it runs (default 1s).
	PolicyTimeout time.Duration
	// PolicySlots is how many evaluations run at once (default 2×GOMAXPROCS,
	// the policy host's instance pool); PolicyQueueTimeout is how long a turn
	// may wait for one before it is refused with 503 (default 5s). See admission.go.
	PolicySlots        int
	PolicyQueueTimeout time.Duration
	// TurnSlots is how many turns may be in progress on this node at once
	// (default 64); TurnQueueTimeout is how long a turn may wait for one
	// (default 1s; 50ms while a queue stands). See admission.go.
	TurnSlots        int
	TurnQueueTimeout time.Duration
	// AuthPerMinute and AuthBurst limit unauthenticated requests (sign-up,
	// login, refresh, device linking, join) per client IP on this node.
	// Zero means the defaults (30/min, burst 20); negative disables.
	AuthPerMinute, AuthBurst int
	// PolicyAdmin runs the policy lifecycle (admin routes); nil disables them.
	PolicyAdmin PolicyAdmin
	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to
	// call the API cross-origin. Empty means none; "*" is never honoured.
	CORSOrigins []string
	// AdminNets, when set, is the only client networks that may reach the
	// staff routes (/v1/admin/…, /v1/moderation/…).
	AdminNets []netip.Prefix
	// Metrics collects timings and counters (nil = a fresh set); GET
	// /v1/metrics serves them to loopback clients or with MetricsToken.
	Metrics      *Metrics
	MetricsToken string
	// AccountDeps: e-mail delivery and cluster-wide per-client limits.
	AccountDeps
	// Retention is the retention the cluster enforces, published by GET
	// /v1/privacy (zero: no time limits).
	Retention Retention
}

// Server is the HTTP API.
type Server struct {
	Deps
	log     *slog.Logger
	router  *httprouter.Router
	limiter *ipLimiter
	table   routeTable
	// declared holds the roles of the handler being registered (routes only).
	declared []storage.Role
	slots    *slotQueue // policy evaluations
	turns    *slotQueue // turns in progress
	verdicts *verdictCache
	usage    usageCache     // the staff dashboard's totals (dashboard.go)
	alerts   *alertThrottle // parent e-mails about escalated turns (alerts.go)
	// accounts serialises credential checks per account (accountguard.go).
	accounts *accountGuard
	// turnLocks serialises one child's turns on this node (see runTurn).
	turnLocks *childLocks
	// catalog is the Engine over the stored catalogue (see engine).
	catalog catalogCache
}

// New builds the API handler.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PolicyTimeout == 0 {
		d.PolicyTimeout = time.Second
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if d.PolicySlots <= 0 {
		d.PolicySlots = 2 * runtime.GOMAXPROCS(0)
	}
	if d.PolicyQueueTimeout <= 0 {
		d.PolicyQueueTimeout = 5 * time.Second
	}
	if d.TurnSlots <= 0 {
		d.TurnSlots = defaultTurnSlots
	}
	if d.TurnQueueTimeout <= 0 {
		d.TurnQueueTimeout = time.Second
	}
	s := &Server{Deps: d, log: d.Logger.With("component", "api"), router: httprouter.New(), slots: newSlotQueue(d.PolicySlots), turns: newSlotQueue(d.TurnSlots),
		verdicts: newVerdictCache(verdictCacheSize), turnLocks: newChildLocks(), alerts: newAlertThrottle(),
		accounts: newAccountGuard()}
	if d.AuthPerMinute >= 0 {
		perMin, burst := d.AuthPerMinute, d.AuthBurst
		if perMin == 0 {
			perMin = 30
		}
		if burst <= 0 {
			burst = 20
		}
		s.limiter = newIPLimiter(perMin, burst, d.Now)
	}
	s.routes()
	return s
}

// Route is one registered endpoint and the roles it admits (nil: public).
type Route struct {
	Method, Path string
	Roles        []storage.Role
}

// Routes lists every endpoint with the roles it admits, in registration
// order (the authorisation test matrix is generated from it).
func (s *Server) Routes() []Route { return append([]Route(nil), s.table.routes...) }

// routeTable registers handlers on the router and records, for each, the
// roles its as/asAny wrapper declared while the handler was being built.
type routeTable struct {
	s      *Server
	routes []Route
}

func (t *routeTable) add(method, path string, h httprouter.Handle) {
	t.routes = append(t.routes, Route{Method: method, Path: path, Roles: t.s.declared})
	t.s.declared = nil
	t.s.router.Handle(method, path, h)
}

func (t *routeTable) GET(path string, h httprouter.Handle)    { t.add(http.MethodGet, path, h) }
func (t *routeTable) POST(path string, h httprouter.Handle)   { t.add(http.MethodPost, path, h) }
func (t *routeTable) PUT(path string, h httprouter.Handle)    { t.add(http.MethodPut, path, h) }
func (t *routeTable) DELETE(path string, h httprouter.Handle) { t.add(http.MethodDelete, path, h) }
func (t *routeTable) PATCH(path string, h httprouter.Handle)  { t.add(http.MethodPatch, path, h) }

type handler func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error

// authed is a handler that runs for an authenticated actor.
type authed func(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error

func (s *Server) routes() {
	rr := s.router
	rr.RedirectTrailingSlash = false
	rr.RedirectFixedPath = false
	rr.HandleMethodNotAllowed = true
	rt := &s.table
	rt.s = s
	rr.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errNotFound) })
	rr.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed"})
	})
	rr.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) {
		s.log.Error("handler panic", "route", routeOf(r), "panic", v)
		s.writeError(w, r, errInternal)
	}

	rt.GET("/healthz", s.wrap(s.healthz))
	rt.GET("/readyz", s.wrap(s.readyz))
	rt.GET("/.well-known/jwks.json", s.wrap(s.jwks))
	rt.GET("/v1/privacy", s.wrap(s.privacy))
	rt.GET("/v1/openapi.json", s.wrap(s.openAPI))
	rt.GET("/v1/metrics", s.wrap(s.metrics))
	rt.GET("/metrics", s.wrap(s.prometheus))
	rt.POST("/v1/parents/signup", s.wrap(s.limited(s.signUp)))
	rt.POST("/v1/auth/login", s.wrap(s.limited(s.login)))
	rt.POST("/v1/auth/refresh", s.wrap(s.limited(s.refresh)))
	rt.POST("/v1/auth/logout", s.wrap(s.as(storage.RoleParent, s.logout)))
	rt.POST("/v1/auth/logout-all", s.wrap(s.as(storage.RoleParent, s.logoutAll)))
	rt.POST("/v1/auth/verify-email", s.wrap(s.limited(s.verifyEmail)))
	rt.POST("/v1/auth/password-reset", s.wrap(s.limited(s.requestPasswordReset)))
	rt.POST("/v1/auth/password-reset/confirm", s.wrap(s.limited(s.confirmPasswordReset)))
	rt.GET("/v1/parents/me", s.wrap(s.as(storage.RoleParent, s.getParent)))
	rt.POST("/v1/parents/me/verification-email", s.wrap(s.as(storage.RoleParent, s.resendVerification)))
	rt.POST("/v1/children", s.wrap(s.as(storage.RoleParent, s.createChild)))
	rt.GET("/v1/children", s.wrap(s.as(storage.RoleParent, s.listChildren)))
	rt.GET("/v1/children/:id", s.wrap(s.as(storage.RoleParent, s.getChild)))
	rt.POST("/v1/children/:id/link-codes", s.wrap(s.as(storage.RoleParent, s.createLinkCode)))
	rt.GET("/v1/children/:id/turns", s.wrap(s.as(storage.RoleParent, s.childTurns)))
	rt.POST("/v1/devices/link", s.wrap(s.limited(s.linkDevice)))
	rt.POST("/v1/chat", s.wrap(s.as(storage.RoleChild, s.chat)))
	rt.GET("/v1/chat", s.wrap(s.as(storage.RoleChild, s.chatHistory)))
	rt.GET("/v1/chat/daisy", s.wrap(s.as(storage.RoleChild, s.getDaisy)))
	rt.POST("/v1/games", s.wrap(s.as(storage.RoleChild, s.startGame)))
	rt.POST("/v1/games/current/moves", s.wrap(s.as(storage.RoleChild, s.gameMove)))
	rt.GET("/v1/children/:id/devices", s.wrap(s.as(storage.RoleParent, s.listDevices)))
	rt.DELETE("/v1/children/:id/devices/:device", s.wrap(s.as(storage.RoleParent, s.revokeDevice)))
	rt.GET("/v1/children/:id/settings", s.wrap(s.as(storage.RoleParent, s.getSettings)))
	rt.PUT("/v1/children/:id/settings", s.wrap(s.as(storage.RoleParent, s.putSettings)))
	rt.GET("/v1/children/:id/usage", s.wrap(s.as(storage.RoleParent, s.childUsage)))
	rt.GET("/v1/children/:id/consent", s.wrap(s.as(storage.RoleParent, s.getConsent)))
	rt.POST("/v1/children/:id/consent", s.wrap(s.as(storage.RoleParent, s.grantConsent)))
	rt.DELETE("/v1/children/:id/consent", s.wrap(s.as(storage.RoleParent, s.revokeConsent)))
	rt.GET("/v1/packs", s.wrap(s.as(storage.RoleParent, s.listPacks(false))))
	staff := func(h handler) httprouter.Handle { return s.wrap(s.staffOnly(h)) }
	rt.POST("/v1/admin/bootstrap", staff(s.limited(s.bootstrapAdmin)))
	rt.POST("/v1/admin/login", staff(s.limited(s.staffLogin)))
	rt.POST("/v1/admin/mfa", staff(s.limited(s.staffMFA)))
	rt.POST("/v1/admin/invites/accept", staff(s.limited(s.acceptInvite)))
	rt.POST("/v1/admin/logout", staff(s.asAny(s.staffLogout, storage.RoleAdmin, storage.RoleModerator)))
	rt.POST("/v1/admin/invites", staff(s.as(storage.RoleAdmin, s.createInvite)))
	rt.GET("/v1/admin/staff", staff(s.as(storage.RoleAdmin, s.listStaff)))
	rt.GET("/v1/moderation/flagged", staff(s.asAny(s.flaggedTurns, storage.RoleModerator, storage.RoleAdmin)))
	rt.GET("/v1/admin/reports/usage", staff(s.as(storage.RoleAdmin, s.usageReport(false))))
	rt.GET("/v1/admin/reports/usage.csv", staff(s.as(storage.RoleAdmin, s.usageReport(true))))
	rt.GET("/v1/admin/dashboard", staff(s.asAny(s.dashboard, storage.RoleAdmin, storage.RoleModerator)))
	rt.GET("/v1/moderation/summary", staff(s.asAny(s.moderationSummary, storage.RoleModerator, storage.RoleAdmin)))
	rt.POST("/v1/moderation/events/:id/review", staff(s.asAny(s.reviewEvent, storage.RoleModerator, storage.RoleAdmin)))
	rt.POST("/v1/moderation/events/:id/assign", staff(s.asAny(s.assignEvent, storage.RoleModerator, storage.RoleAdmin)))
	rt.PUT("/v1/moderation/children/:id/hold", staff(s.asAny(s.placeHold, storage.RoleModerator, storage.RoleAdmin)))
	rt.DELETE("/v1/moderation/children/:id/hold", staff(s.asAny(s.liftHold, storage.RoleModerator, storage.RoleAdmin)))
	rt.DELETE("/v1/children/:id", s.wrap(s.as(storage.RoleParent, s.deleteChild)))
	rt.GET("/v1/family/export", s.wrap(s.as(storage.RoleParent, s.exportFamily)))
	rt.DELETE("/v1/family", s.wrap(s.as(storage.RoleParent, s.deleteFamily)))
	rt.GET("/v1/admin/retention", staff(s.as(storage.RoleAdmin, s.getRetention)))
	rt.PUT("/v1/admin/retention", staff(s.as(storage.RoleAdmin, s.putRetention)))
	rt.GET("/v1/admin/catalog", staff(s.as(storage.RoleAdmin, s.getCatalog)))
	for path, kind := range catalogPaths {
		rt.GET("/v1/admin/catalog/"+path, staff(s.as(storage.RoleAdmin, s.listCatalog(kind))))
		rt.POST("/v1/admin/catalog/"+path, staff(s.as(storage.RoleAdmin, s.putCatalog(kind, true))))
		rt.PUT("/v1/admin/catalog/"+path+"/:id", staff(s.as(storage.RoleAdmin, s.putCatalog(kind, false))))
		rt.DELETE("/v1/admin/catalog/"+path+"/:id", staff(s.as(storage.RoleAdmin, s.deleteCatalog(kind))))
	}
	rt.GET("/v1/admin/packs", staff(s.as(storage.RoleAdmin, s.listPacks(true))))
	rt.POST("/v1/admin/packs", staff(s.as(storage.RoleAdmin, s.loadPack)))
	rt.DELETE("/v1/admin/packs/:id", staff(s.as(storage.RoleAdmin, s.deletePack)))
	s.uiRoutes(rt)
	s.policyRoutes(rt)
	if s.Join != nil {
		join := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error { s.Join(w, r); return nil }
		rt.POST("/internal/join", s.wrap(s.limited(join)))
	}
}

// ServeHTTP counts and times the request, then serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	s.serve(sw, r)
	s.Metrics.countStatus(sw.status, time.Since(t0))
}

// serve applies the headers every response carries, then routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Add("Vary", "Origin")
		if !s.corsAllowed(origin) {
			if r.Method == http.MethodOptions {
				s.writeError(w, r, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "origin not allowed"})
				return
			}
		} else {
			// Bearer tokens only, never cookies: no Allow-Credentials.
			h.Set("Access-Control-Allow-Origin", origin)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	s.router.ServeHTTP(w, r)
}

func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.CORSOrigins {
		if o == origin && o != "*" && o != "null" {
			return true
		}
	}
	return false
}

func (s *Server) wrap(h handler) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if err := h(w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// as authenticates the bearer token and requires role.
func (s *Server) as(role storage.Role, h authed) handler {
	return s.asAny(h, role)
}

// asAny authenticates the bearer token and requires one of roles.
func (s *Server) asAny(h authed, roles ...storage.Role) handler {
	s.declared = roles
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
		hdr := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(hdr, "Bearer ")
		if !ok || tok == "" {
			return errUnauthorized
		}
		c, err := s.Tokens.Verify(tok)
		if err != nil {
			return errUnauthorized
		}
		role := storage.Role(c.Role)
		allowed := false
		for _, want := range roles {
			allowed = allowed || role == want
		}
		if !allowed {
			return errForbidden
		}
		a := storage.Actor{Role: role, ID: c.Subject, FamilyID: c.FamilyID}
		if role == storage.RoleAdmin || role == storage.RoleModerator {
			a.SessionID = c.SessionID
			// Staff sessions end on logout on every node, and a role or MFA
			// change takes effect at once.
			ok, err := s.DB.StaffSessionActive(r.Context(), a, s.Now().UnixMilli())
			if err == nil && !ok {
				if serr := s.Repl.SyncRead(r.Context()); serr == nil {
					ok, err = s.DB.StaffSessionActive(r.Context(), a, s.Now().UnixMilli())
				}
			}
			if err != nil {
				return err
			}
			if !ok {
				return errUnauthorized
			}
		}
		if role == storage.RoleParent {
			a.SessionID = c.SessionID
			// Logged out (here or on any node) means logged out now, not at expiry.
			err := s.fresh(r.Context(), func() error {
				ok, err := s.DB.SessionActive(r.Context(), a.ID, a.SessionID)
				if err == nil && !ok {
					err = storage.ErrNotFound
				}
				return err
			})
			if errors.Is(err, storage.ErrNotFound) {
				return errUnauthorized
			}
			if err != nil {
				return err
			}
		}
		if role == storage.RoleChild {
			a.DeviceID = c.SessionID
			// The device must still be linked (the parent may have revoked it).
			var child storage.ChildRow
			err := s.fresh(r.Context(), func() (err error) {
				child, err = s.DB.Child(r.Context(), a, a.ID)
				return err
			})
			if errors.Is(err, storage.ErrNotFound) {
				return errUnauthorized
			}
			if err != nil {
				return err
			}
			// Under 13: nothing is collected until a parent has consented
			// (consent.go); a withdrawal applies from the next request.
			if child.NeedsConsent() {
				return errConsentRequired
			}
			// A moderator's safety hold stops the child's chat until the
			// family has been reached (moderation.go).
			if child.OnHold() {
				return errSafetyHold
			}
			r = r.WithContext(context.WithValue(r.Context(), childKey{}, child))
		}
		return h(w, r, p, a)
	}
}

type childKey struct{}

// childOf returns the child profile the middleware loaded for a child token.
func childOf(r *http.Request) storage.ChildRow {
	c, _ := r.Context().Value(childKey{}).(storage.ChildRow)
	return c
}

// fresh runs a local read; if it finds nothing, the node may merely lag the
// leader (the object was just created through another node), so it catches
// up with a read-index and reads once more.
func (s *Server) fresh(ctx context.Context, read func() error) error {
	err := read()
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if serr := s.Repl.SyncRead(ctx); serr != nil {
		return err
	}
	return read()
}

func routeOf(r *http.Request) string {
	// Paths can hold IDs but never personal data; log only the method and first segments.
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return "/" + strings.Join(parts, "/")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	writeJSON(w, http.StatusOK, map[string]any{"keys": s.Tokens.JWKS()})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
