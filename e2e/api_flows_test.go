package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/wasm/wasmtest"

	"github.com/klauspost/compress/zstd"
)

// TestAPIFlows drives one three-node cluster of the real binary through
// the API flows the other e2e tests do not: parent accounts (e-mail
// verification and password reset through the mail outbox, refresh and
// logout), a parent's controls (settings, time limits, bedtime, usage,
// devices, history, export and deletion), play (tricks, feeding, games),
// the optional AI provider (a stand-in in this process), staff (admin
// created with the CLI, invites, MFA, moderation), the catalogue and
// content packs, the policy admin, and error answers. Writes go through
// one node and are read back through another, so every effect checked is
// a replicated one.
func TestAPIFlows(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	dir := t.TempDir()
	aiKey := "sk-test-" + randLetters(20)
	aiKeyFile := filepath.Join(dir, "ai.key")
	if err := os.WriteFile(aiKeyFile, []byte(aiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ai := newAIStub(aiKey)
	t.Cleanup(ai.srv.Close)
	outbox := filepath.Join(dir, "mail.jsonl")
	metricsToken := "metrics-" + randLetters(24)
	tokenFile := filepath.Join(dir, "metrics.token")
	if err := os.WriteFile(tokenFile, []byte(metricsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, 3,
		"--mail-outbox", outbox, // every node appends to it (one write per e-mail)
		"--ai-url", ai.srv.URL+"/v1", "--ai-model", "stand-in", "--ai-daily-budget", "5", "--ai-key-file", aiKeyFile,
		"--metrics-token-file", tokenFile,
		"--cors-origins", "https://console.example.test",
		"--limit-password-reset", "3",
		"--auth-rate", "600")
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	fl := &flows{cluster: c, outbox: outbox, adm: &adminState{}}

	t.Run("parent account", func(t *testing.T) { fl.in(t).accounts(t, n1, n2, n3) })
	t.Run("lockout across nodes", func(t *testing.T) { fl.in(t).lockout(t, c.nodes) })
	t.Run("parent controls", func(t *testing.T) { fl.in(t).controls(t, n1, n2, n3) })
	t.Run("play", func(t *testing.T) { fl.in(t).play(t, n1, n2, n3) })
	t.Run("games to the end", func(t *testing.T) { fl.in(t).games(t, c.nodes) })
	t.Run("AI provider", func(t *testing.T) { fl.in(t).aiProvider(t, ai, n1, n3) })
	t.Run("staff and moderation", func(t *testing.T) { fl.in(t).staff(t, n1, n2, n3) })
	t.Run("catalogue and packs", func(t *testing.T) { fl.in(t).catalogue(t, n1, n2, n3) })
	t.Run("policy admin", func(t *testing.T) { fl.in(t).policyAdmin(t, n1, n2, n3) })
	t.Run("error answers", func(t *testing.T) { fl.in(t).errorAnswers(t, n1, n2) })
	t.Run("parent console session", func(t *testing.T) { fl.in(t).console(t, n1, n2, n3) })
	t.Run("privacy", func(t *testing.T) { fl.in(t).privacy(t, n1, n2, n3) })
}

// flows is the shared cluster seen from one subtest (helpers that fail
// the test must fail the subtest running them).
type flows struct {
	*cluster
	outbox string
	adm    *adminState
}

type adminState struct {
	once  sync.Once
	token string
}

// in returns f bound to subtest t: the cluster's helpers and API client
// report to t. The processes stay with the parent test.
func (f *flows) in(t *testing.T) *flows {
	c := *f.cluster
	c.env = &env{t: t, root: f.root, logDir: f.logDir, count: map[string]int{}}
	c.api = &apiClient{t: t, hc: f.api.hc}
	return &flows{cluster: &c, outbox: f.outbox, adm: f.adm}
}

// raw sends body as is with content type ctype (and extra header pairs).
func (f *flows) raw(t *testing.T, method, url, token, ctype string, body []byte, hdr ...string) apiResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := f.api.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResp{Status: res.StatusCode, Header: res.Header, Body: data}
}

// errCode is the code of an error envelope ("" if none).
func errCode(r apiResp) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// replicaWait bounds how long a change made through one node may take to
// show on another. A node reads locally; it catches up with the leader
// first only when it does not know the object at all, so an update
// (a logout, new settings) reaches the others as they apply the log.
const replicaWait = 10 * time.Second

// getUntil polls GET url on another node until it answers 200 with a body
// (decoded into out, a pointer, zeroed first) for which ok holds.
func (f *flows) getUntil(t *testing.T, what, url, token string, out any, ok func() bool) {
	t.Helper()
	waitFor(t, replicaWait, what, func() (bool, string) {
		r := f.do(t, "GET", url, token, nil)
		if r.Status != 200 {
			return false, r.String()
		}
		reflect.ValueOf(out).Elem().SetZero() // fields the answer omits must not keep old values
		r.decode(t, out)
		return ok(), r.String()
	})
}

// errUntil polls a request until it answers status with code.
func (f *flows) errUntil(t *testing.T, what string, req func() apiResp, status int, code string) {
	t.Helper()
	waitFor(t, replicaWait, what, func() (bool, string) {
		r := req()
		return r.Status == status && errCode(r) == code, r.String()
	})
}

// wantErr checks an error answer's status and code.
func wantErr(t *testing.T, what string, r apiResp, status int, code string) {
	t.Helper()
	if r.Status != status || errCode(r) != code {
		t.Fatalf("%s: %s, want %d %s", what, r, status, code)
	}
}

// do sends a JSON request and fails the test on a transport error.
func (f *flows) do(t *testing.T, method, url, token string, body any) apiResp {
	t.Helper()
	r, err := f.api.do(method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

var mailTokenRe = regexp.MustCompile(`\b(ev|pr)_[A-Za-z0-9_-]{43}\b`)

// mailed waits for the nth (1-based) e-mail of kind to address in the
// outbox and returns the token it carries.
func (f *flows) mailed(t *testing.T, to, kind string, nth int) string {
	t.Helper()
	_, body := f.mailedText(t, to, kind, nth)
	tok := mailTokenRe.FindString(body)
	if tok == "" {
		t.Fatalf("%s e-mail carries no token: %q", kind, body)
	}
	return tok
}

// mailedText waits for the nth (1-based) e-mail of kind to address in the
// outbox and returns its subject and body.
func (f *flows) mailedText(t *testing.T, to, kind string, nth int) (subject, body string) {
	t.Helper()
	return mailedFrom(t, f.outbox, to, kind, nth)
}

// mailedFrom waits for the nth (1-based) e-mail of kind to address in an
// outbox file and returns its subject and body.
func mailedFrom(t *testing.T, outbox, to, kind string, nth int) (subject, body string) {
	t.Helper()
	waitFor(t, 20*time.Second, "e-mail "+kind+" #"+strconv.Itoa(nth)+" to "+to, func() (bool, string) {
		b, err := os.ReadFile(outbox)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		seen := 0
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e struct{ To, Kind, Subject, Body string }
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("outbox line %q: %v", sc.Text(), err)
			}
			if e.To == to && e.Kind == kind {
				if seen++; seen == nth {
					subject, body = e.Subject, e.Body
					return true, ""
				}
			}
		}
		return false, strconv.Itoa(seen) + " so far"
	})
	return subject, body
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func (f *flows) login(t *testing.T, n *node, email, password string) tokens {
	t.Helper()
	var tok tokens
	f.api.must(200, "POST", n.url("/v1/auth/login"), "", map[string]string{"email": email, "password": password}).decode(t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("login gave no tokens: %+v", tok)
	}
	return tok
}

func (f *flows) accounts(t *testing.T, n1, n2, n3 *node) {
	email := "acct-" + randLetters(10) + "@example.test"
	password := "correct horse battery " + randLetters(6)
	creds := map[string]string{"email": email, "password": password}

	wantErr(t, "sign-up with a weak password", f.do(t, "POST", n1.url("/v1/parents/signup"), "", map[string]string{"email": email, "password": "short"}), 422, "invalid")
	wantErr(t, "sign-up with a bad address", f.do(t, "POST", n1.url("/v1/parents/signup"), "", map[string]string{"email": "not-an-address", "password": password}), 422, "invalid")
	var signup struct {
		ParentID      string `json:"parent_id"`
		EmailVerified bool   `json:"email_verified"`
	}
	f.api.must(201, "POST", n2.url("/v1/parents/signup"), "", creds).decode(t, &signup)
	if !strings.HasPrefix(signup.ParentID, "pa_") || signup.EmailVerified {
		t.Fatalf("sign-up answer %+v", signup)
	}
	wantErr(t, "second sign-up with the address, on another node", f.do(t, "POST", n3.url("/v1/parents/signup"), "", creds), 409, "conflict")

	// E-mail verification: the token from the mail works once, on any node.
	tok := f.login(t, n1, email, password)
	var me struct {
		ID            string `json:"id"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	f.api.must(200, "GET", n3.url("/v1/parents/me"), tok.AccessToken, nil).decode(t, &me)
	if me.ID != signup.ParentID || me.Email != email || me.EmailVerified {
		t.Fatalf("parent before verification: %+v", me)
	}
	first := f.mailed(t, email, "verify_email", 1) // sent after the sign-up, in the background
	f.api.must(202, "POST", n1.url("/v1/parents/me/verification-email"), tok.AccessToken, nil)
	latest := f.mailed(t, email, "verify_email", 2)
	wantErr(t, "the replaced verification token", f.do(t, "POST", n2.url("/v1/auth/verify-email"), "", map[string]string{"token": first}), 400, "invalid_token")
	f.api.must(200, "POST", n2.url("/v1/auth/verify-email"), "", map[string]string{"token": latest})
	wantErr(t, "the verification token again", f.do(t, "POST", n3.url("/v1/auth/verify-email"), "", map[string]string{"token": latest}), 410, "token_used")
	f.getUntil(t, "the address verified, through n3", n3.url("/v1/parents/me"), tok.AccessToken, &me, func() bool { return me.EmailVerified })
	wantErr(t, "resend when verified", f.do(t, "POST", n1.url("/v1/parents/me/verification-email"), tok.AccessToken, nil), 409, "already_verified")

	// A verified parent hears of an escalated turn: an e-mail naming the
	// child and what kind of thing Daisy noticed, never the message.
	var kid struct{ ID string }
	f.api.must(201, "POST", n1.url("/v1/children"), tok.AccessToken, map[string]string{"nickname": "Juniper", "age_tier": "9-12"}).decode(t, &kid)
	var code struct{ Code string }
	f.api.must(201, "POST", n2.url("/v1/children/"+kid.ID+"/link-codes"), tok.AccessToken, nil).decode(t, &code)
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	f.api.must(201, "POST", n3.url("/v1/devices/link"), "", map[string]string{"code": code.Code}).decode(t, &dev)
	// Under 13: nothing until the (verified) parent consents, through n1.
	wantErr(t, "a 9-12 profile before consent", f.do(t, "POST", n3.url("/v1/chat"), dev.AccessToken, map[string]string{"message": "hello"}), 403, "consent_required")
	f.consent(n1, tok.AccessToken, email, kid.ID)
	f.getUntil(t, "the device admitted on n3", n3.url("/v1/chat/daisy"), dev.AccessToken, &map[string]any{}, func() bool { return true })
	f.api.must(200, "POST", n3.url("/v1/chat"), dev.AccessToken, map[string]string{"message": "he says it's our little secret and mom can't know"})
	subject, body := f.mailedText(t, email, "safety_alert", 1)
	if subject != "DaisyDog: please check in with Juniper" || !strings.Contains(body, "secrets, gifts, photos or a meeting") ||
		strings.Contains(body, "little secret") || strings.Contains(body, "mom") {
		t.Fatalf("safety alert %q:\n%s", subject, body)
	}

	// Refresh rotates; a spent refresh token ends the session everywhere.
	var next tokens
	f.api.must(200, "POST", n2.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": tok.RefreshToken}).decode(t, &next)
	if next.RefreshToken == tok.RefreshToken || next.TokenType != "Bearer" || next.ExpiresIn <= 0 {
		t.Fatalf("refresh answer %+v", next)
	}
	f.api.must(200, "GET", n3.url("/v1/children"), next.AccessToken, nil)
	wantErr(t, "reused refresh token", f.do(t, "POST", n3.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": tok.RefreshToken}), 401, "token_reused")
	f.errUntil(t, "access token after reuse detection, on n1", func() apiResp { return f.do(t, "GET", n1.url("/v1/children"), next.AccessToken, nil) }, 401, "unauthorized")

	// Logout ends one session, logout-all every one, on every node.
	a, b := f.login(t, n1, email, password), f.login(t, n2, email, password)
	f.api.must(204, "POST", n1.url("/v1/auth/logout"), a.AccessToken, nil)
	f.errUntil(t, "logged-out token on n3", func() apiResp { return f.do(t, "GET", n3.url("/v1/children"), a.AccessToken, nil) }, 401, "unauthorized")
	f.api.must(200, "GET", n3.url("/v1/children"), b.AccessToken, nil)
	f.api.must(204, "POST", n3.url("/v1/auth/logout-all"), b.AccessToken, map[string]any{})
	f.errUntil(t, "after logout-all, on n2", func() apiResp { return f.do(t, "GET", n2.url("/v1/children"), b.AccessToken, nil) }, 401, "unauthorized")

	// Password reset: the same answer for unknown addresses; the mailed
	// token sets a new password once and ends every session.
	c := f.login(t, n1, email, password)
	var known, unknown map[string]string
	f.api.must(202, "POST", n1.url("/v1/auth/password-reset"), "", map[string]string{"email": email}).decode(t, &known)
	f.api.must(202, "POST", n2.url("/v1/auth/password-reset"), "", map[string]string{"email": "nobody-" + randLetters(8) + "@example.test"}).decode(t, &unknown)
	if known["status"] != "accepted" || known["message"] != unknown["message"] {
		t.Fatalf("reset answers differ: known %v unknown %v", known, unknown)
	}
	reset := f.mailed(t, email, "password_reset", 1)
	newPassword := "a brand new horse " + randLetters(6)
	wantErr(t, "reset with a weak password", f.do(t, "POST", n3.url("/v1/auth/password-reset/confirm"), "", map[string]string{"token": reset, "password": "short"}), 422, "invalid")
	f.api.must(204, "POST", n3.url("/v1/auth/password-reset/confirm"), "", map[string]string{"token": reset, "password": newPassword})
	wantErr(t, "the reset token again", f.do(t, "POST", n1.url("/v1/auth/password-reset/confirm"), "", map[string]string{"token": reset, "password": newPassword}), 410, "token_used")
	f.errUntil(t, "session after the reset, on n2", func() apiResp { return f.do(t, "GET", n2.url("/v1/children"), c.AccessToken, nil) }, 401, "unauthorized")
	wantErr(t, "old password", f.do(t, "POST", n2.url("/v1/auth/login"), "", creds), 401, "invalid_credentials")
	f.login(t, n1, email, newPassword)

	// The reset limit (3 an hour here) is cluster-wide: the third request
	// went through n1, the fourth is refused by n3.
	f.api.must(202, "POST", n1.url("/v1/auth/password-reset"), "", map[string]string{"email": email})
	r := f.do(t, "POST", n3.url("/v1/auth/password-reset"), "", map[string]string{"email": email})
	wantErr(t, "fourth reset request", r, 429, "rate_limited")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s <= 0 {
		t.Fatalf("Retry-After %q on a rate-limited answer", r.Header.Get("Retry-After"))
	}
}

// lockout fails logins for one address through each node in turn until
// the address is locked; then even the right password is refused on
// every node, with Retry-After, while another address still logs in.
func (f *flows) lockout(t *testing.T, nodes []*node) {
	fam := f.newFamily(nodes[0], "", "")
	other := f.newFamily(nodes[1], "", "")
	wrong := map[string]string{"email": fam.email, "password": "not the password at all"}
	failures := 0
	for ; failures < 30; failures++ {
		r := f.do(t, "POST", nodes[failures%len(nodes)].url("/v1/auth/login"), "", wrong)
		if r.Status == 429 && errCode(r) == "locked" {
			break
		}
		wantErr(t, fmt.Sprintf("failure %d", failures+1), r, 401, "invalid_credentials")
	}
	if failures < 2 || failures == 30 {
		t.Fatalf("locked after %d failures", failures)
	}
	for _, n := range nodes {
		r := f.do(t, "POST", n.url("/v1/auth/login"), "", map[string]string{"email": fam.email, "password": fam.password})
		wantErr(t, "the right password while locked, on "+n.id, r, 429, "locked")
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs <= 0 {
			t.Fatalf("Retry-After %q while locked", r.Header.Get("Retry-After"))
		}
	}
	f.login(t, nodes[2], other.email, other.password)
	// The sessions the family already had still work (a lockout stops logins only).
	f.api.must(200, "GET", nodes[1].url("/v1/children"), fam.parentToken, nil)
}

type settings struct {
	DailyLimitMinutes int `json:"daily_limit_minutes"`
	Bedtime           struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"bedtime"`
	TimeZone string `json:"time_zone"`
	Features struct {
		Games        bool `json:"games"`
		Jokes        bool `json:"jokes"`
		Stories      bool `json:"stories"`
		AIMode       bool `json:"ai_mode"`
		ContentPacks bool `json:"content_packs"`
	} `json:"features"`
	Strictness   string   `json:"strictness"`
	AIConsent    bool     `json:"ai_third_party_consent"`
	ContentPacks []string `json:"content_packs"`
}

func settingsBody(mod func(m map[string]any)) map[string]any {
	m := map[string]any{"time_zone": "UTC", "strictness": "standard", "features": map[string]bool{"games": true, "jokes": true, "stories": true}}
	if mod != nil {
		mod(m)
	}
	return m
}

type daisyView struct {
	Mood      string `json:"mood"`
	Hunger    int    `json:"hunger"`
	Energy    int    `json:"energy"`
	Available bool   `json:"available"`
	Reason    string `json:"reason"`
	Game      *struct {
		Kind   string `json:"kind"`
		Phase  string `json:"phase"`
		Active bool   `json:"active"`
	} `json:"game"`
}

func (f *flows) controls(t *testing.T, n1, n2, n3 *node) {
	fam := f.newFamily(n1, "", "")
	other := f.newFamily(n2, "", "")
	path := "/v1/children/" + fam.childID + "/settings"

	var def settings
	f.api.must(200, "GET", n2.url(path), fam.parentToken, nil).decode(t, &def)
	if def.TimeZone != "UTC" || def.Strictness != "standard" || !def.Features.Games || def.DailyLimitMinutes != 0 {
		t.Fatalf("default settings %+v", def)
	}
	wantErr(t, "unknown time zone", f.do(t, "PUT", n1.url(path), fam.parentToken, settingsBody(func(m map[string]any) { m["time_zone"] = "Mars/Olympus" })), 422, "invalid")
	wantErr(t, "half a bedtime", f.do(t, "PUT", n1.url(path), fam.parentToken, settingsBody(func(m map[string]any) { m["bedtime"] = map[string]string{"start": "20:00"} })), 422, "invalid")
	for name, mod := range map[string]func(m map[string]any){
		"a daily limit over a day": func(m map[string]any) { m["daily_limit_minutes"] = 24*60 + 1 },
		"a negative daily limit":   func(m map[string]any) { m["daily_limit_minutes"] = -5 },
		"a bedtime at 24:00":       func(m map[string]any) { m["bedtime"] = map[string]string{"start": "20:00", "end": "24:00"} },
		"a bedtime at 7pm":         func(m map[string]any) { m["bedtime"] = map[string]string{"start": "7pm", "end": "07:00"} },
		"an unknown strictness":    func(m map[string]any) { m["strictness"] = "lenient" },
		"a malformed content pack": func(m map[string]any) { m["content_packs"] = []string{"Space Pups!"} },
	} {
		wantErr(t, name, f.do(t, "PUT", n1.url(path), fam.parentToken, settingsBody(mod)), 422, "invalid")
	}
	wantErr(t, "another family's child", f.do(t, "PUT", n1.url("/v1/children/"+other.childID+"/settings"), fam.parentToken, settingsBody(nil)), 404, "not_found")
	wantErr(t, "the child's own token", f.do(t, "GET", n1.url(path), fam.childToken, nil), 403, "forbidden")

	// Written through n2, read back through n3.
	f.api.must(200, "PUT", n2.url(path), fam.parentToken, settingsBody(func(m map[string]any) {
		m["time_zone"], m["strictness"], m["daily_limit_minutes"] = "Europe/Berlin", "strict", 45
		m["features"] = map[string]bool{"games": false, "jokes": true, "stories": true}
	}))
	var back settings
	f.getUntil(t, "the settings through n3", n3.url(path), fam.parentToken, &back, func() bool {
		return back.TimeZone == "Europe/Berlin" && back.Strictness == "strict" && back.DailyLimitMinutes == 45 && !back.Features.Games && back.Features.Jokes
	})
	var otherBack settings
	f.api.must(200, "GET", n3.url("/v1/children/"+other.childID+"/settings"), other.parentToken, nil).decode(t, &otherBack)
	if otherBack.TimeZone != "UTC" {
		t.Fatalf("another family's settings changed: %+v", otherBack)
	}

	// Games off: a game request gets a reply but no game.
	var g struct {
		Turn turn `json:"turn"`
		Game any  `json:"game"`
	}
	f.api.must(200, "POST", n3.url("/v1/games"), fam.childToken, map[string]string{"kind": "fetch"}).decode(t, &g)
	if g.Game != nil || g.Turn.Reply == "" {
		t.Fatalf("game started although games are off: %+v", g)
	}

	// Usage counts the turns; the time limit is shown.
	f.api.must(200, "POST", n1.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello daisy"})
	var u struct {
		TurnsToday        int    `json:"turns_today"`
		DailyLimitMinutes int    `json:"daily_limit_minutes"`
		MinutesLeft       int    `json:"minutes_left"`
		Available         bool   `json:"available"`
		Reason            string `json:"reason"`
		TimeZone          string `json:"time_zone"`
		Achievements      []struct {
			Earned bool `json:"earned"`
		} `json:"achievements"`
	}
	f.getUntil(t, "usage after two turns, through n2", n2.url("/v1/children/"+fam.childID+"/usage"), fam.parentToken, &u, func() bool {
		return u.TurnsToday == 2 && u.DailyLimitMinutes == 45 && u.MinutesLeft >= 0 && u.MinutesLeft <= 45 && u.Available && u.TimeZone == "Europe/Berlin" && len(u.Achievements) > 0
	})
	wantErr(t, "another family's usage", f.do(t, "GET", n2.url("/v1/children/"+other.childID+"/usage"), fam.parentToken, nil), 404, "not_found")

	// Bedtime around now: Daisy rests (on every node) and says so.
	now := time.Now().UTC()
	f.api.must(200, "PUT", n1.url(path), fam.parentToken, settingsBody(func(m map[string]any) {
		m["bedtime"] = map[string]string{"start": now.Add(-time.Hour).Format("15:04"), "end": now.Add(time.Hour).Format("15:04")}
	}))
	var d daisyView
	f.getUntil(t, "Daisy resting at bedtime, through n3", n3.url("/v1/chat/daisy"), fam.childToken, &d, func() bool { return !d.Available && d.Reason != "" })
	f.getUntil(t, "usage at bedtime, through n2", n2.url("/v1/children/"+fam.childID+"/usage"), fam.parentToken, &u, func() bool { return !u.Available })
	if u.Reason != d.Reason {
		t.Fatalf("usage at bedtime gives the reason %q, Daisy %q", u.Reason, d.Reason)
	}
	tu := turnOf(t, f.api.must(200, "POST", n2.url("/v1/chat"), fam.childToken, map[string]string{"message": "tell me a joke"}))
	if tu.Intent == "jokes" || tu.Reply == "" {
		t.Fatalf("a turn at bedtime was answered as usual: %+v", tu)
	}
	f.api.must(200, "PUT", n1.url(path), fam.parentToken, settingsBody(nil))
	f.getUntil(t, "Daisy back after bedtime was removed, through n3", n3.url("/v1/chat/daisy"), fam.childToken, &d, func() bool { return d.Available })
	// A bedtime later today leaves Daisy awake now; one that spans midnight
	// (from an hour ago to two hours before now, tomorrow) puts her to rest.
	bed := func(start, end time.Time) {
		f.api.must(200, "PUT", n1.url(path), fam.parentToken, settingsBody(func(m map[string]any) {
			m["bedtime"] = map[string]string{"start": start.Format("15:04"), "end": end.Format("15:04")}
		}))
	}
	var sb settings
	bed(now.Add(time.Hour), now.Add(2*time.Hour))
	f.getUntil(t, "the later bedtime through n3", n3.url(path), fam.parentToken, &sb, func() bool { return sb.Bedtime.Start == now.Add(time.Hour).Format("15:04") })
	f.api.must(200, "GET", n3.url("/v1/chat/daisy"), fam.childToken, nil).decode(t, &d)
	if !d.Available {
		t.Fatalf("Daisy rests before a bedtime that starts in an hour: %+v", d)
	}
	bed(now.Add(-time.Hour), now.Add(-2*time.Hour))
	f.getUntil(t, "Daisy resting in a bedtime across midnight, through n3", n3.url("/v1/chat/daisy"), fam.childToken, &d, func() bool { return !d.Available && d.Reason != "" })
	f.api.must(200, "PUT", n1.url(path), fam.parentToken, settingsBody(nil))
	f.getUntil(t, "Daisy back after the bedtime across midnight was removed, through n3", n3.url("/v1/chat/daisy"), fam.childToken, &d, func() bool { return d.Available })

	// Children and devices: a second child, a second device, revocation.
	var child struct {
		ID       string `json:"id"`
		Nickname string `json:"nickname"`
		AgeTier  string `json:"age_tier"`
	}
	wantErr(t, "bad age tier", f.do(t, "POST", n1.url("/v1/children"), fam.parentToken, map[string]string{"nickname": "Ada", "age_tier": "3-4"}), 422, "invalid")
	f.api.must(201, "POST", n1.url("/v1/children"), fam.parentToken, map[string]string{"nickname": "Ada", "age_tier": "5-8"}).decode(t, &child)
	var list struct {
		Children []struct {
			ID       string `json:"id"`
			Nickname string `json:"nickname"`
		} `json:"children"`
	}
	f.getUntil(t, "both children through n3", n3.url("/v1/children"), fam.parentToken, &list, func() bool {
		names := map[string]string{}
		for _, ch := range list.Children {
			names[ch.ID] = ch.Nickname
		}
		return len(names) == 2 && names[child.ID] == "Ada" && names[fam.childID] == fam.nickname
	})
	f.api.must(200, "GET", n2.url("/v1/children/"+child.ID), fam.parentToken, nil).decode(t, &child)
	if child.Nickname != "Ada" || child.AgeTier != "5-8" {
		t.Fatalf("child read through n2: %+v", child)
	}
	wantErr(t, "another family's child", f.do(t, "GET", n2.url("/v1/children/"+other.childID), fam.parentToken, nil), 404, "not_found")

	type devices struct {
		Devices []struct {
			ID        string `json:"id"`
			RevokedAt string `json:"revoked_at"`
		} `json:"devices"`
	}
	var ds devices
	f.api.must(200, "GET", n3.url("/v1/children/"+fam.childID+"/devices"), fam.parentToken, nil).decode(t, &ds)
	if len(ds.Devices) != 1 || ds.Devices[0].RevokedAt != "" {
		t.Fatalf("devices of a new family: %+v", ds)
	}
	revoked := ds.Devices[0].ID
	var code struct {
		Code string `json:"code"`
	}
	f.api.must(201, "POST", n2.url("/v1/children/"+fam.childID+"/link-codes"), fam.parentToken, nil).decode(t, &code)
	wantErr(t, "malformed link code", f.do(t, "POST", n1.url("/v1/devices/link"), "", map[string]string{"code": "nope"}), 401, "invalid_code")
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	f.api.must(201, "POST", n3.url("/v1/devices/link"), "", map[string]string{"code": code.Code}).decode(t, &dev)
	wantErr(t, "link code used twice", f.do(t, "POST", n1.url("/v1/devices/link"), "", map[string]string{"code": code.Code}), 401, "invalid_code")
	f.getUntil(t, "two devices through n1", n1.url("/v1/children/"+fam.childID+"/devices"), fam.parentToken, &ds, func() bool { return len(ds.Devices) == 2 })
	// Revoking the first device (through n2) ends its access on n3; the
	// second keeps working.
	f.api.must(204, "DELETE", n2.url("/v1/children/"+fam.childID+"/devices/"+revoked), fam.parentToken, nil)
	f.errUntil(t, "the revoked device on n3", func() apiResp { return f.do(t, "GET", n3.url("/v1/chat/daisy"), fam.childToken, nil) }, 401, "unauthorized")
	f.api.must(200, "GET", n3.url("/v1/chat/daisy"), dev.AccessToken, nil)
	f.getUntil(t, "the revocation in the device list through n1", n1.url("/v1/children/"+fam.childID+"/devices"), fam.parentToken, &ds, func() bool {
		for _, dv := range ds.Devices {
			if (dv.RevokedAt != "") != (dv.ID == revoked) {
				return false
			}
		}
		return len(ds.Devices) == 2
	})
	wantErr(t, "revoke twice", f.do(t, "DELETE", n2.url("/v1/children/"+fam.childID+"/devices/"+revoked), fam.parentToken, nil), 404, "not_found")
}

func (f *flows) play(t *testing.T, n1, n2, n3 *node) {
	fam := f.newFamily(n1, "", "")
	var before daisyView
	f.api.must(200, "GET", n2.url("/v1/chat/daisy"), fam.childToken, nil).decode(t, &before)
	if !before.Available || before.Mood == "" || before.Game != nil {
		t.Fatalf("Daisy before playing: %+v", before)
	}
	cases := []struct {
		via       *node
		msg, want string
	}{
		{n1, "daisy, roll over!", "tricks"},
		{n2, "here's a bone", "food"},
		{n3, "tell me a joke", "jokes"},
		{n1, "tell me a story", "stories"},
		{n2, "tell me a fact", "facts"},
	}
	for _, c := range cases {
		tu := turnOf(t, f.api.must(200, "POST", c.via.url("/v1/chat"), fam.childToken, map[string]string{"message": c.msg}))
		if tu.Intent != c.want || tu.Reply == "" || tu.Safety == nil || tu.Safety.Action != "allow" {
			t.Fatalf("%q through %s: %+v, want intent %s", c.msg, c.via.id, tu, c.want)
		}
	}
	var fed daisyView
	f.api.must(200, "GET", n2.url("/v1/chat/daisy"), fam.childToken, nil).decode(t, &fed)
	if fed.Hunger >= before.Hunger && before.Hunger > 0 {
		t.Errorf("feeding did not lower hunger: %d → %d", before.Hunger, fed.Hunger)
	}

	// A game: started on n1, played on n2, seen on n3, stopped on n1.
	type gameResp struct {
		Turn turn `json:"turn"`
		Game *struct {
			Kind   string `json:"kind"`
			Phase  string `json:"phase"`
			Active bool   `json:"active"`
			Score  int    `json:"score"`
		} `json:"game"`
	}
	wantErr(t, "unknown game", f.do(t, "POST", n1.url("/v1/games"), fam.childToken, map[string]string{"kind": "chess"}), 422, "invalid")
	wantErr(t, "a parent starts a game", f.do(t, "POST", n1.url("/v1/games"), fam.parentToken, map[string]string{"kind": "fetch"}), 403, "forbidden")
	var g gameResp
	f.api.must(200, "POST", n1.url("/v1/games"), fam.childToken, map[string]string{"kind": "fetch"}).decode(t, &g)
	if g.Game == nil || !g.Game.Active || g.Game.Kind != "fetch" {
		t.Fatalf("fetch did not start: %+v", g)
	}
	g = gameResp{}
	f.api.must(200, "POST", n2.url("/v1/games/current/moves"), fam.childToken, map[string]string{"move": "throw the ball"}).decode(t, &g)
	if g.Game == nil || g.Game.Kind != "fetch" || g.Turn.Message != "throw the ball" {
		t.Fatalf("fetch move: %+v", g)
	}
	var d daisyView
	f.getUntil(t, "the game through n3", n3.url("/v1/chat/daisy"), fam.childToken, &d, func() bool { return d.Game != nil && d.Game.Kind == "fetch" && d.Game.Active })
	g = gameResp{}
	f.api.must(200, "POST", n1.url("/v1/games/current/moves"), fam.childToken, map[string]string{"move": "stop"}).decode(t, &g)
	if g.Game == nil || g.Game.Active || g.Game.Phase != "over" {
		t.Fatalf("stop move: %+v", g.Game)
	}
	f.getUntil(t, "no game through n2 after the stop", n2.url("/v1/chat/daisy"), fam.childToken, &d, func() bool { return d.Game == nil })

	// Every turn is in the history, in order, on every node; the parent
	// sees the verdicts, the child does not.
	var hist []turn
	waitFor(t, replicaWait, "every turn in the parent's history through n3", func() (bool, string) {
		hist = f.history(n3, fam, true)
		return len(hist) == len(cases)+3, strconv.Itoa(len(hist)) + " turns"
	})
	for i, tu := range hist {
		if tu.Seq != int64(len(hist)-i) || tu.Safety == nil {
			t.Fatalf("parent's history turn %d: %+v", i, tu)
		}
	}
	own := f.history(n2, fam, false)
	if len(own) != len(hist) || own[0].ID != hist[0].ID || own[0].Safety != nil {
		t.Fatalf("child's history through n2: %d turns, newest %+v", len(own), own[0])
	}
}

// gameView is the game part of a turn or of Daisy's state.
type gameView struct {
	Kind    string   `json:"kind"`
	Phase   string   `json:"phase"`
	Active  bool     `json:"active"`
	Turns   int      `json:"turns"`
	Tries   int      `json:"tries_left"`
	Score   int      `json:"score"`
	Won     bool     `json:"won"`
	Rope    int      `json:"rope"`
	Letters string   `json:"letters"`
	Spots   []string `json:"spots"`
	Checked []string `json:"checked"`
}

// games plays every game to its end, each move through the next node in
// turn, so each move is decided on a node that may not yet have applied
// the one before: the game state must still advance exactly one move at
// a time (tries counting down by one, no move lost or applied twice).
func (f *flows) games(t *testing.T, nodes []*node) {
	fam := f.newFamily(nodes[0], "", "")
	next := 0
	move := func(m string) (turn, *gameView) {
		t.Helper()
		n := nodes[next%len(nodes)]
		next++
		var r struct {
			Turn turn      `json:"turn"`
			Game *gameView `json:"game"`
		}
		f.api.must(200, "POST", n.url("/v1/games/current/moves"), fam.childToken, map[string]string{"move": m}).decode(t, &r)
		if r.Turn.Message != m || r.Turn.Reply == "" {
			t.Fatalf("move %q through %s: %+v", m, n.id, r.Turn)
		}
		return r.Turn, r.Game
	}
	start := func(kind string) *gameView {
		t.Helper()
		n := nodes[next%len(nodes)]
		next++
		var r struct {
			Game *gameView `json:"game"`
		}
		f.api.must(200, "POST", n.url("/v1/games"), fam.childToken, map[string]string{"kind": kind}).decode(t, &r)
		if r.Game == nil || r.Game.Kind != kind || !r.Game.Active || r.Game.Turns != 0 {
			t.Fatalf("start %s through %s: %+v", kind, n.id, r.Game)
		}
		return r.Game
	}
	over := func(g *gameView, kind string) {
		t.Helper()
		if g == nil || g.Kind != kind || g.Phase != "over" || g.Active {
			t.Fatalf("%s did not end: %+v", kind, g)
		}
	}

	// Guess the number: 1, 2, 3, … until it ends; each wrong guess costs
	// exactly one try, a hint none; a win scores the tries left.
	g := start("guess_number")
	tries := g.Tries
	if _, h := move("hint please"); h == nil || h.Tries != tries || !h.Active {
		t.Fatalf("a hint changed the game: %+v (tries %d)", h, tries)
	}
	guesses := 0
	for n := 1; n <= 10 && g.Active; n++ {
		prev := g.Tries
		_, g = move(strconv.Itoa(n))
		guesses++
		if g == nil {
			t.Fatal("a guess answered without the game")
		}
		if g.Active && g.Tries != prev-1 {
			t.Fatalf("guess %d: tries %d → %d, want one fewer", n, prev, g.Tries)
		}
		if g.Turns != guesses+1 {
			t.Fatalf("guess %d: the game counts %d moves, want %d", n, g.Turns, guesses+1)
		}
	}
	over(g, "guess_number")
	if g.Won && g.Score != g.Tries {
		t.Fatalf("won guess_number with score %d and %d tries left", g.Score, g.Tries)
	}

	// Fetch: throws until none are left.
	g = start("fetch")
	throws := g.Tries
	if throws <= 0 {
		t.Fatalf("fetch starts with %d throws", throws)
	}
	for i := 0; i < throws; i++ {
		prev := g.Tries
		_, g = move("throw the ball far")
		if g == nil || g.Tries != prev-1 {
			t.Fatalf("throw %d: %+v, want %d throws left", i+1, g, prev-1)
		}
	}
	over(g, "fetch")

	// Tug of war ends (a win, a loss or a tie) within a bounded number of pulls.
	g = start("tug_of_war")
	for i := 0; i < 20 && g.Active; i++ {
		_, g = move("pull harder")
	}
	over(g, "tug_of_war")
	if g.Won && g.Rope <= 0 {
		t.Fatalf("won tug of war with the rope at %d", g.Rope)
	}

	// Word scramble: wrong words until the tries run out.
	g = start("word_scramble")
	if g.Letters == "" {
		t.Fatalf("word scramble shows no letters: %+v", g)
	}
	for _, w := range []string{"hint", "zzzzq", "qqqzx", "xzqqz", "zqxzq"} {
		if !g.Active {
			break
		}
		_, g = move(w)
	}
	over(g, "word_scramble")
	if g.Won {
		t.Fatal("won word scramble with nonsense words")
	}

	// Hide and seek, Daisy hides: look in each spot not checked yet.
	g = start("hide_and_seek")
	_, g = move("you hide and i will seek")
	if g == nil || g.Phase != "seek" || len(g.Spots) == 0 {
		t.Fatalf("Daisy hiding: %+v", g)
	}
	for _, spot := range g.Spots {
		if !g.Active {
			break
		}
		checked := len(g.Checked)
		_, g = move("is she " + spot)
		if g.Active && len(g.Checked) != checked+1 {
			t.Fatalf("looking %s: checked %v", spot, g.Checked)
		}
	}
	over(g, "hide_and_seek")

	// Hide and seek, the child hides: Daisy searches until she finds the
	// child or gives up.
	g = start("hide_and_seek")
	_, g = move("i will hide")
	if g == nil || g.Phase != "hide" || len(g.Spots) == 0 {
		t.Fatalf("the child hiding: %+v", g)
	}
	_, g = move(g.Spots[0])
	for i := 0; i < 20 && g.Active; i++ {
		if g.Phase != "search" {
			t.Fatalf("Daisy searching: %+v", g)
		}
		_, g = move("ready")
	}
	over(g, "hide_and_seek")

	// Every move is one turn, on every node; the usage counts the games.
	var u struct {
		TurnsToday int `json:"turns_today"`
		GamesToday int `json:"games_today"`
	}
	for _, n := range nodes {
		f.getUntil(t, "the games in the usage through "+n.id, n.url("/v1/children/"+fam.childID+"/usage"), fam.parentToken, &u, func() bool {
			return u.TurnsToday == next && u.GamesToday == 6
		})
	}

	// Another child asks for hints, misplays and stops each game: stopping
	// ends it unwon and Daisy says what she was hiding.
	fam = f.newFamily(nodes[1], "", "")
	stop := func(kind, says string) {
		t.Helper()
		tu, g := move("stop")
		over(g, kind)
		if g.Won || !strings.Contains(tu.Reply, says) {
			t.Fatalf("stopping %s: won %v, reply %q (want it to mention %q)", kind, g.Won, tu.Reply, says)
		}
	}
	g = start("guess_number")
	tries = g.Tries
	hints := map[string]bool{}
	for range 3 {
		tu, h := move("can I have a hint")
		hints[tu.Reply] = true
		if h.Tries != tries {
			t.Fatalf("a hint cost a try: %+v", h)
		}
	}
	if len(hints) != 3 {
		t.Fatalf("three hints in a row gave %d different answers: %v", len(hints), hints)
	}
	if _, h := move("eleven"); h.Tries != tries || h.Turns != 3 {
		t.Fatalf("a number out of range counted as a guess: %+v", h)
	}
	tu, h := move("seven")
	if h.Active && h.Tries != tries-1 {
		t.Fatalf("guessing seven (a word): %+v", h)
	}
	if h.Active {
		if tu, h := move("7"); h.Tries != tries-1 || !strings.Contains(tu.Reply, "already guessed 7") {
			t.Fatalf("guessing 7 again: %q %+v, want a reminder that costs no try", tu.Reply, h)
		}
		stop("guess_number", "My number was")
	} else if !h.Won || !strings.Contains(tu.Reply, "7") {
		t.Fatalf("seven ended the game unwon: %q %+v", tu.Reply, h)
	}

	start("tug_of_war")
	stop("tug_of_war", "")
	start("fetch")
	stop("fetch", "")
	g = start("hide_and_seek")
	stop("hide_and_seek", "")

	g = start("hide_and_seek")
	_, g = move("daisy hides")
	if tu, h := move("hint"); h.Phase != "seek" || !strings.HasPrefix(tu.Reply, "Clue: ") {
		t.Fatalf("a clue in hide and seek: %q %+v", tu.Reply, h)
	}
	if _, h := move("where is the ball"); h.Turns != 2 {
		t.Fatalf("a look at no spot counted as a move: %+v", h)
	}
	_, g = move("is she " + g.Spots[0])
	if g.Active {
		if tu, h := move("is she " + g.Spots[0]); len(h.Checked) != 1 || h.Tries != g.Tries {
			t.Fatalf("looking in the same spot twice: %q %+v", tu.Reply, h)
		}
		stop("hide_and_seek", "Here I am! I was")
	}

	// Word scramble won with hints: they reveal all but two letters, so
	// one of two orders of the last two is the word.
	g = start("word_scramble")
	letters := strings.ToLower(regexp.MustCompile(`[^A-Za-z]`).ReplaceAllString(g.Letters, ""))
	startsRe := regexp.MustCompile(`starts with ([A-Z]+)\.`)
	prefix := ""
	for i := 0; i < 20; i++ {
		tu, _ := move("hint")
		m := startsRe.FindStringSubmatch(tu.Reply)
		if m == nil {
			if !strings.HasPrefix(tu.Reply, "That's all the hints") {
				t.Fatalf("scramble hint %d: %q", i+1, tu.Reply)
			}
			break
		}
		prefix = strings.ToLower(m[1])
	}
	rest := []byte(letters)
	for _, c := range []byte(prefix) {
		i := bytes.IndexByte(rest, c)
		if i < 0 {
			t.Fatalf("hint %q is not in the letters %q", prefix, letters)
		}
		rest = append(rest[:i], rest[i+1:]...)
	}
	if len(rest) != 2 {
		t.Fatalf("after every hint (%q) %d letters of %q are unknown, want 2", prefix, len(rest), letters)
	}
	tu, g = move(prefix + string(rest))
	if !g.Won {
		if !strings.Contains(tu.Reply, "right letters") {
			t.Fatalf("the letters in another order: %q", tu.Reply)
		}
		tu, g = move(prefix + string(rest[1]) + string(rest[0]))
	}
	over(g, "word_scramble")
	if !g.Won || g.Score < 1 {
		t.Fatalf("the word from every hint did not win: %q %+v", tu.Reply, g)
	}
}

// aiStub stands in for an OpenAI-compatible provider.
// It answers only requests carrying its API key, and fails with 500 while
// failing is set.
type aiStub struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reply   string
	failing bool
	raw     bool // send reply as the whole body, not in a completion
	sent    []string
}

func newAIStub(key string) *aiStub {
	a := &aiStub{reply: "Woof!"}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) == 0 || req.Model != "stand-in" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.sent = append(a.sent, req.Messages[len(req.Messages)-1].Content)
		reply, failing, raw := a.reply, a.failing, a.raw
		a.mu.Unlock()
		if failing {
			http.Error(w, "provider failure", http.StatusInternalServerError)
			return
		}
		if raw {
			_, _ = io.WriteString(w, reply)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": reply}}}})
	}))
	return a
}

func (a *aiStub) set(reply string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reply, a.failing, a.raw = reply, false, false
}

// setRaw makes the provider answer body as is (garbage, not a completion).
func (a *aiStub) setRaw(body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reply, a.failing, a.raw = body, false, true
}

func (a *aiStub) fail() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failing = true
}

func (a *aiStub) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.sent...)
}

func (f *flows) aiProvider(t *testing.T, ai *aiStub, n1, n3 *node) {
	fam := f.newFamily(n1, "", "")
	good := "Woof woof! Hello there, I was just chasing my tail in the sunshine."
	ai.set(good)
	before := len(ai.calls())
	// Off by default: the provider is not asked.
	if tu := turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello daisy"})); tu.Reply == good || len(ai.calls()) != before {
		t.Fatalf("the provider answered without AI mode: %+v", tu)
	}
	f.api.must(200, "PUT", n1.url("/v1/children/"+fam.childID+"/settings"), fam.parentToken, settingsBody(func(m map[string]any) {
		m["ai_third_party_consent"] = true
		m["features"] = map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": true}
	}))
	var st settings
	f.getUntil(t, "AI mode through n3", n3.url("/v1/children/"+fam.childID+"/settings"), fam.parentToken, &st, func() bool { return st.Features.AIMode && st.AIConsent })
	tu := turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello daisy"}))
	if sent := ai.calls()[before:]; tu.Reply != good || len(sent) != 1 || sent[0] != "hello daisy" {
		t.Fatalf("AI mode on: reply %q, provider was sent %v", tu.Reply, sent)
	}
	// A reply the output policy refuses never reaches the child.
	rude := "Woof! This fucking squirrel keeps stealing my bone."
	ai.set(rude)
	tu = turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello again daisy"}))
	if tu.Reply == rude || tu.Reply == "" || len(ai.calls()) != before+2 {
		t.Fatalf("refused provider reply: %q (calls %d)", tu.Reply, len(ai.calls())-before)
	}
	// A trick stays with the built-in engine.
	tu = turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), fam.childToken, map[string]string{"message": "daisy, roll over!"}))
	if tu.Intent != "tricks" || len(ai.calls()) != before+2 {
		t.Fatalf("a trick went to the provider: %+v", tu)
	}

	// Replies Daisy must not give (empty, overlong, out of character,
	// with contact details or a meeting) and answers that are not a
	// completion at all: the child gets the built-in reply instead. The
	// daily budget is 5 calls per child, so two children take turns.
	aiOn := func() *family {
		fam := f.newFamily(n1, "", "")
		f.api.must(200, "PUT", n1.url("/v1/children/"+fam.childID+"/settings"), fam.parentToken, settingsBody(func(m map[string]any) {
			m["ai_third_party_consent"] = true
			m["features"] = map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": true}
		}))
		f.getUntil(t, "AI mode through n3", n3.url("/v1/children/"+fam.childID+"/settings"), fam.parentToken, &st, func() bool { return st.Features.AIMode && st.AIConsent })
		return fam
	}
	picky, picky2 := aiOn(), aiOn()
	for i, c := range []struct {
		name, reply string
		raw         bool
	}{
		{"an empty reply", "   ", false},
		{"an overlong reply", strings.Repeat("Woof! I love running in the park. ", 20), false},
		{"an out-of-character reply", "As an AI language model I cannot chase squirrels.", false},
		{"a reply with a link", "Woof! Look at the puppies on www.puppies.example.com today!", false},
		{"a reply asking to meet", "Woof! Let's meet up at the park tomorrow!", false},
		{"a body that is not JSON", "<html>Bad gateway</html>", true},
		{"a completion without choices", `{"choices":[]}`, true},
	} {
		fam := picky
		if i >= 5 {
			fam = picky2
		}
		if c.raw {
			ai.setRaw(c.reply)
		} else {
			ai.set(c.reply)
		}
		calls := len(ai.calls())
		tu := turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello daisy"}))
		if len(ai.calls()) != calls+1 {
			t.Fatalf("%s: the provider was not asked", c.name)
		}
		if strings.TrimSpace(tu.Reply) == "" || tu.Reply == strings.TrimSpace(c.reply) || strings.Contains(tu.Reply, "AI language model") ||
			strings.Contains(tu.Reply, "example.com") || strings.Contains(tu.Reply, "meet up") || tu.Safety == nil || tu.Safety.Action != "allow" {
			t.Fatalf("%s reached the child or left no reply: %+v", c.name, tu)
		}
	}
	// Over the daily budget the provider is not asked at all.
	ai.set(good)
	calls := len(ai.calls())
	if tu := turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), picky.childToken, map[string]string{"message": "hello daisy"})); tu.Reply == good || len(ai.calls()) != calls {
		t.Fatalf("a sixth AI turn in a day: reply %q, %d calls", tu.Reply, len(ai.calls())-calls)
	}

	// A failing provider: every turn still gets the built-in reply, and
	// after a few failures in a row the node stops asking (the breaker is
	// per node, so all turns go through n1).
	shy := f.newFamily(n1, "", "")
	f.api.must(200, "PUT", n1.url("/v1/children/"+shy.childID+"/settings"), shy.parentToken, settingsBody(func(m map[string]any) {
		m["ai_third_party_consent"] = true
		m["features"] = map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": true}
	}))
	ai.fail()
	before = len(ai.calls())
	for i := 0; i < 5; i++ {
		tu := turnOf(t, f.api.must(200, "POST", n1.url("/v1/chat"), shy.childToken, map[string]string{"message": "hello daisy"}))
		if tu.Reply == "" || tu.Safety == nil || tu.Safety.Action != "allow" {
			t.Fatalf("turn %d with a failing provider: %+v", i+1, tu)
		}
	}
	if n := len(ai.calls()) - before; n == 0 || n >= 5 {
		t.Fatalf("the failing provider was asked %d times in 5 turns; want the breaker to stop the asking", n)
	}
	// Each node counts what became of its provider turns: n3 used some
	// replies and refused others; n1 saw failures, then its open breaker.
	prom := func(n *node, series string) float64 {
		t.Helper()
		v, ok := promSample(string(f.api.must(200, "GET", n.url("/metrics"), "", nil).Body), series)
		if !ok {
			t.Fatalf("%s: /metrics has no %s", n.id, series)
		}
		return v
	}
	for _, c := range []struct {
		n      *node
		series string
		least  float64
	}{
		{n3, `daisydog_ai_provider_replies_total{result="used"}`, 1},
		{n3, `daisydog_ai_provider_replies_total{result="refused"}`, 5},
		{n1, `daisydog_ai_provider_replies_total{result="failed"}`, 1},
		{n1, `daisydog_ai_provider_replies_total{result="breaker_open"}`, 1},
		{n1, `daisydog_ai_provider_breaker_state{state="closed"}`, 0}, // present; open or half-open below
		{n3, `daisydog_ai_provider_configured`, 1},
	} {
		if v := prom(c.n, c.series); v < c.least {
			t.Errorf("%s: %s = %v, want at least %v", c.n.id, c.series, v, c.least)
		}
	}
	// open for 30 s after the failures, then half-open until the next call
	if v := prom(n1, `daisydog_ai_provider_breaker_state{state="closed"}`); v != 0 {
		t.Errorf("n1's breaker is closed after the failures")
	}
	if v := prom(n1, `daisydog_ai_provider_replies_total{result="used"}`); v != 0 {
		t.Errorf("n1 used %v provider replies; only failures went through it", v)
	}
}

// admin returns an administrator token (created once with the CLI on n1).
func (f *flows) admin(t *testing.T, n *node) string {
	t.Helper()
	f.adm.once.Do(func() { f.adm.token = f.adminToken(n) })
	if f.adm.token == "" {
		t.Fatal("no administrator (an earlier step failed)")
	}
	return f.adm.token
}

// totpCode is what an authenticator app shows for secret (base32, no
// padding) at now: RFC 6238 with HMAC-SHA1, 30 s steps, 6 digits.
func totpCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		t.Fatalf("TOTP secret %q: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(now.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}

func (f *flows) staff(t *testing.T, n1, n2, n3 *node) {
	admin := f.admin(t, n1)
	fam := f.newFamily(n2, "", "")
	var inv struct {
		InviteToken string `json:"invite_token"`
		Role        string `json:"role"`
	}
	// The cluster's retention setting: set through n2 by the admin, then
	// published by n3's privacy notice (the flags of these nodes are the
	// defaults, 180 days for turns).
	var ret struct {
		TurnsDays int    `json:"turns_days"`
		Source    string `json:"source"`
	}
	wantErr(t, "a parent sets the retention", f.do(t, "PUT", n2.url("/v1/admin/retention"), fam.parentToken, map[string]int{"turns_days": 30, "safety_days": 30, "sessions_days": 7}), 403, "forbidden")
	wantErr(t, "a retention without sessions", f.do(t, "PUT", n2.url("/v1/admin/retention"), admin, map[string]int{"turns_days": 30, "safety_days": 30}), 422, "invalid")
	f.api.must(200, "PUT", n2.url("/v1/admin/retention"), admin, map[string]int{"turns_days": 120, "safety_days": 365, "sessions_days": 30}).decode(t, &ret)
	if ret.TurnsDays != 120 || ret.Source != "cluster" {
		t.Fatalf("retention set: %+v", ret)
	}
	var notice struct {
		DataClasses []struct {
			Class         string `json:"class"`
			RetentionDays int    `json:"retention_days"`
		} `json:"data_classes"`
	}
	f.getUntil(t, "the setting in n3's privacy notice", n3.url("/v1/privacy"), "", &notice, func() bool {
		for _, c := range notice.DataClasses {
			if c.Class == "chat_turns" {
				return c.RetentionDays == 120
			}
		}
		return false
	})
	f.api.must(200, "GET", n1.url("/v1/admin/retention"), admin, nil).decode(t, &ret)
	if ret.TurnsDays != 120 || ret.Source != "cluster" {
		t.Fatalf("retention read through n1: %+v", ret)
	}

	wantErr(t, "a parent invites", f.do(t, "POST", n1.url("/v1/admin/invites"), fam.parentToken, map[string]string{"role": "moderator"}), 403, "forbidden")
	wantErr(t, "invite a parent", f.do(t, "POST", n1.url("/v1/admin/invites"), admin, map[string]string{"role": "parent"}), 422, "invalid")
	f.api.must(201, "POST", n2.url("/v1/admin/invites"), admin, map[string]string{"role": "moderator"}).decode(t, &inv)
	if inv.Role != "moderator" || inv.InviteToken == "" {
		t.Fatalf("invite %+v", inv)
	}
	modEmail, modPassword := "mod-"+randLetters(8)+"@example.test", "correct horse battery staple"
	wantErr(t, "invite accepted as admin", f.do(t, "POST", n3.url("/v1/admin/invites/accept"), "", map[string]string{"invite_token": inv.InviteToken,
		"role": "admin", "email": modEmail, "password": modPassword}), 401, "invalid_invite")
	var acc struct {
		StaffID string `json:"staff_id"`
	}
	f.api.must(201, "POST", n3.url("/v1/admin/invites/accept"), "", map[string]string{"invite_token": inv.InviteToken,
		"role": "moderator", "email": modEmail, "password": modPassword}).decode(t, &acc)
	wantErr(t, "invite used twice", f.do(t, "POST", n1.url("/v1/admin/invites/accept"), "", map[string]string{"invite_token": inv.InviteToken,
		"role": "moderator", "email": "mod2-" + randLetters(8) + "@example.test", "password": modPassword}), 401, "invalid_invite")

	// First login enrols TOTP (through n1), confirmed through n2.
	var m struct {
		MFA        string `json:"mfa"`
		MFAToken   string `json:"mfa_token"`
		TOTPSecret string `json:"totp_secret"`
	}
	f.api.must(200, "POST", n1.url("/v1/admin/login"), "", map[string]string{"email": modEmail, "password": modPassword}).decode(t, &m)
	if m.MFA != "enroll" || m.TOTPSecret == "" {
		t.Fatalf("first staff login: %+v", m)
	}
	code := totpCode(t, m.TOTPSecret, time.Now())
	wantErr(t, "MFA with both factors", f.do(t, "POST", n2.url("/v1/admin/mfa"), "", map[string]string{"mfa_token": m.MFAToken, "code": code, "recovery_code": "x"}), 422, "invalid")
	var mod struct {
		AccessToken   string   `json:"access_token"`
		Role          string   `json:"role"`
		RecoveryCodes []string `json:"recovery_codes"`
	}
	f.api.must(200, "POST", n2.url("/v1/admin/mfa"), "", map[string]string{"mfa_token": m.MFAToken, "code": code}).decode(t, &mod)
	if mod.Role != "moderator" || mod.AccessToken == "" || len(mod.RecoveryCodes) == 0 {
		t.Fatalf("MFA answer: role %q, %d recovery codes", mod.Role, len(mod.RecoveryCodes))
	}
	// The second login asks to verify; a recovery code works once.
	m.MFA, m.MFAToken, m.TOTPSecret = "", "", ""
	f.api.must(200, "POST", n3.url("/v1/admin/login"), "", map[string]string{"email": modEmail, "password": modPassword}).decode(t, &m)
	if m.MFA != "verify" || m.TOTPSecret != "" {
		t.Fatalf("second staff login: %+v", m)
	}
	var rec struct {
		AccessToken string `json:"access_token"`
	}
	f.api.must(200, "POST", n3.url("/v1/admin/mfa"), "", map[string]string{"mfa_token": m.MFAToken, "recovery_code": mod.RecoveryCodes[0]}).decode(t, &rec)
	wantErr(t, "recovery code reused", f.do(t, "POST", n1.url("/v1/admin/mfa"), "", map[string]string{"mfa_token": m.MFAToken, "recovery_code": mod.RecoveryCodes[0]}), 401, "invalid_mfa_code")

	var list struct {
		Staff []struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"staff"`
	}
	f.api.must(200, "GET", n3.url("/v1/admin/staff"), admin, nil).decode(t, &list)
	roles := map[string]string{}
	for _, s := range list.Staff {
		roles[s.ID] = s.Role
	}
	if roles[acc.StaffID] != "moderator" || len(roles) < 2 {
		t.Fatalf("staff list through n3: %+v", list.Staff)
	}
	wantErr(t, "a moderator lists staff", f.do(t, "GET", n1.url("/v1/admin/staff"), mod.AccessToken, nil), 403, "forbidden")

	// The usage report (analytics export), cluster-wide through any node:
	// JSON and CSV, administrators only.
	var report struct {
		To   string `json:"to"`
		Days []struct {
			Day string `json:"day"`
		} `json:"days"`
	}
	f.api.must(200, "GET", n2.url("/v1/admin/reports/usage"), admin, nil).decode(t, &report)
	today := time.Now().UTC().Format(time.DateOnly)
	if report.To != today || len(report.Days) != 30 {
		t.Fatalf("usage report to %s with %d days, want 30 days to %s", report.To, len(report.Days), today)
	}
	csvReport := f.api.must(200, "GET", n3.url("/v1/admin/reports/usage.csv?from="+today+"&to="+today), admin, nil)
	if !bytes.HasPrefix(csvReport.Body, []byte("day,turns,active_children,safety_events")) || !bytes.Contains(csvReport.Body, []byte("\n"+today+",")) {
		t.Fatalf("usage report as CSV: %s", csvReport)
	}
	wantErr(t, "a moderator exports usage", f.do(t, "GET", n1.url("/v1/admin/reports/usage"), mod.AccessToken, nil), 403, "forbidden")

	// Moderation: a flagged turn (sent through n1) is listed through n3
	// without the phone number it carried.
	for _, msg := range []string{"hello daisy", "a stranger online wants to meet me at the park and my number is 555 010 4477"} {
		f.api.must(200, "POST", n1.url("/v1/chat"), fam.childToken, map[string]string{"message": msg})
	}
	wantErr(t, "flagged without a reason", f.do(t, "GET", n3.url("/v1/moderation/flagged"), mod.AccessToken, nil), 422, "invalid")
	wantErr(t, "a parent reads flagged turns", f.do(t, "GET", n3.url("/v1/moderation/flagged?reason=weekly+review"), fam.parentToken, nil), 403, "forbidden")
	var flagged struct {
		Events []struct {
			ChildID    string   `json:"child_id"`
			TurnID     string   `json:"turn_id"`
			Categories []string `json:"categories"`
			Excerpt    string   `json:"excerpt"`
		} `json:"events"`
	}
	mine := 0
	f.getUntil(t, "the flagged turn through n3", n3.url("/v1/moderation/flagged?reason=weekly+safety+review&limit=50"), mod.AccessToken, &flagged, func() bool {
		mine = 0
		for _, e := range flagged.Events {
			if e.ChildID != fam.childID {
				continue
			}
			mine++
			if strings.Contains(e.Excerpt, "4477") || e.TurnID == "" || len(e.Categories) == 0 {
				t.Fatalf("flagged event %+v leaks the number or lacks detail", e)
			}
		}
		return mine > 0
	})
	if mine != 1 {
		t.Fatalf("%d flagged events of the child, want the one flagged turn", mine)
	}

	// Paging: the next page starts before the last event of this one.
	var page struct {
		Events []struct {
			EventID string `json:"event_id"`
		} `json:"events"`
		NextBefore string `json:"next_before"`
	}
	f.api.must(200, "GET", n1.url("/v1/moderation/flagged?reason=paging+check&limit=1"), admin, nil).decode(t, &page)
	if len(page.Events) != 1 || page.NextBefore == "" {
		t.Fatalf("first page of flagged events: %+v", page)
	}
	first := page.Events[0].EventID
	page.Events = nil
	f.api.must(200, "GET", n1.url("/v1/moderation/flagged?reason=paging+check&limit=1&before="+page.NextBefore), admin, nil).decode(t, &page)
	if len(page.Events) == 1 && page.Events[0].EventID == first {
		t.Fatal("the next page of flagged events repeats the first")
	}

	// A review through one node closes the event in every node's queue.
	var open struct {
		Events []struct {
			EventID string `json:"event_id"`
			ChildID string `json:"child_id"`
		} `json:"events"`
	}
	f.api.must(200, "GET", n3.url("/v1/moderation/flagged?reason=queue&status=open&limit=50"), mod.AccessToken, nil).decode(t, &open)
	event := ""
	for _, e := range open.Events {
		if e.ChildID == fam.childID {
			event = e.EventID
		}
	}
	if event == "" {
		t.Fatalf("the child's flagged turn is not in the open queue: %+v", open.Events)
	}
	f.assignAndHold(t, n1, n2, n3, admin, mod.AccessToken, acc.StaffID, event, fam)
	wantErr(t, "a review with an unknown outcome", f.do(t, "POST", n2.url("/v1/moderation/events/"+event+"/review"), mod.AccessToken, map[string]string{"outcome": "later"}), 422, "invalid")
	f.api.must(200, "POST", n2.url("/v1/moderation/events/"+event+"/review"), mod.AccessToken, map[string]string{"outcome": "parent_contacted"})
	wantErr(t, "a reviewed event assigned", f.do(t, "POST", n3.url("/v1/moderation/events/"+event+"/assign"), admin, map[string]string{"assignee": "me"}), 409, "event_reviewed")
	for _, n := range []*node{n1, n3} {
		f.getUntil(t, "the review on "+n.id, n.url("/v1/moderation/flagged?reason=queue&status=open&limit=50"), mod.AccessToken, &open, func() bool {
			for _, e := range open.Events {
				if e.EventID == event {
					return false
				}
			}
			return true
		})
	}
	var sum struct {
		Reviewed map[string]int `json:"reviewed_by_outcome"`
	}
	f.api.must(200, "GET", n1.url("/v1/moderation/summary"), admin, nil).decode(t, &sum)
	if sum.Reviewed["parent_contacted"] < 1 {
		t.Fatalf("summary after the review: %+v", sum)
	}

	// Staff logout ends the session on every node.
	f.api.must(204, "POST", n1.url("/v1/admin/logout"), mod.AccessToken, nil)
	f.errUntil(t, "the moderator after logout, on n2", func() apiResp {
		return f.do(t, "GET", n2.url("/v1/moderation/flagged?reason=weekly+review"), mod.AccessToken, nil)
	}, 401, "unauthorized")
	f.api.must(200, "GET", n2.url("/v1/moderation/flagged?reason=weekly+review"), rec.AccessToken, nil)
}

// assignAndHold: the moderator takes the flagged event through one node,
// the administrator releases it and gives it back through others, the
// moderator finds it among their own; then a safety hold that asks to reach
// the family stops the child's chat on every node, is e-mailed to the
// verified parent (nothing the child wrote in it), shows in the parent's
// view, and is lifted.
func (f *flows) assignAndHold(t *testing.T, n1, n2, n3 *node, admin, mod, modID, event string, fam *family) {
	t.Helper()
	assign := func(n *node, token, assignee string) (holder string) {
		t.Helper()
		var res struct {
			EventID    string `json:"event_id"`
			Assignment *struct {
				AssignedTo string `json:"assigned_to"`
			} `json:"assignment"`
		}
		f.api.must(200, "POST", n.url("/v1/moderation/events/"+event+"/assign"), token, map[string]string{"assignee": assignee}).decode(t, &res)
		if res.EventID != event {
			t.Fatalf("assign answered event %q, want %q", res.EventID, event)
		}
		if res.Assignment == nil {
			return ""
		}
		return res.Assignment.AssignedTo
	}
	assignURL := n1.url("/v1/moderation/events/" + event + "/assign")
	wantErr(t, "assign without an assignee", f.do(t, "POST", assignURL, mod, map[string]string{}), 422, "invalid")
	wantErr(t, "assign to a name", f.do(t, "POST", assignURL, mod, map[string]string{"assignee": "bob"}), 422, "invalid")
	wantErr(t, "assign an unknown event", f.do(t, "POST", n1.url("/v1/moderation/events/ev_nosuchevent/assign"), mod, map[string]string{"assignee": "me"}), 404, "not_found")
	wantErr(t, "a parent takes an event", f.do(t, "POST", assignURL, fam.parentToken, map[string]string{"assignee": "me"}), 403, "forbidden")
	if h := assign(n3, mod, "me"); h != modID {
		t.Fatalf("the moderator took the event: held by %q, want %q", h, modID)
	}
	wantErr(t, "a moderator gives the event away", f.do(t, "POST", assignURL, mod, map[string]string{"assignee": "st_someoneelse"}), 403, "forbidden")
	wantErr(t, "given to no staff member", f.do(t, "POST", n2.url("/v1/moderation/events/"+event+"/assign"), admin, map[string]string{"assignee": "st_nosuchstaff"}), 422, "invalid")
	if h := assign(n1, admin, ""); h != "" {
		t.Fatalf("the administrator released the event: held by %q", h)
	}
	if h := assign(n2, admin, modID); h != modID {
		t.Fatalf("the administrator gave the event: held by %q, want %q", h, modID)
	}
	var mine struct {
		Events []struct {
			EventID    string `json:"event_id"`
			Assignment *struct {
				AssignedTo string `json:"assigned_to"`
			} `json:"assignment"`
		} `json:"events"`
	}
	f.getUntil(t, "the event among the moderator's own, through n3", n3.url("/v1/moderation/flagged?reason=my+queue&status=open&assigned=me&limit=50"), mod, &mine, func() bool {
		for _, e := range mine.Events {
			if e.EventID == event {
				return e.Assignment != nil && e.Assignment.AssignedTo == modID
			}
		}
		return false
	})

	// The safety hold.
	holdURL := n2.url("/v1/moderation/children/" + fam.childID + "/hold")
	wantErr(t, "a hold with a free-text reason", f.do(t, "PUT", holdURL, mod, map[string]string{"reason": "call them"}), 422, "invalid")
	wantErr(t, "a hold on no child", f.do(t, "PUT", n2.url("/v1/moderation/children/ch_nosuchchild/hold"), mod, map[string]string{"reason": "under_review"}), 404, "not_found")
	wantErr(t, "a parent places a hold", f.do(t, "PUT", holdURL, fam.parentToken, map[string]string{"reason": "under_review"}), 403, "forbidden")
	var hold struct {
		ChildID    string `json:"child_id"`
		SafetyHold *struct {
			Reason string `json:"reason"`
			By     string `json:"by"`
		} `json:"safety_hold"`
	}
	f.api.must(200, "PUT", holdURL, mod, map[string]string{"reason": "parent_contact_pending"}).decode(t, &hold)
	if hold.ChildID != fam.childID || hold.SafetyHold == nil || hold.SafetyHold.Reason != "parent_contact_pending" || hold.SafetyHold.By != modID {
		t.Fatalf("hold placed: %+v", hold)
	}
	for _, n := range []*node{n1, n2, n3} {
		f.errUntil(t, "the child's chat on hold through "+n.id, func() apiResp {
			return f.do(t, "POST", n.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello daisy"})
		}, 423, "safety_hold")
	}
	var kids struct {
		Children []struct {
			ID         string `json:"id"`
			SafetyHold *struct {
				Reason string `json:"reason"`
			} `json:"safety_hold"`
		} `json:"children"`
	}
	f.getUntil(t, "the hold in the parent's view", n3.url("/v1/children"), fam.parentToken, &kids, func() bool {
		for _, c := range kids.Children {
			if c.ID == fam.childID {
				return c.SafetyHold != nil && c.SafetyHold.Reason == "parent_contact_pending"
			}
		}
		return false
	})
	subject, body := f.mailedText(t, fam.email, "safety_hold", 1)
	if !strings.Contains(subject, fam.nickname) || !strings.Contains(body, "get in touch") || strings.Contains(body, "4477") || strings.Contains(body, "stranger") {
		t.Fatalf("hold e-mail: subject %q, body %q", subject, body)
	}
	f.api.must(200, "DELETE", n1.url("/v1/moderation/children/"+fam.childID+"/hold"), admin, nil).decode(t, &hold)
	if hold.SafetyHold != nil {
		t.Fatalf("hold lifted: %+v", hold)
	}
	for _, n := range []*node{n3, n2} {
		waitFor(t, 20*time.Second, "the child's chat back through "+n.id, func() (bool, string) {
			r := f.do(t, "POST", n.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello daisy"})
			return r.Status == 200, r.String()
		})
	}
}

func (f *flows) catalogue(t *testing.T, n1, n2, n3 *node) {
	admin := f.admin(t, n1)
	fam := f.newFamily(n3, "", "")
	var cat struct {
		Jokes, Facts, Tricks, Games, Stories []json.RawMessage
	}
	f.api.must(200, "GET", n2.url("/v1/admin/catalog"), admin, nil).decode(t, &cat)
	if len(cat.Jokes) == 0 || len(cat.Facts) == 0 || len(cat.Tricks) == 0 || len(cat.Games) == 0 || len(cat.Stories) == 0 {
		t.Fatalf("catalogue: %d jokes %d facts %d tricks %d games %d stories", len(cat.Jokes), len(cat.Facts), len(cat.Tricks), len(cat.Games), len(cat.Stories))
	}
	wantErr(t, "a parent reads the catalogue", f.do(t, "GET", n2.url("/v1/admin/catalog"), fam.parentToken, nil), 403, "forbidden")

	// A new joke, added through n1, is listed through n3, updated through
	// n2 and removed through n3.
	id := "e2e-joke-" + randLetters(6)
	joke := "What do you call a puppy who loves sums? A calcu-labrador!"
	wantErr(t, "an unsafe joke", f.do(t, "POST", n1.url("/v1/admin/catalog/jokes"), admin,
		map[string]string{"id": id, "text": "Let's meet up at the park after school, just you and me. Don't tell your parents, it's our secret!"}), 422, "unsafe_content")
	f.api.must(201, "POST", n1.url("/v1/admin/catalog/jokes"), admin, map[string]string{"id": id, "text": joke})
	wantErr(t, "the joke again", f.do(t, "POST", n2.url("/v1/admin/catalog/jokes"), admin, map[string]string{"id": id, "text": joke}), 409, "conflict")
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"items"`
	}
	f.getUntil(t, "the new joke listed through n3", n3.url("/v1/admin/catalog/jokes"), admin, &list, func() bool {
		for _, it := range list.Items {
			if it.ID == id && it.Text == joke {
				return list.Kind == "joke"
			}
		}
		return false
	})
	changed := "Why did the puppy sit in the shade? He did not want to be a hot dog!"
	f.api.must(200, "PUT", n2.url("/v1/admin/catalog/jokes/"+id), admin, map[string]string{"id": id, "text": changed})
	f.getUntil(t, "the updated joke through n1", n1.url("/v1/admin/catalog/jokes"), admin, &list, func() bool {
		for _, it := range list.Items {
			if it.ID == id {
				return it.Text == changed
			}
		}
		return false
	})
	wantErr(t, "an update whose id is not the path's", f.do(t, "PUT", n1.url("/v1/admin/catalog/jokes/"+id), admin, map[string]string{"id": id + "-other", "text": changed}), 422, "invalid")
	wantErr(t, "an update of an unknown joke", f.do(t, "PUT", n1.url("/v1/admin/catalog/jokes/"+id+"-none"), admin, map[string]string{"id": id + "-none", "text": changed}), 404, "not_found")
	f.api.must(204, "DELETE", n3.url("/v1/admin/catalog/jokes/"+id), admin, nil)
	wantErr(t, "delete the joke twice", f.do(t, "DELETE", n1.url("/v1/admin/catalog/jokes/"+id), admin, nil), 404, "not_found")

	// Every kind of item: created through n2, read back through n3,
	// removed through n1; a game's description updated.
	for _, k := range []struct{ path, id, body string }{
		{"facts", "e2e-fact", `{"id":"e2e-fact","text":"A dog's nose print is unique, like a fingerprint.","min_tier":"5-8"}`},
		{"stories", "e2e-story", `{"id":"e2e-story","title":"The Sleepy Pup","text":"Once upon a time a sleepy pup curled up in a sunny spot and dreamed of bones."}`},
		{"tricks", "e2e-trick", `{"id":"e2e-trick","name":"Moonwalk","words":["moonwalk"],"description":"Daisy slides backwards like a dancer.","difficulty":2,"energy_cost":1,"lines":["Daisy slides backwards across the floor in a wobbly moonwalk!"]}`},
	} {
		r := f.raw(t, "POST", n2.url("/v1/admin/catalog/"+k.path), admin, "application/json", []byte(k.body))
		if r.Status != 201 {
			t.Fatalf("create %s: %s", k.path, r)
		}
		var items struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		f.getUntil(t, "the new "+k.path+" item through n3", n3.url("/v1/admin/catalog/"+k.path), admin, &items, func() bool {
			for _, it := range items.Items {
				if it.ID == k.id {
					return true
				}
			}
			return false
		})
		wantErr(t, k.path+" with an unknown field", f.raw(t, "POST", n2.url("/v1/admin/catalog/"+k.path), admin, "application/json", []byte(`{"id":"x","rating":5}`)), 400, "bad_request")
		f.api.must(204, "DELETE", n1.url("/v1/admin/catalog/"+k.path+"/"+k.id), admin, nil)
	}
	var games struct {
		Items []map[string]any `json:"items"`
	}
	f.api.must(200, "GET", n1.url("/v1/admin/catalog/games"), admin, nil).decode(t, &games)
	if len(games.Items) == 0 {
		t.Fatal("no games in the catalogue")
	}
	g := games.Items[0]
	g["description"] = "An updated description of the game."
	f.api.must(200, "PUT", n2.url("/v1/admin/catalog/games/"+g["kind"].(string)), admin, g)
	f.getUntil(t, "the updated game through n3", n3.url("/v1/admin/catalog/games"), admin, &games, func() bool {
		for _, it := range games.Items {
			if it["kind"] == g["kind"] {
				return it["description"] == "An updated description of the game."
			}
		}
		return false
	})
	wantErr(t, "an unknown game kind", f.raw(t, "POST", n1.url("/v1/admin/catalog/games"), admin, "application/json",
		[]byte(`{"kind":"chess","name":"Chess","description":"Daisy plays chess.","rules":"Move the pieces.","energy_cost":0}`)), 422, "invalid")
	g["energy_cost"] = 9
	wantErr(t, "a game costing 9 energy", f.do(t, "PUT", n2.url("/v1/admin/catalog/games/"+g["kind"].(string)), admin, g), 422, "invalid")

	// Items the catalogue refuses (422 invalid), through any node, and
	// nothing of them is stored.
	long := strings.Repeat("woof ", 300)
	for _, c := range []struct{ name, path, body string }{
		{"a malformed id", "jokes", `{"id":"Bad ID!","text":"Why do dogs run in circles? Because it is hard to run in squares!"}`},
		{"an empty joke", "jokes", `{"id":"e2e-bad-empty","text":"   "}`},
		{"an overlong joke", "jokes", `{"id":"e2e-bad-long","text":"` + long + `"}`},
		{"a joke with a link", "jokes", `{"id":"e2e-bad-link","text":"Find more dog jokes at https://jokes.example.test today!"}`},
		{"a joke with an e-mail address", "jokes", `{"id":"e2e-bad-mail","text":"Send your best dog joke to daisy@example.test please!"}`},
		{"a joke with a phone number", "jokes", `{"id":"e2e-bad-phone","text":"Call the dog joke line on 0800 123 4567 for more!"}`},
		{"a fact for an unknown tier", "facts", `{"id":"e2e-bad-tier","text":"Dogs can hear very high sounds.","min_tier":"3-4"}`},
		{"a fact whose tiers are upside down", "facts", `{"id":"e2e-bad-range","text":"Dogs can hear very high sounds.","min_tier":"13-17","max_tier":"5-8"}`},
		{"a story without a title", "stories", `{"id":"e2e-bad-story","title":"","text":"Once upon a time a pup found a stick."}`},
		{"a trick of difficulty 9", "tricks", `{"id":"e2e-bad-hard","name":"Fly","words":["fly"],"description":"Daisy flies.","difficulty":9,"energy_cost":1,"lines":["Daisy flaps her ears!"]}`},
		{"a trick costing 7 energy", "tricks", `{"id":"e2e-bad-cost","name":"Marathon","words":["marathon"],"description":"Daisy runs far.","difficulty":2,"energy_cost":7,"lines":["Daisy runs and runs!"]}`},
		{"a trick no word asks for", "tricks", `{"id":"e2e-bad-words","name":"Nap","words":[],"description":"Daisy naps.","difficulty":1,"energy_cost":1,"lines":["Daisy curls up for a nap."]}`},
		{"a trick word with punctuation", "tricks", `{"id":"e2e-bad-word","name":"Twirl","words":["Twirl!"],"description":"Daisy twirls.","difficulty":1,"energy_cost":1,"lines":["Daisy twirls around!"]}`},
		{"a trick without lines", "tricks", `{"id":"e2e-bad-lines","name":"Wink","words":["wink"],"description":"Daisy winks.","difficulty":1,"energy_cost":1,"lines":[]}`},
	} {
		wantErr(t, c.name, f.raw(t, "POST", n3.url("/v1/admin/catalog/"+c.path), admin, "application/json", []byte(c.body)), 422, "invalid")
	}
	var after struct {
		Jokes, Facts, Tricks, Games, Stories []json.RawMessage
	}
	f.api.must(200, "GET", n1.url("/v1/admin/catalog"), admin, nil).decode(t, &after)
	if len(after.Jokes) != len(cat.Jokes) || len(after.Facts) != len(cat.Facts) || len(after.Tricks) != len(cat.Tricks) || len(after.Stories) != len(cat.Stories) {
		t.Fatalf("refused items changed the catalogue: %d/%d jokes, %d/%d facts, %d/%d tricks, %d/%d stories",
			len(after.Jokes), len(cat.Jokes), len(after.Facts), len(cat.Facts), len(after.Tricks), len(cat.Tricks), len(after.Stories), len(cat.Stories))
	}

	// A content pack: loaded through n2, listed for parents through n3,
	// opted into through n1, its story told.
	packID := "e2e-pack-" + randLetters(5)
	story := "Once upon a time, a little dog named Comet counted every star in the sky until she fell asleep."
	pack := map[string]any{"id": packID, "version": 1, "title": "Space Pups", "description": "Stories about dogs and stars.",
		"source": map[string]string{"name": "Example Library", "url": "https://library.example.test/space", "license": "CC BY 4.0"},
		"items": []map[string]string{
			{"id": "comet", "kind": "story", "title": "Comet Counts Stars", "text": story},
			{"id": "moon", "kind": "lesson", "title": "The Moon", "text": "The Moon goes around the Earth about once a month."},
		}}
	wantErr(t, "a parent loads a pack", f.do(t, "POST", n2.url("/v1/admin/packs"), fam.parentToken, pack), 403, "forbidden")
	// Packs the API refuses for their shape (422 invalid).
	for _, c := range []struct {
		name   string
		change func(p map[string]any)
	}{
		{"a malformed pack id", func(p map[string]any) { p["id"] = "Space Pups!" }},
		{"version 0", func(p map[string]any) { p["version"] = 0 }},
		{"no title", func(p map[string]any) { p["title"] = " " }},
		{"an overlong title", func(p map[string]any) { p["title"] = strings.Repeat("pups ", 20) }},
		{"a description with no text", func(p map[string]any) { p["description"] = "" }},
		{"no source name", func(p map[string]any) {
			p["source"] = map[string]string{"name": "", "url": "https://library.example.test/"}
		}},
		{"a source over plain HTTP", func(p map[string]any) {
			p["source"] = map[string]string{"name": "Library", "url": "http://library.example.test/"}
		}},
		{"an overlong licence", func(p map[string]any) {
			p["source"] = map[string]string{"name": "Library", "license": strings.Repeat("L", 100)}
		}},
		{"no items", func(p map[string]any) { p["items"] = []map[string]string{} }},
		{"an item of an unknown kind", func(p map[string]any) {
			p["items"] = []map[string]string{{"id": "poem", "kind": "poem", "title": "A Poem", "text": "Roses are red."}}
		}},
		{"two items with one id", func(p map[string]any) {
			it := map[string]string{"id": "same", "kind": "lesson", "title": "Stars", "text": "Stars are far away suns."}
			p["items"] = []map[string]string{it, it}
		}},
		{"an item without text", func(p map[string]any) {
			p["items"] = []map[string]string{{"id": "empty", "kind": "story", "title": "Empty", "text": ""}}
		}},
		{"an item for an unknown tier", func(p map[string]any) {
			p["items"] = []map[string]string{{"id": "tier", "kind": "lesson", "title": "Stars", "text": "Stars are far away suns.", "min_tier": "1-2"}}
		}},
	} {
		bad := map[string]any{}
		for k, v := range pack {
			bad[k] = v
		}
		c.change(bad)
		wantErr(t, "a pack with "+c.name, f.do(t, "POST", n1.url("/v1/admin/packs"), admin, bad), 422, "invalid")
	}
	f.api.must(201, "POST", n2.url("/v1/admin/packs"), admin, pack)
	wantErr(t, "the same pack version again", f.do(t, "POST", n1.url("/v1/admin/packs"), admin, pack), 409, "conflict")
	var packs struct {
		Packs []struct {
			ID      string `json:"id"`
			Stories int    `json:"stories"`
			Lessons int    `json:"lessons"`
		} `json:"packs"`
	}
	f.getUntil(t, "the pack offered to parents through n3", n3.url("/v1/packs"), fam.parentToken, &packs, func() bool {
		for _, p := range packs.Packs {
			if p.ID == packID {
				return p.Stories == 1 && p.Lessons == 1
			}
		}
		return false
	})
	f.api.must(200, "GET", n1.url("/v1/admin/packs"), admin, nil)
	path := "/v1/children/" + fam.childID + "/settings"
	optIn := settingsBody(func(m map[string]any) {
		m["content_packs"] = []string{packID}
		m["features"] = map[string]bool{"games": true, "jokes": true, "stories": true, "content_packs": true}
	})
	f.api.must(200, "PUT", n3.url(path), fam.parentToken, optIn)
	heard := false
	for i := 0; i < 60 && !heard; i++ {
		tu := turnOf(t, f.api.must(200, "POST", n3.url("/v1/chat"), fam.childToken, map[string]string{"message": "tell me a story"}))
		heard = strings.Contains(tu.Reply, "Comet Counts Stars")
	}
	if !heard {
		t.Fatal("the pack story was never told in 60 story requests")
	}
	f.api.must(204, "DELETE", n2.url("/v1/admin/packs/"+packID), admin, nil)
	f.errUntil(t, "opting into the deleted pack, on n3", func() apiResp { return f.do(t, "PUT", n3.url(path), fam.parentToken, optIn) }, 422, "invalid")
}

func (f *flows) policyAdmin(t *testing.T, n1, n2, n3 *node) {
	admin := f.admin(t, n1)
	var active string
	for _, n := range []*node{n1, n2, n3} {
		st, err := f.policyStatus(n, admin)
		if err != nil {
			t.Fatalf("policy status of %s: %v", n.id, err)
		}
		if st.Node != n.id || st.Active == "" || (active != "" && st.Active != active) {
			t.Fatalf("policy status of %s: %+v (n1 runs %q)", n.id, st, active)
		}
		active = st.Active
	}
	wantErr(t, "a bundle as JSON", f.raw(t, "POST", n2.url("/v1/admin/policies"), admin, "application/json", []byte(`{}`)), 415, "unsupported_media_type")
	wantErr(t, "garbage bundle", f.raw(t, "POST", n2.url("/v1/admin/policies?activate=false"), admin, "application/octet-stream", []byte("not a bundle")), 422, "policy_refused")
	wantErr(t, "activate an unknown policy", f.do(t, "POST", n3.url("/v1/admin/policies/ghost@1.0.0/activate"), admin, nil), 404, "not_found")
	wantErr(t, "nothing to roll back", f.do(t, "POST", n1.url("/v1/admin/policy-rollback"), admin, nil), 409, "nothing_to_roll_back")
	wantErr(t, "trust garbage", f.do(t, "POST", n1.url("/v1/admin/policy-keys"), admin, map[string]string{"public_key_pem": "not a key"}), 422, "invalid")

	// A key made with `daisydog policy keygen`, trusted through n1, is
	// listed by n3, then revoked through n2.
	prefix := filepath.Join(t.TempDir(), "signer")
	if out, err := cli("policy", "keygen", "--out", prefix); err != nil {
		t.Fatalf("policy keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	var trusted struct {
		KeyID string `json:"key_id"`
	}
	f.api.must(201, "POST", n1.url("/v1/admin/policy-keys"), admin, map[string]string{"public_key_pem": string(pub)}).decode(t, &trusted)
	keys := func(n *node) []string {
		var st struct {
			TrustedKeys []string `json:"trusted_keys"`
		}
		f.api.must(200, "GET", n.url("/v1/admin/policies"), admin, nil).decode(t, &st)
		return st.TrustedKeys
	}
	has := func(list []string) bool {
		for _, k := range list {
			if strings.Contains(k, trusted.KeyID) {
				return true
			}
		}
		return false
	}
	if trusted.KeyID == "" {
		t.Fatal("trusting a key answered no key id")
	}
	waitFor(t, replicaWait, "the trusted key listed through n3", func() (bool, string) { k := keys(n3); return has(k), strings.Join(k, ",") })
	f.refusedBundles(t, admin, prefix+".key", n1, n2)
	var rev map[string]any
	f.api.must(200, "DELETE", n2.url("/v1/admin/policy-keys/"+trusted.KeyID), admin, nil).decode(t, &rev)
	if rev["revoked"] != trusted.KeyID {
		t.Fatalf("revoke answered %v", rev)
	}
	waitFor(t, replicaWait, "the key gone through n1", func() (bool, string) { k := keys(n1); return !has(k), strings.Join(k, ",") })
	var shadow map[string]any
	f.api.must(200, "DELETE", n3.url("/v1/admin/policy-shadow"), admin, nil).decode(t, &shadow)
}

func (f *flows) errorAnswers(t *testing.T, n1, n2 *node) {
	fam := f.newFamily(n1, "", "")
	chat := n2.url("/v1/chat")
	admin := f.admin(t, n1)
	octets := "application/octet-stream"
	cases := []struct {
		name, method, url, token, ctype string
		body                            []byte
		status                          int
		code                            string
	}{
		{"unknown path", "GET", n1.url("/v1/nothing-here"), "", "", nil, 404, "not_found"},
		{"wrong method", "PATCH", n1.url("/v1/children"), fam.parentToken, "", nil, 405, "method_not_allowed"},
		{"no token", "POST", chat, "", "application/json", []byte(`{"message":"hi"}`), 401, "unauthorized"},
		{"garbage token", "POST", chat, "not.a.token", "application/json", []byte(`{"message":"hi"}`), 401, "unauthorized"},
		{"parent token on a child route", "POST", chat, fam.parentToken, "application/json", []byte(`{"message":"hi"}`), 403, "forbidden"},
		{"child token on a parent route", "GET", n1.url("/v1/children"), fam.childToken, "", nil, 403, "forbidden"},
		{"malformed JSON", "POST", chat, fam.childToken, "application/json", []byte(`{"message":`), 400, "bad_request"},
		{"two objects", "POST", chat, fam.childToken, "application/json", []byte(`{"message":"a"}{"message":"b"}`), 400, "bad_request"},
		{"unknown field", "POST", chat, fam.childToken, "application/json", []byte(`{"message":"a","mood":"x"}`), 400, "bad_request"},
		{"wrong content type", "POST", chat, fam.childToken, "text/plain", []byte(`{"message":"hi"}`), 415, "unsupported_media_type"},
		{"oversized body", "POST", chat, fam.childToken, "application/json", []byte(`{"message":"` + strings.Repeat("a", 9000) + `"}`), 413, "too_large"},
		{"invalid UTF-8", "POST", chat, fam.childToken, "application/json", []byte("{\"message\":\"\xff\"}"), 400, "bad_request"},
		{"blank message", "POST", chat, fam.childToken, "application/json", []byte(`{"message":"   "}`), 422, "invalid"},
		{"bad history limit", "GET", n1.url("/v1/chat?limit=0"), fam.childToken, "", nil, 422, "invalid"},
		{"oversized sign-up", "POST", n1.url("/v1/parents/signup"), "", "application/json", []byte(`{"email":"` + strings.Repeat("a", 5000) + `"}`), 413, "too_large"},
		{"sign-up with a two-letter address", "POST", n1.url("/v1/parents/signup"), "", "application/json", []byte(`{"email":"a@","password":"correct horse battery staple"}`), 422, "invalid"},
		{"refresh with a malformed token", "POST", n2.url("/v1/auth/refresh"), "", "application/json", []byte(`{"refresh_token":"nope"}`), 401, "unauthorized"},
		{"login without a password", "POST", n1.url("/v1/auth/login"), "", "application/json", []byte(`{"email":"a@b.test","password":""}`), 401, "invalid_credentials"},
		{"staff login without a password", "POST", n2.url("/v1/admin/login"), "", "application/json", []byte(`{"email":"a@b.test","password":""}`), 401, "invalid_credentials"},
		{"MFA with a garbage token", "POST", n1.url("/v1/admin/mfa"), "", "application/json", []byte(`{"mfa_token":"x.y.z","code":"123456"}`), 401, "unauthorized"},
		{"MFA with a parent's token", "POST", n1.url("/v1/admin/mfa"), "", "application/json", []byte(`{"mfa_token":"` + fam.parentToken + `","code":"123456"}`), 401, "unauthorized"},
		{"bootstrap without its credential", "POST", n2.url("/v1/admin/bootstrap"), "", "application/json", []byte(`{"email":"x@y.test","password":"correct horse battery staple"}`), 401, "unauthorized"},
		{"an invitation for an unknown role", "POST", n1.url("/v1/admin/invites/accept"), "", "application/json",
			[]byte(`{"invite_token":"inv_x","role":"owner","email":"x@y.test","password":"correct horse battery staple"}`), 422, "invalid"},
		{"a malformed invitation", "POST", n1.url("/v1/admin/invites/accept"), "", "application/json",
			[]byte(`{"invite_token":"inv_x","role":"moderator","email":"x@y.test","password":"correct horse battery staple"}`), 401, "invalid_invite"},
		{"a malformed verification token", "POST", n2.url("/v1/auth/verify-email"), "", "application/json", []byte(`{"token":"ev_short"}`), 400, "invalid_token"},
		{"a nickname with digits", "POST", n1.url("/v1/children"), fam.parentToken, "application/json", []byte(`{"nickname":"R2D2","age_tier":"9-12"}`), 422, "invalid"},
		{"an overlong nickname", "POST", n1.url("/v1/children"), fam.parentToken, "application/json", []byte(`{"nickname":"` + strings.Repeat("a", 25) + `","age_tier":"9-12"}`), 422, "invalid"},
		{"a rude nickname", "POST", n1.url("/v1/children"), fam.parentToken, "application/json", []byte(`{"nickname":"Dumbass","age_tier":"13-17"}`), 422, "invalid"},
		{"a full name as nickname", "POST", n1.url("/v1/children"), fam.parentToken, "application/json", []byte(`{"nickname":"Emma Smith","age_tier":"5-8"}`), 422, "invalid"},
		{"a policy push with activate=maybe", "POST", n1.url("/v1/admin/policies?activate=maybe"), admin, octets, []byte("bundle"), 400, "bad_request"},
		{"a policy push without a bundle", "POST", n2.url("/v1/admin/policies"), admin, octets, nil, 400, "bad_request"},
		{"activating a policy id without a version", "POST", n1.url("/v1/admin/policies/words/activate"), admin, "", nil, 422, "invalid"},
		{"revoking a key id that is not hex", "DELETE", n2.url("/v1/admin/policy-keys/ABCDEFGHIJKLMNOP"), admin, "", nil, 422, "invalid"},
		{"replacing a joke that does not exist", "PUT", n1.url("/v1/admin/catalog/jokes/no-such-joke"), admin, "application/json",
			[]byte(`{"id":"no-such-joke","text":"Why did the puppy sit in the shade? It did not want to be a hot dog!"}`), 404, "not_found"},
	}
	for _, c := range cases {
		r := f.raw(t, c.method, c.url, c.token, c.ctype, c.body)
		wantErr(t, c.name, r, c.status, c.code)
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: security headers missing: %v", c.name, r.Header)
		}
	}
	// A first name is what a nickname is for, although the policy redacts
	// a lone first name in a child's chat: kept as typed.
	for _, nick := range []string{"Emma", "Big Emma"} {
		var ch struct {
			Nickname string `json:"nickname"`
		}
		f.api.must(201, "POST", n1.url("/v1/children"), fam.parentToken, map[string]string{"nickname": nick, "age_tier": "5-8"}).decode(t, &ch)
		if ch.Nickname != nick {
			t.Fatalf("nickname %q stored as %q", nick, ch.Nickname)
		}
	}

	// Every JSON endpoint refuses a body with a field it does not take
	// (400, the field named) before acting on it: logging out, deleting a
	// child or the family, or ending the staff session with such a body
	// changes nothing.
	child := "/v1/children/" + fam.childID
	for _, e := range []struct{ method, path, token string }{
		{"POST", "/v1/auth/login", ""},
		{"POST", "/v1/auth/refresh", ""},
		{"POST", "/v1/auth/logout", fam.parentToken},
		{"POST", "/v1/auth/logout-all", fam.parentToken},
		{"POST", "/v1/auth/verify-email", ""},
		{"POST", "/v1/auth/password-reset", ""},
		{"POST", "/v1/auth/password-reset/confirm", ""},
		{"POST", "/v1/parents/me/verification-email", fam.parentToken},
		{"POST", "/v1/children", fam.parentToken},
		{"POST", child + "/link-codes", fam.parentToken},
		{"POST", "/v1/devices/link", ""},
		{"POST", "/v1/games", fam.childToken},
		{"POST", "/v1/games/current/moves", fam.childToken},
		{"PUT", child + "/settings", fam.parentToken},
		{"DELETE", child, fam.parentToken},
		{"DELETE", "/v1/family", fam.parentToken},
		{"POST", "/v1/ui/login", ""},
		{"POST", "/v1/admin/login", ""},
		{"POST", "/v1/admin/mfa", ""},
		{"POST", "/v1/admin/invites/accept", ""},
		{"POST", "/v1/admin/invites", admin},
		{"POST", "/v1/admin/logout", admin},
		{"POST", "/v1/admin/packs", admin},
		{"POST", "/v1/admin/policy-keys", admin},
	} {
		r := f.raw(t, e.method, n2.url(e.path), e.token, "application/json", []byte(`{"sneaky":true}`))
		wantErr(t, e.method+" "+e.path+" with an unknown field", r, 400, "bad_request")
		if !strings.Contains(r.String(), `sneaky`) {
			t.Errorf("%s %s: the refusal does not name the field: %s", e.method, e.path, r)
		}
	}
	type listed struct {
		ID string `json:"id"`
	}
	var kids struct {
		Children []listed `json:"children"`
	}
	f.api.must(200, "GET", n2.url("/v1/children"), fam.parentToken, nil).decode(t, &kids)
	if !slices.ContainsFunc(kids.Children, func(c listed) bool { return c.ID == fam.childID }) {
		t.Fatalf("after refused deletions the family's children are %+v, want %s among them", kids, fam.childID)
	}
	f.api.must(200, "GET", n2.url("/v1/admin/staff"), admin, nil)
	if h := f.history(n1, fam, false); len(h) != 0 {
		t.Fatalf("refused requests stored %d turns", len(h))
	}

	f.joinAndStaffRefusals(t, n1, n2)

	// CORS: the configured origin may ask, another may not.
	r := f.raw(t, "OPTIONS", n2.url("/v1/chat"), "", "", nil, "Origin", "https://console.example.test", "Access-Control-Request-Method", "POST")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://console.example.test" || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight from the allowed origin: %s %v", r, r.Header)
	}
	r = f.raw(t, "OPTIONS", n2.url("/v1/chat"), "", "", nil, "Origin", "https://evil.example.test", "Access-Control-Request-Method", "POST")
	wantErr(t, "preflight from another origin", r, 403, "forbidden")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin was allowed: %v", r.Header)
	}

	// Public endpoints.
	var h map[string]string
	f.api.must(200, "GET", n1.url("/healthz"), "", nil).decode(t, &h)
	if h["status"] != "ok" {
		t.Fatalf("healthz %v", h)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	f.api.must(200, "GET", n2.url("/.well-known/jwks.json"), "", nil).decode(t, &jwks)
	if len(jwks.Keys) == 0 || jwks.Keys[0]["kty"] == nil {
		t.Fatalf("jwks %+v", jwks)
	}
	var met map[string]any
	f.api.must(200, "GET", n1.url("/v1/metrics"), "", nil).decode(t, &met)
	if len(met) == 0 {
		t.Fatal("empty metrics")
	}
	// The parent console is served with its own policy.
	r = f.raw(t, "GET", n1.url("/ui/"), "", "", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !bytes.Contains(r.Body, []byte("<html")) {
		t.Fatalf("GET /ui/: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	wantErr(t, "a missing console file", f.raw(t, "GET", n1.url("/ui/nothing.js"), "", "", nil), 404, "not_found")
}

func (f *flows) privacy(t *testing.T, n1, n2, n3 *node) {
	fam := f.newFamily(n1, "", "")
	f.api.must(200, "POST", n2.url("/v1/chat"), fam.childToken, map[string]string{"message": "I love my dog Rex"})
	second := struct {
		ID string `json:"id"`
	}{}
	f.api.must(201, "POST", n1.url("/v1/children"), fam.parentToken, map[string]string{"nickname": "Ada", "age_tier": "5-8"}).decode(t, &second)

	type export struct {
		FamilyID string `json:"family_id"`
		Parents  []struct {
			Email string `json:"email"`
		} `json:"parents"`
		Children []struct {
			ID       string `json:"id"`
			Nickname string `json:"nickname"`
			Devices  []struct {
				ID string `json:"id"`
			} `json:"devices"`
			Consents []struct {
				Method        string `json:"method"`
				NoticeVersion string `json:"notice_version"`
			} `json:"consents"`
			Turns []struct {
				Message string `json:"message"`
			} `json:"turns"`
		} `json:"children"`
	}
	var ex export
	r := f.api.must(200, "GET", n3.url("/v1/family/export"), fam.parentToken, nil)
	if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("export Content-Disposition %q", r.Header.Get("Content-Disposition"))
	}
	f.getUntil(t, "both children and the turn in the export through n3", n3.url("/v1/family/export"), fam.parentToken, &ex, func() bool {
		return len(ex.Children) == 2 && (len(ex.Children[0].Turns)+len(ex.Children[1].Turns)) == 1
	})
	if ex.FamilyID == "" || len(ex.Parents) != 1 || ex.Parents[0].Email != fam.email {
		t.Fatalf("export through n3: %+v", ex)
	}
	for _, ch := range ex.Children {
		switch ch.ID {
		case fam.childID:
			if ch.Nickname != fam.nickname || len(ch.Devices) != 1 || len(ch.Turns) != 1 || ch.Turns[0].Message != "I love my dog Rex" ||
				len(ch.Consents) != 1 || ch.Consents[0].Method != "email_plus" || ch.Consents[0].NoticeVersion == "" {
				t.Fatalf("exported child %+v", ch)
			}
		case second.ID:
			if ch.Nickname != "Ada" || len(ch.Turns) != 0 || len(ch.Consents) != 0 {
				t.Fatalf("exported second child %+v", ch)
			}
		default:
			t.Fatalf("export holds another family's child %s", ch.ID)
		}
	}
	wantErr(t, "a child exports", f.do(t, "GET", n3.url("/v1/family/export"), fam.childToken, nil), 403, "forbidden")

	// Consent (given through n1 by newFamily, confirmed by e-mail): withdrawn
	// through n2, the device is refused on n3; given again through n3, the
	// device chats through n1. The second child (5-8) has none: its device
	// is refused.
	if _, body := f.mailedText(t, fam.email, "consent_confirmation", 1); !strings.Contains(body, fam.childID) || !strings.Contains(body, "withdraw") {
		t.Fatalf("consent confirmation e-mail %q", body)
	}
	consentPath := "/v1/children/" + fam.childID + "/consent"
	f.api.must(200, "DELETE", n2.url(consentPath), fam.parentToken, nil)
	f.errUntil(t, "the device after the withdrawal, on n3", func() apiResp { return f.do(t, "GET", n3.url("/v1/chat/daisy"), fam.childToken, nil) }, 403, "consent_required")
	wantErr(t, "a chat after the withdrawal", f.do(t, "POST", n2.url("/v1/chat"), fam.childToken, map[string]string{"message": "hello"}), 403, "consent_required")
	var notice struct {
		Version string `json:"version"`
	}
	f.api.must(200, "GET", n3.url("/v1/privacy"), "", nil).decode(t, &notice)
	f.api.must(201, "POST", n3.url(consentPath), fam.parentToken, map[string]string{"notice_version": notice.Version})
	var daisy struct {
		Available bool `json:"available"`
	}
	f.getUntil(t, "the device admitted again, on n1", n1.url("/v1/chat/daisy"), fam.childToken, &daisy, func() bool { return true })
	var code struct {
		Code string `json:"code"`
	}
	f.api.must(201, "POST", n1.url("/v1/children/"+second.ID+"/link-codes"), fam.parentToken, nil).decode(t, &code)
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	f.api.must(201, "POST", n2.url("/v1/devices/link"), "", map[string]string{"code": code.Code}).decode(t, &dev)
	wantErr(t, "a 5-8 profile without consent", f.do(t, "POST", n3.url("/v1/chat"), dev.AccessToken, map[string]string{"message": "hello"}), 403, "consent_required")

	// Another family's parent cannot delete this child; then deleting a
	// child (through n2) removes it and its device everywhere.
	other := f.newFamily(n3, "", "")
	wantErr(t, "deleting another family's child", f.do(t, "DELETE", n2.url("/v1/children/"+fam.childID), other.parentToken, nil), 404, "not_found")
	f.api.must(200, "GET", n1.url("/v1/children/"+fam.childID), fam.parentToken, nil)
	f.api.must(204, "DELETE", n2.url("/v1/children/"+fam.childID), fam.parentToken, nil)
	wantErr(t, "deleting the child twice", f.do(t, "DELETE", n2.url("/v1/children/"+fam.childID), fam.parentToken, nil), 404, "not_found")
	f.errUntil(t, "the deleted child, on n3", func() apiResp { return f.do(t, "GET", n3.url("/v1/children/"+fam.childID), fam.parentToken, nil) }, 404, "not_found")
	f.errUntil(t, "the deleted child's device, on n1", func() apiResp { return f.do(t, "GET", n1.url("/v1/chat/daisy"), fam.childToken, nil) }, 401, "unauthorized")

	// Deleting the family needs the password; then nothing of it is left.
	wantErr(t, "family deletion with a wrong password", f.do(t, "DELETE", n1.url("/v1/family"), fam.parentToken, map[string]string{"password": "wrong horse battery staple"}), 401, "invalid_credentials")
	f.api.must(204, "DELETE", n1.url("/v1/family"), fam.parentToken, map[string]string{"password": fam.password})
	f.errUntil(t, "the deleted family's token, on n2", func() apiResp { return f.do(t, "GET", n2.url("/v1/children"), fam.parentToken, nil) }, 401, "unauthorized")
	wantErr(t, "the deleted family's login", f.do(t, "POST", n3.url("/v1/auth/login"), "", map[string]string{"email": fam.email, "password": fam.password}), 401, "invalid_credentials")
}

// cookieOf returns the Set-Cookie of name in r (nil if none).
func cookieOf(r apiResp, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// console runs the parent console's cookie session: login (the refresh
// token only in an HttpOnly cookie), refresh (needs the CSRF header and
// rotates the cookie), logout (ends the session on every node and clears
// the cookies), each step through another node.
func (f *flows) console(t *testing.T, n1, n2, n3 *node) {
	fam := f.newFamily(n1, "", "")
	creds, err := json.Marshal(map[string]string{"email": fam.email, "password": fam.password})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "console login from another site", f.raw(t, "POST", n1.url("/v1/ui/login"), "", "application/json", creds, "Origin", "https://evil.example.test"), 403, "csrf")
	wantErr(t, "console login with a wrong password", f.raw(t, "POST", n1.url("/v1/ui/login"), "", "application/json",
		[]byte(`{"email":"`+fam.email+`","password":"not the password at all"}`), "Origin", "https://"+n1.httpAddr), 401, "invalid_credentials")
	r := f.raw(t, "POST", n1.url("/v1/ui/login"), "", "application/json", creds, "Origin", "https://"+n1.httpAddr)
	if r.Status != 200 {
		t.Fatalf("console login: %s", r)
	}
	var sess struct {
		AccessToken  string `json:"access_token"`
		CSRFToken    string `json:"csrf_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(t, &sess)
	refresh, csrf := cookieOf(r, "__Host-dd_refresh"), cookieOf(r, "__Host-dd_csrf")
	if refresh == nil || csrf == nil || refresh.Value == "" || !refresh.HttpOnly || !refresh.Secure || refresh.SameSite != http.SameSiteStrictMode ||
		refresh.Path != "/" || csrf.HttpOnly || csrf.Value != sess.CSRFToken || sess.RefreshToken != "" || sess.AccessToken == "" {
		t.Fatalf("console login: cookies %+v %+v, body %s", refresh, csrf, r.Body)
	}
	if bytes.Contains(r.Body, []byte(refresh.Value)) {
		t.Fatal("the refresh token is in the response body")
	}
	f.api.must(200, "GET", n2.url("/v1/children"), sess.AccessToken, nil)

	cookies := func(refresh, csrf string) string { return "__Host-dd_refresh=" + refresh + "; __Host-dd_csrf=" + csrf }
	wantErr(t, "refresh without the CSRF header", f.raw(t, "POST", n2.url("/v1/ui/refresh"), "", "", nil, "Cookie", cookies(refresh.Value, csrf.Value)), 403, "csrf")
	wantErr(t, "refresh with another CSRF token", f.raw(t, "POST", n2.url("/v1/ui/refresh"), "", "", nil,
		"Cookie", cookies(refresh.Value, csrf.Value), "X-CSRF-Token", "forged"), 403, "csrf")
	r = f.raw(t, "POST", n2.url("/v1/ui/refresh"), "", "", nil, "Cookie", cookies(refresh.Value, csrf.Value), "X-CSRF-Token", csrf.Value)
	if r.Status != 200 {
		t.Fatalf("console refresh through n2: %s", r)
	}
	r.decode(t, &sess)
	refresh2, csrf2 := cookieOf(r, "__Host-dd_refresh"), cookieOf(r, "__Host-dd_csrf")
	if refresh2 == nil || csrf2 == nil || refresh2.Value == refresh.Value || csrf2.Value != sess.CSRFToken || sess.AccessToken == "" {
		t.Fatalf("console refresh did not rotate the session: %+v %+v", refresh2, csrf2)
	}
	f.api.must(200, "GET", n3.url("/v1/children"), sess.AccessToken, nil)

	r = f.raw(t, "POST", n3.url("/v1/ui/logout"), "", "", nil, "Cookie", cookies(refresh2.Value, csrf2.Value), "X-CSRF-Token", csrf2.Value)
	if r.Status != 204 {
		t.Fatalf("console logout through n3: %s", r)
	}
	for _, name := range []string{"__Host-dd_refresh", "__Host-dd_csrf"} {
		if c := cookieOf(r, name); c == nil || c.Value != "" || c.MaxAge >= 0 {
			t.Fatalf("logout did not clear %s: %+v", name, c)
		}
	}
	f.errUntil(t, "the console's access token after logout, on n1", func() apiResp { return f.do(t, "GET", n1.url("/v1/children"), sess.AccessToken, nil) }, 401, "unauthorized")
	wantErr(t, "refresh after logout", f.raw(t, "POST", n1.url("/v1/ui/refresh"), "", "", nil,
		"Cookie", cookies(refresh2.Value, csrf2.Value), "X-CSRF-Token", csrf2.Value), 401, "unauthorized")
}

// refusedBundles pushes bundles signed by a trusted key whose modules or
// vectors a node must refuse — verdicts that are not verdicts, guests that
// break the ABI, vectors the module does not meet — and checks each is
// refused (422 policy_refused, with a reason) and never staged.
func (f *flows) refusedBundles(t *testing.T, admin, keyFile string, n1, n2 *node) {
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := bundle.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	vectors := func(e policies.Expectation) []byte {
		b, err := json.Marshal(policies.VectorFile{ABI: 1, Policy: "bad", Vectors: []policies.Vector{{
			Name: "hello", Input: policies.Input{Text: "hello there", Direction: "in", AgeTier: "5-8"}, Expect: e}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	allow := policies.Expectation{Action: "allow", Categories: []string{}}
	sev, esc := 2, true
	konst := func(verdict string) []byte { return wasmtest.ConstModule([]byte(verdict)) }
	okVerdict := `{"action":"allow","categories":[],"rules":["r"]}`
	cases := []struct {
		name    string
		module  []byte
		expect  policies.Expectation
		because string // in the refusal
	}{
		{"a verdict that is not JSON", konst("not json"), allow, "verdict"},
		{"a verdict with trailing data", konst(okVerdict + `{}`), allow, "trailing data"},
		{"a verdict without an action", konst(`{"categories":[]}`), allow, "missing action"},
		{"an unknown action", konst(`{"action":"shrug"}`), allow, `unknown action "shrug"`},
		{"a severity out of range", konst(`{"action":"block","categories":["violence"],"severity":99}`), allow, "severity 99"},
		{"an unknown category", konst(`{"action":"block","categories":["grumpiness"]}`), allow, `unknown category "grumpiness"`},
		{"a category twice", konst(`{"action":"block","categories":["violence","violence"]}`), allow, "duplicate category"},
		{"an empty rule id", konst(`{"action":"allow","rules":[""]}`), allow, "rule id"},
		{"a span outside the text", konst(`{"action":"redact","categories":["pii_disclosure"],"spans":[{"start":5,"end":500,"category":"pii_disclosure","kind":"name"}]}`), allow, "outside text"},
		{"spans out of order", konst(`{"action":"redact","categories":["pii_disclosure"],"spans":[{"start":3,"end":5,"category":"pii_disclosure","kind":"name"},{"start":0,"end":2,"category":"pii_disclosure","kind":"name"}]}`), allow, "out of order"},
		{"a span of an unknown kind", konst(`{"action":"redact","categories":["pii_disclosure"],"spans":[{"start":0,"end":5,"category":"pii_disclosure","kind":"Bad Kind"}]}`), allow, "kind"},
		{"a redaction without spans", konst(`{"action":"redact","categories":["pii_disclosure"]}`), allow, "redact without spans"},
		{"vectors wanting another action", konst(okVerdict), policies.Expectation{Action: "block", Categories: []string{"violence"}}, "hello"},
		{"vectors wanting a severity", konst(okVerdict), policies.Expectation{Action: "allow", Categories: []string{}, Severity: &sev}, "hello"},
		{"vectors wanting an escalation", konst(okVerdict), policies.Expectation{Action: "allow", Categories: []string{}, Escalate: &esc}, "hello"},
		{"vectors wanting spans", konst(okVerdict), policies.Expectation{Action: "allow", Categories: []string{}, Spans: &[]policies.ExpectedSpan{{Start: 0, End: 5}}}, "hello"},
		{"a guest of another ABI version", wasmtest.ABIModule(wasmtest.Options{ABIVersion: 2}), allow, "abi"},
		{"a guest whose start traps", wasmtest.ABIModule(wasmtest.Options{InitTraps: true}), allow, ""},
		{"a guest without evaluate", wasmtest.ABIModule(wasmtest.Options{Omit: "evaluate"}), allow, "evaluate"},
		{"a guest without memory", wasmtest.ABIModule(wasmtest.Options{Omit: "memory"}), allow, "memory"},
		{"a guest whose evaluate has the wrong signature", wasmtest.ABIModule(wasmtest.Options{EvaluateI32: true}), allow, "evaluate"},
		{"a guest importing from the host", wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{{Module: "env", Name: "open_socket", Kind: 0, Results: []byte{wasmtest.I32}}}}), allow, "open_socket"},
		{"a guest importing a memory", wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{{Module: "env", Name: "shared_mem", Kind: 2}}}), allow, "shared_mem"},
		{"a guest importing a global", wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{{Module: "env", Name: "host_flag", Kind: 3}}}), allow, "host_flag"},
		{"a guest whose free traps", wasmtest.ABIModule(wasmtest.Options{FreeTraps: true}), allow, "free"},
		{"an empty result", konst(""), allow, "empty result"},
		{"a guest without sched_yield that echoes its input", wasmtest.ABIModule(wasmtest.Options{NoYield: true}), allow, ""},
		{"a module that is not WebAssembly", []byte("\x00asm but not really"), allow, ""},
	}
	for i, c := range cases {
		version := fmt.Sprintf("%d", i+1)
		raw, err := bundle.Build(bundle.Spec{Name: "bad", Version: version, Module: c.module, Vectors: vectors(c.expect), Now: time.Now()}, key)
		if err != nil {
			t.Fatalf("%s: building the bundle: %v", c.name, err)
		}
		r := f.raw(t, "POST", n1.url("/v1/admin/policies?activate=false"), admin, "application/octet-stream", raw)
		wantErr(t, c.name, r, 422, "policy_refused")
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(r.Body, &e)
		if !strings.Contains(e.Error.Message, c.because) || e.Error.Message == "" {
			t.Errorf("%s: refused because %q, want a reason mentioning %q", c.name, e.Error.Message, c.because)
		}
	}

	// Bundles altered after signing, or malformed inside.
	good, err := bundle.Build(bundle.Spec{Name: "bad", Version: "99", Module: konst(okVerdict), Vectors: vectors(allow), Now: time.Now()}, key)
	if err != nil {
		t.Fatal(err)
	}
	setJSON := func(parts map[string][]byte, name, field string, v any) {
		var m map[string]any
		if err := json.Unmarshal(parts[name], &m); err != nil {
			t.Fatal(err)
		}
		m[field] = v
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		parts[name] = b
	}
	for _, c := range []struct {
		name, because string
		edit          func(parts map[string][]byte, order []string) []string
	}{
		{"a module swapped after signing", "does not match the manifest", func(p map[string][]byte, o []string) []string {
			p["module.wasm"] = konst(`{"action":"allow","categories":[],"rules":["swapped"]}`)
			return o
		}},
		{"a forged signature", "does not verify", func(p map[string][]byte, o []string) []string {
			setJSON(p, "signature.json", "sig", make([]byte, 64))
			return o
		}},
		{"an extra part", `unexpected part "extra.txt"`, func(p map[string][]byte, o []string) []string {
			p["extra.txt"] = []byte("hi")
			return append(o, "extra.txt")
		}},
		{"a part twice", `part "vectors.json" appears twice`, func(p map[string][]byte, o []string) []string { return append(o, "vectors.json") }},
		{"no signature", `missing part "signature.json"`, func(p map[string][]byte, o []string) []string {
			return slices.DeleteFunc(o, func(n string) bool { return n == "signature.json" })
		}},
		{"a signature that is not JSON", "signature:", func(p map[string][]byte, o []string) []string { p["signature.json"] = []byte("nope"); return o }},
		{"a manifest with trailing data", "manifest:", func(p map[string][]byte, o []string) []string {
			p["manifest.json"] = append(p["manifest.json"], []byte("{}")...)
			return o
		}},
		{"the embedded policy's name", "reserved for the embedded policy", func(p map[string][]byte, o []string) []string {
			setJSON(p, "manifest.json", "name", "default")
			return o
		}},
		{"a malformed name", "must match", func(p map[string][]byte, o []string) []string {
			setJSON(p, "manifest.json", "name", "Bad Name")
			return o
		}},
		{"a malformed version", "must match", func(p map[string][]byte, o []string) []string {
			setJSON(p, "manifest.json", "version", "1 beta")
			return o
		}},
		{"another ABI", "ABI 2", func(p map[string][]byte, o []string) []string { setJSON(p, "manifest.json", "abi", 2); return o }},
		{"another format", "manifest format 9", func(p map[string][]byte, o []string) []string { setJSON(p, "manifest.json", "format", 9); return o }},
	} {
		raw := repackBundle(t, good, c.edit)
		r := f.raw(t, "POST", n2.url("/v1/admin/policies?activate=false"), admin, "application/octet-stream", raw)
		wantErr(t, c.name, r, 422, "policy_refused")
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(r.Body, &e)
		if !strings.Contains(e.Error.Message, c.because) {
			t.Errorf("%s: refused because %q, want a reason mentioning %q", c.name, e.Error.Message, c.because)
		}
	}

	st, err := f.policyStatus(n2, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, sb := range st.Staged {
		if strings.HasPrefix(sb.ID, "bad@") {
			t.Fatalf("a refused bundle was staged: %+v", st.Staged)
		}
	}
}

// joinAndStaffRefusals: the join endpoint refuses a malformed request, a
// wrong secret, a bad node ID and a bad certificate request (nothing
// joins), and `daisydog join` says why with a wrong secret or a token of
// another cluster; a second `admin create` is refused; a wrong TOTP code
// is refused.
func (f *flows) joinAndStaffRefusals(t *testing.T, n1, n2 *node) {
	out, err := cli("cluster", "token", "--data", n1.dir)
	if err != nil {
		t.Fatalf("cluster token: %v", err)
	}
	parts := strings.Split(strings.TrimSpace(out), ".")
	if len(parts) != 3 || len(parts[1]) != 64 || len(parts[2]) != 64 {
		t.Fatalf("cluster token printed %q, want ddj1.<secret>.<fingerprint>", out)
	}
	secret, fp, zeros := parts[1], parts[2], strings.Repeat("0", 64)
	join := func(body string) apiResp {
		return f.raw(t, "POST", n1.url("/internal/join"), "", "application/json", []byte(body))
	}
	wantErr(t, "a malformed join request", join(`{"secret":`), 400, "bad_request")
	wantErr(t, "a join with a wrong secret", join(`{"secret":"`+zeros+`","node_id":"n9","csr":"x"}`), 401, "unauthorized")
	wantErr(t, "a join with a bad node ID", join(`{"secret":"`+secret+`","node_id":"N9!","csr":"x"}`), 422, "invalid")
	wantErr(t, "a join with a bad certificate request", join(`{"secret":"`+secret+`","node_id":"n9","csr":"not a CSR"}`), 422, "invalid")
	addrs := freeAddrs(t, 2)
	for _, c := range []struct{ name, token, want string }{
		{"a wrong secret", "ddj1." + zeros + "." + fp, "refused (401)"},
		{"another cluster's token", "ddj1." + secret + "." + zeros, "CA fingerprint mismatch"},
	} {
		_, err := cli("join", "--no-serve", "--data", filepath.Join(t.TempDir(), "n9"), "--node-id", "n9", "--http", addrs[0], "--raft", addrs[1],
			"--join", n1.httpAddr, "--token", c.token)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("join with %s: %v, want a refusal mentioning %q", c.name, err, c.want)
		}
	}
	st, err := f.status(n2)
	if err != nil || len(st.Nodes) != 3 {
		t.Fatalf("membership after refused joins: %v %v", err, st)
	}

	f.admin(t, n1) // the first administrator exists
	if _, err := cliEnv([]string{"DAISYDOG_ADMIN_PASSWORD=another horse battery staple"}, "admin", "create", "--data", n1.dir, "--email", "second@example.org"); err == nil ||
		!strings.Contains(err.Error(), "already_bootstrapped") {
		t.Fatalf("a second admin create: %v, want already_bootstrapped", err)
	}
	var m struct {
		MFAToken string `json:"mfa_token"`
	}
	f.api.must(200, "POST", n2.url("/v1/admin/login"), "", map[string]string{"email": "admin@example.org", "password": "correct horse battery staple"}).decode(t, &m)
	wantErr(t, "a wrong TOTP code", f.do(t, "POST", n2.url("/v1/admin/mfa"), "", map[string]string{"mfa_token": m.MFAToken, "code": "000000"}), 401, "invalid_mfa_code")
}

// repackBundle opens a bundle's zstd-compressed tar, lets edit change the
// parts and their order, and packs it again (the signature is not redone).
func repackBundle(t *testing.T, raw []byte, edit func(parts map[string][]byte, order []string) []string) []byte {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	parts := map[string][]byte{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		parts[h.Name] = b
		order = append(order, h.Name)
	}
	order = edit(parts, order)
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(parts[name])), Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(parts[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
