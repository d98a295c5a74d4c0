package node

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"daisydog/node/auth"
	"daisydog/storage"
)

// staffAccount is a logged-in administrator or moderator.
type staffAccount struct {
	id, email, password string
	secret              string
	token               string
	recovery            []string
}

type mfaResp struct {
	MFA        string `json:"mfa"`
	MFAToken   string `json:"mfa_token"`
	TOTPSecret string `json:"totp_secret"`
	TOTPURI    string `json:"otpauth_uri"`
}

type staffTokens struct {
	AccessToken   string   `json:"access_token"`
	Role          string   `json:"role"`
	ExpiresIn     int      `json:"expires_in"`
	RecoveryCodes []string `json:"recovery_codes"`
}

// bootstrap creates the first administrator with the node's bootstrap token.
func (tn *testNode) bootstrap(t *testing.T, email string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", tn.base+"/v1/admin/bootstrap",
		strings.NewReader(`{"email":"`+email+`","password":"correct horse battery staple"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bootstrap "+tn.BootstrapToken())
	res, err := tn.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		StaffID string `json:"staff_id"`
		apiErr
	}
	_ = decodeBody(res, &out)
	if out.StaffID == "" {
		return res.StatusCode, out.Error.Code
	}
	return res.StatusCode, out.StaffID
}

// staffLogin runs both login steps (enrolling TOTP on the first login) at
// the node's clock.
func (tn *testNode) staffLogin(t *testing.T, a *staffAccount) {
	t.Helper()
	var m mfaResp
	if st, _ := tn.call(t, "POST", "/v1/admin/login", "", map[string]string{"email": a.email, "password": a.password}, &m); st != 200 {
		t.Fatalf("staff login: %d", st)
	}
	if m.MFA == "enroll" {
		a.secret = m.TOTPSecret
	}
	code, err := auth.TOTPCode(a.secret, tn.cfg.Now())
	if err != nil {
		t.Fatal(err)
	}
	var tok staffTokens
	if st, _ := tn.call(t, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "code": code}, &tok); st != 200 {
		t.Fatalf("staff mfa (%s): %d", m.MFA, st)
	}
	if m.MFA == "enroll" {
		a.recovery = tok.RecoveryCodes
	}
	a.token = tok.AccessToken
}

// newAdmin bootstraps the first administrator and logs in with TOTP.
// The node must run on an injected clock (so the test can step past a
// used TOTP code); see testClock.
func newAdmin(t *testing.T, tn *testNode) *staffAccount {
	t.Helper()
	a := &staffAccount{email: "admin@example.org", password: "correct horse battery staple"}
	st, id := tn.bootstrap(t, a.email)
	if st != 201 {
		t.Fatalf("bootstrap: %d %s", st, id)
	}
	a.id = id
	tn.staffLogin(t, a)
	return a
}

func TestStaffBootstrapMFAAndInvitations(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	tn := startCluster(t, 1, clock.config())[0]
	admin := newAdmin(t, tn)
	if len(admin.recovery) != 10 {
		t.Fatalf("recovery codes: %d, want 10", len(admin.recovery))
	}

	// Bootstrap is one-time, and needs the cluster-derived token.
	if st, code := tn.bootstrap(t, "second@example.org"); st != 409 || code != "already_bootstrapped" {
		t.Fatalf("second bootstrap: %d %s", st, code)
	}
	if st, _ := tn.call(t, "POST", "/v1/admin/bootstrap", "wrong", map[string]string{"email": "x@example.org", "password": "correct horse battery staple"}, nil); st != 401 {
		t.Fatalf("bootstrap with a bearer token: %d", st)
	}

	// The admin token opens admin routes.
	var list struct {
		Staff []struct {
			ID         string `json:"id"`
			Role       string `json:"role"`
			MFAEnabled bool   `json:"mfa_enabled"`
		} `json:"staff"`
	}
	if st, _ := tn.call(t, "GET", "/v1/admin/staff", admin.token, nil, &list); st != 200 || len(list.Staff) != 1 || !list.Staff[0].MFAEnabled || list.Staff[0].Role != "admin" {
		t.Fatalf("staff list: %d %+v", st, list)
	}

	// TOTP replay: the same code in the same step is refused.
	var m mfaResp
	tn.call(t, "POST", "/v1/admin/login", "", map[string]string{"email": admin.email, "password": admin.password}, &m)
	if m.MFA != "verify" || m.TOTPSecret != "" {
		t.Fatalf("second login must ask for verification only: %+v", m)
	}
	code, _ := auth.TOTPCode(admin.secret, clock.now())
	var e apiErr
	if st, _ := tn.call(t, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "code": code}, &e); st != 401 || e.Error.Code != "invalid_mfa_code" {
		t.Fatalf("replayed code: %d %+v", st, e)
	}
	// Wrong code refused; the next step's code works.
	if st, _ := tn.call(t, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "code": "000000"}, nil); st != 401 {
		t.Fatalf("wrong code: %d", st)
	}
	clock.add(auth.TOTPPeriod)
	code, _ = auth.TOTPCode(admin.secret, clock.now())
	var tok staffTokens
	if st, _ := tn.call(t, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "code": code}, &tok); st != 200 || tok.Role != "admin" || tok.ExpiresIn > 900 {
		t.Fatalf("next code: %d %+v", st, tok)
	}
	// A recovery code works once.
	tn.call(t, "POST", "/v1/admin/login", "", map[string]string{"email": admin.email, "password": admin.password}, &m)
	if st, _ := tn.call(t, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "recovery_code": strings.ToLower(admin.recovery[0])}, &tok); st != 200 {
		t.Fatalf("recovery code: %d", st)
	}
	if st, _ := tn.call(t, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "recovery_code": admin.recovery[0]}, nil); st != 401 {
		t.Fatalf("reused recovery code: %d", st)
	}

	// Invitations: single use, role-bound.
	var inv struct {
		InviteToken string `json:"invite_token"`
	}
	if st, _ := tn.call(t, "POST", "/v1/admin/invites", admin.token, map[string]string{"role": "moderator"}, &inv); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	accept := map[string]string{"invite_token": inv.InviteToken, "role": "admin", "email": "mod@example.org", "password": "another long passphrase"}
	if st, _ := tn.call(t, "POST", "/v1/admin/invites/accept", "", accept, &e); st != 401 || e.Error.Code != "invalid_invite" {
		t.Fatalf("invite for another role: %d %+v", st, e)
	}
	accept["role"] = "moderator"
	if st, _ := tn.call(t, "POST", "/v1/admin/invites/accept", "", accept, nil); st != 201 {
		t.Fatalf("accept invite: %d", st)
	}
	accept["email"] = "mod2@example.org"
	if st, _ := tn.call(t, "POST", "/v1/admin/invites/accept", "", accept, nil); st != 401 {
		t.Fatalf("reused invite: %d", st)
	}
	mod := &staffAccount{email: "mod@example.org", password: "another long passphrase"}
	clock.add(auth.TOTPPeriod)
	tn.staffLogin(t, mod)

	// Roles: a moderator cannot invite; parents and children reach no staff route.
	if st, _ := tn.call(t, "POST", "/v1/admin/invites", mod.token, map[string]string{"role": "admin"}, nil); st != 403 {
		t.Fatalf("moderator invites: %d", st)
	}
	fam := newFamily(t, tn, "parent@example.org", "Sam", "9-12")
	for _, tokn := range []string{fam.parentToken, fam.childToken} {
		if st, _ := tn.call(t, "GET", "/v1/moderation/flagged?reason=check+queue", tokn, nil, nil); st != 403 {
			t.Fatalf("family token on moderation: %d", st)
		}
		if st, _ := tn.call(t, "GET", "/v1/admin/staff", tokn, nil, nil); st != 403 {
			t.Fatalf("family token on admin: %d", st)
		}
	}
	// An MFA-pending token opens nothing.
	tn.call(t, "POST", "/v1/admin/login", "", map[string]string{"email": admin.email, "password": admin.password}, &m)
	if st, _ := tn.call(t, "GET", "/v1/admin/staff", m.MFAToken, nil, nil); st != 403 {
		t.Fatalf("mfa-pending token on admin route: %d", st)
	}
	// Staff tokens reach no family route.
	if st, _ := tn.call(t, "GET", "/v1/children", admin.token, nil, nil); st != 403 {
		t.Fatalf("admin on parent route: %d", st)
	}

	// Logout ends the session at once.
	if st, _ := tn.call(t, "POST", "/v1/admin/logout", mod.token, nil, nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if st, _ := tn.call(t, "GET", "/v1/moderation/flagged?reason=check+queue", mod.token, nil, nil); st != 401 {
		t.Fatalf("after logout: %d", st)
	}
	// Tokens expire after 15 minutes.
	clock.add(16 * time.Minute)
	if st, _ := tn.call(t, "GET", "/v1/admin/staff", admin.token, nil, nil); st != 401 {
		t.Fatalf("expired staff token: %d", st)
	}
}

func TestModeratorSeesRedactedExcerptsAndEveryReadIsAudited(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	tn := startCluster(t, 1, clock.config())[0]
	admin := newAdmin(t, tn)
	fam := newFamily(t, tn, "parent@example.org", "Sam", "9-12")
	for _, msg := range []string{"hello Daisy", "a man in a car asked me to come with him, my number is 07700 900123", "tell me a joke"} {
		if st, _ := tn.chat(t, fam.childToken, msg); st != 200 {
			t.Fatalf("chat: %d", st)
		}
	}
	if st, _ := tn.call(t, "GET", "/v1/moderation/flagged", admin.token, nil, nil); st != 422 {
		t.Fatalf("read without a reason: %d", st)
	}
	before := auditCount(t, tn)
	var out struct {
		Events []struct {
			ChildID    string   `json:"child_id"`
			Categories []string `json:"categories"`
			Excerpt    string   `json:"excerpt"`
		} `json:"events"`
	}
	if st, _ := tn.call(t, "GET", "/v1/moderation/flagged?reason=weekly+safety+review", admin.token, nil, &out); st != 200 {
		t.Fatalf("flagged: %d", st)
	}
	if len(out.Events) != 1 {
		t.Fatalf("events: %+v, want exactly the one flagged turn (never the whole history)", out.Events)
	}
	ex := out.Events[0].Excerpt
	if strings.Contains(ex, "07700") || strings.Contains(ex, "900123") || strings.Contains(ex, "hello") || strings.Contains(ex, "joke") {
		t.Fatalf("excerpt %q leaks PII or other turns", ex)
	}
	if out.Events[0].ChildID != fam.childID {
		t.Fatalf("child id %q", out.Events[0].ChildID)
	}
	if after := auditCount(t, tn); after != before+1 {
		t.Fatalf("audit entries %d -> %d: the read must be logged once", before, after)
	}
	last := lastAudit(t, tn)
	if last.Action != "read_flagged_excerpts" || !strings.Contains(last.Target, "reason:weekly safety review") || last.Actor != "admin:"+admin.id {
		t.Fatalf("audit entry %+v", last)
	}
}

func TestAdminIPAllowList(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	tn := startCluster(t, 1, func(c *Config) {
		c.Now = clock.now
		c.AdminNets = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})[0]
	if st, code := tn.bootstrap(t, "admin@example.org"); st != 403 || code != "forbidden" {
		t.Fatalf("bootstrap from outside the allow-list: %d %s", st, code)
	}
	if st, _ := tn.call(t, "POST", "/v1/admin/login", "", map[string]string{"email": "a@example.org", "password": "x"}, nil); st != 403 {
		t.Fatalf("login from outside the allow-list: %d", st)
	}
	// Family routes are unaffected.
	if st, _ := tn.call(t, "GET", "/healthz", "", nil, nil); st != 200 {
		t.Fatalf("healthz: %d", st)
	}
}

func auditCount(t *testing.T, tn *testNode) int {
	t.Helper()
	tail, err := tn.db.AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 1)
	if err != nil || len(tail) == 0 {
		t.Fatalf("audit tail: %v", err)
	}
	return int(tail[0].Seq)
}

func lastAudit(t *testing.T, tn *testNode) storage.AuditEvent {
	t.Helper()
	tail, err := tn.db.AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 1)
	if err != nil || len(tail) == 0 {
		t.Fatalf("audit tail: %v", err)
	}
	return tail[0].AuditEvent
}

type apiErr struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func decodeBody(res *http.Response, out any) error {
	return json.NewDecoder(res.Body).Decode(out)
}
