package api_test

// The handler tests in this package (package api_test) run against one
// real single-node cluster per test binary: real SQLite, real Raft, the
// embedded default policy, the API served over TLS. Nothing of ours is
// mocked. The node starts on first use (tests that do not need it pay
// nothing) and stops after the last test.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/internal/freeport"
	"daisydog/node"
	"daisydog/node/api"
	"daisydog/node/auth"
	"daisydog/node/llm"
	"daisydog/node/mail"
	"daisydog/wasm/wasmtest"
)

// fastArgon keeps password hashing cheap in tests.
var fastArgon = auth.Argon2Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

const goodPassword = "correct horse battery staple"

// verifyMailLimit is the test node's limit of verification e-mails per parent and hour.
const verifyMailLimit = 2

// testClock is the node's clock; tests step it (TOTP codes work once per step).
type testClock struct{ ms atomic.Int64 }

func (c *testClock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func (c *testClock) set(t time.Time)     { c.ms.Store(t.UnixMilli()) }

type apiNode struct {
	*node.Node
	root   string
	clock  *testClock
	base   string
	client *http.Client
	ai     *aiStandIn
}

// aiBudget is the test node's daily AI provider calls per child.
const aiBudget = 3

// aiStandIn is a local HTTP server standing in for the external
// OpenAI-compatible provider: it answers with status and reply, and
// records the user message of every call.
type aiStandIn struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	reply  string
	sent   []string
}

func newAIStandIn() *aiStandIn {
	p := &aiStandIn{status: http.StatusOK, reply: "Woof!"}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.sent = append(p.sent, req.Messages[len(req.Messages)-1].Content)
		status, reply := p.status, p.reply
		p.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "provider failure", status)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": reply}}}})
	}))
	return p
}

func (p *aiStandIn) set(status int, reply string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status, p.reply = status, reply
}

func (p *aiStandIn) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

var (
	sharedOnce sync.Once
	shared     *apiNode
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = shared.Close(ctx)
		cancel()
		shared.ai.srv.Close()
		os.RemoveAll(shared.root)
	}
	os.Exit(code)
}

// testNode returns the shared node, starting it on first use.
func testNode(t *testing.T) *apiNode {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startNode() })
	if sharedErr != nil {
		t.Fatalf("start test node: %v", sharedErr)
	}
	return shared
}

func startNode() (_ *apiNode, err error) {
	root, err := os.MkdirTemp("", "daisydog-api-test-")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "n1")
	addrs, err := freeport.Addrs(2)
	if err != nil {
		return nil, fmt.Errorf("free ports: %w", err)
	}
	httpAddr, raftAddr := addrs[0], addrs[1]
	if _, err := node.Init(node.Layout{Dir: dir}, node.InitOptions{NodeID: "n1", HTTPAddr: httpAddr, RaftAddr: raftAddr}); err != nil {
		return nil, err
	}
	ai := newAIStandIn()
	defer func() {
		if err != nil {
			ai.srv.Close()
		}
	}()
	clock := &testClock{}
	clock.set(time.Now())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := node.Config{DataDir: dir, Logger: logger, Now: clock.now, Argon2: fastArgon, AuthPerMinute: -1, NoPolicyWarm: true,
		PolicyCacheDir: cmp.Or(wasmtest.SharedCacheDir(), filepath.Join(root, "wasm-cache")), RaftLog: io.Discard, MailOutbox: filepath.Join(root, "outbox.jsonl"),
		OnFatal: func(err error) { fmt.Fprintln(os.Stderr, "test node fatal:", err) },
		// Every cluster-wide limit is on (so its checks run) but out of
		// reach, except verification e-mails, which are per parent.
		ClusterLimits: api.RateLimits{SignUp: 100000, PasswordReset: 100000, FailedLogins: 100000, FailedLinks: 100000,
			VerifyMail: verifyMailLimit, Period: time.Hour},
		AI: &llm.Config{URL: ai.srv.URL + "/v1", Model: "stand-in", Timeout: 2 * time.Second, DailyBudget: aiBudget, BreakerFailures: 1000},
		// Published by GET /v1/privacy; never run in the background here
		// (tests step the clock).
		Retention: testRetention, RetentionEvery: -1}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := node.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(node.Layout{Dir: dir}.CACert())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	an := &apiNode{Node: n, root: root, clock: clock, base: "https://" + n.HTTPAddr(), ai: ai,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	// Ready: a leader, signing keys, and the seeded catalogue.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res := an.do(nil, "GET", "/readyz", "", "", nil)
		if res.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("node not ready: %d %s", res.status, res.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Parent alerts go through the replicated outbox once the leader has
	// started it (about a second after it leads): wait, so that every test
	// sees one way of sending (the per-node way before the outbox is
	// node's TestAlertOutboxAcrossNodes).
	for {
		o, err := an.DB().AlertOutboxState(ctx)
		if err == nil && o.Started {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("alert outbox not started: %+v %v", o, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return an, nil
}

// response is an API answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// code is the error code of an error envelope ("" if none).
func (r response) code() string {
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func (r response) decode(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decode %d %q: %v", r.status, r.body, err)
	}
}

// do sends a request. body: nil, string or []byte (sent as is), or any
// other value (marshalled). ctype "" means application/json when there is
// a body. hdr adds headers. t may be nil (start-up).
func (n *apiNode) do(t *testing.T, method, path, token, ctype string, body any, hdr ...string) response {
	if t != nil {
		t.Helper()
	}
	fail := func(err error) response {
		if t != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return response{status: -1, body: []byte(err.Error())}
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return fail(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		return fail(err)
	}
	if ctype == "" && rd != nil {
		ctype = "application/json"
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
	res, err := n.client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return fail(err)
	}
	if t != nil && res.StatusCode >= 200 && res.StatusCode < 300 {
		if err := n.conformsToOpenAPI(method, path, res.StatusCode, res.Header.Get("Content-Type"), data); err != nil {
			t.Errorf("%s %s answered %d, which the OpenAPI document does not describe: %v", method, path, res.StatusCode, err)
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// must does a request that must answer want and decodes the body into out (if not nil).
func (n *apiNode) must(t *testing.T, want int, method, path, token string, body, out any) response {
	t.Helper()
	res := n.do(t, method, path, token, "", body)
	if res.status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.status, res.body, want)
	}
	if out != nil {
		res.decode(t, out)
	}
	return res
}

var emailSeq atomic.Int64

// uniqueEmail is an address no other test uses.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d-%d@example.test", prefix, time.Now().UnixNano(), emailSeq.Add(1))
}

// parent is a signed-up, logged-in parent.
type parent struct {
	email, token, refresh string
}

func (n *apiNode) newParent(t *testing.T) parent {
	t.Helper()
	p := parent{email: uniqueEmail("parent")}
	creds := map[string]string{"email": p.email, "password": goodPassword}
	n.must(t, http.StatusCreated, "POST", "/v1/parents/signup", "", creds, nil)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/auth/login", "", creds, &tok)
	p.token, p.refresh = tok.AccessToken, tok.RefreshToken
	return p
}

// family is a parent with one child and one linked device.
type family struct {
	parent
	childID, childToken, deviceID string
}

func (n *apiNode) newChild(t *testing.T, parentToken, nickname, tier string) string {
	t.Helper()
	var c struct{ ID string }
	n.must(t, http.StatusCreated, "POST", "/v1/children", parentToken, map[string]string{"nickname": nickname, "age_tier": tier}, &c)
	return c.ID
}

// linkDevice links a new device to a child and returns its token. A child
// under 13 gets its parent's consent first (the parent's address verified
// if it was not), as the console would ask: without it the device is
// refused (TestConsentGatesTheChild).
func (n *apiNode) linkDevice(t *testing.T, parentToken, childID string) string {
	t.Helper()
	var c struct {
		ConsentRequired bool `json:"consent_required"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/children/"+childID, parentToken, nil, &c)
	if c.ConsentRequired {
		n.consent(t, parentToken, childID)
	}
	var code struct{ Code string }
	n.must(t, http.StatusCreated, "POST", "/v1/children/"+childID+"/link-codes", parentToken, nil, &code)
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, &dev)
	return dev.AccessToken
}

// verifyEmail confirms the parent's address with the latest verification
// e-mail, unless it is verified already.
func (n *apiNode) verifyEmail(t *testing.T, parentToken string) {
	t.Helper()
	var me struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/parents/me", parentToken, nil, &me)
	if me.EmailVerified {
		return
	}
	sent := 0
	for _, e := range n.outbox(t) {
		if e.To == me.Email && e.Kind == "verify_email" {
			sent++
		}
	}
	tok := n.mailedToken(t, me.Email, "verify_email", max(sent, 1))
	n.must(t, http.StatusOK, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, nil)
}

// consent records the parent's consent for a child (e-mail plus, the
// current notice), verifying the parent's address first if needed.
func (n *apiNode) consent(t *testing.T, parentToken, childID string) {
	t.Helper()
	n.verifyEmail(t, parentToken)
	n.must(t, http.StatusCreated, "POST", "/v1/children/"+childID+"/consent", parentToken,
		map[string]string{"notice_version": api.PrivacyNoticeVersion, "method": "email_plus"}, nil)
}

func (n *apiNode) newFamily(t *testing.T, tier string) family {
	t.Helper()
	f := family{parent: n.newParent(t)}
	f.childID = n.newChild(t, f.token, "Milo", tier)
	f.childToken = n.linkDevice(t, f.token, f.childID)
	var devs struct {
		Devices []struct{ ID string }
	}
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/devices", f.token, nil, &devs)
	if len(devs.Devices) != 1 {
		t.Fatalf("new family has %d devices", len(devs.Devices))
	}
	f.deviceID = devs.Devices[0].ID
	return f
}

// staff is a logged-in administrator or moderator.
type staff struct {
	id, email, secret, token string
	recovery                 []string
}

var (
	adminOnce sync.Once
	theAdmin  *staff
)

// admin returns the node's first administrator (bootstrapped once).
func (n *apiNode) admin(t *testing.T) *staff {
	t.Helper()
	adminOnce.Do(func() {
		a := &staff{email: uniqueEmail("admin")}
		res := n.do(t, "POST", "/v1/admin/bootstrap", "", "", map[string]string{"email": a.email, "password": goodPassword},
			"Authorization", "Bootstrap "+n.BootstrapToken())
		if res.status != http.StatusCreated {
			t.Fatalf("bootstrap: %d %s", res.status, res.body)
		}
		var out struct {
			StaffID string `json:"staff_id"`
		}
		res.decode(t, &out)
		a.id = out.StaffID
		n.staffLogin(t, a)
		theAdmin = a
	})
	if theAdmin == nil {
		t.Fatal("no administrator (bootstrap failed in an earlier test)")
	}
	if n.do(t, "GET", "/v1/admin/staff", theAdmin.token, "", nil).status == http.StatusUnauthorized {
		n.staffLogin(t, theAdmin) // the token expired (a test moved the clock) or was logged out
	}
	return theAdmin
}

// staffLogin runs both login steps (enrolling TOTP on the first login).
// The clock moves on 30 s first so no TOTP code is reused.
func (n *apiNode) staffLogin(t *testing.T, a *staff) {
	t.Helper()
	n.clock.add(30 * time.Second)
	var m struct {
		MFA        string `json:"mfa"`
		MFAToken   string `json:"mfa_token"`
		TOTPSecret string `json:"totp_secret"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/login", "", map[string]string{"email": a.email, "password": goodPassword}, &m)
	if m.MFA == "enroll" {
		a.secret = m.TOTPSecret
	}
	code, err := auth.TOTPCode(a.secret, n.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken   string   `json:"access_token"`
		RecoveryCodes []string `json:"recovery_codes"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "code": code}, &tok)
	if len(tok.RecoveryCodes) > 0 {
		a.recovery = tok.RecoveryCodes
	}
	a.token = tok.AccessToken
}

// newStaff invites and logs in another staff member of role.
func (n *apiNode) newStaff(t *testing.T, role string) *staff {
	t.Helper()
	admin := n.admin(t)
	var inv struct {
		InviteToken string `json:"invite_token"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/invites", admin.token, map[string]string{"role": role}, &inv)
	s := &staff{email: uniqueEmail(role)}
	var out struct {
		StaffID string `json:"staff_id"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/invites/accept", "",
		map[string]string{"invite_token": inv.InviteToken, "role": role, "email": s.email, "password": goodPassword}, &out)
	s.id = out.StaffID
	n.staffLogin(t, s)
	return s
}

var mailTokenRe = regexp.MustCompile(`\b(ev|pr)_[A-Za-z0-9_-]{43}\b`)

// mailedToken waits for the n-th (1-based) e-mail of kind to address and
// returns the token it carries.
func (n *apiNode) mailedToken(t *testing.T, to, kind string, nth int) string {
	t.Helper()
	tok := mailTokenRe.FindString(n.mailed(t, to, kind, nth).Body)
	if tok == "" {
		t.Fatalf("%s e-mail carries no token", kind)
	}
	return tok
}

// lastMailedToken sends whatever the outbox still holds, then returns the
// token of the newest e-mail of kind to address (a newer e-mail of a kind
// replaces a pending one, so the count of such e-mails depends on timing).
func (n *apiNode) lastMailedToken(t *testing.T, to, kind string) string {
	t.Helper()
	if _, err := n.DeliverMail(context.Background(), false); err != nil {
		t.Fatalf("deliver mail: %v", err)
	}
	var last string
	for _, e := range n.outbox(t) {
		if e.To == to && e.Kind == kind {
			last = e.Body
		}
	}
	tok := mailTokenRe.FindString(last)
	if tok == "" {
		t.Fatalf("no %s e-mail with a token", kind)
	}
	return tok
}

// mailed waits for the n-th (1-based) e-mail of kind to address (the mail
// queue delivers in the background) and returns it.
func (n *apiNode) mailed(t *testing.T, to, kind string, nth int) mail.OutboxEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := 0
		for _, e := range n.outbox(t) {
			if e.To == to && e.Kind == kind {
				if seen++; seen == nth {
					return e
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d-th %s e-mail (%d so far)", nth, kind, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *apiNode) outbox(t *testing.T) []mail.OutboxEntry {
	t.Helper()
	f, err := os.Open(n.MailOutbox())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mail.OutboxEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e mail.OutboxEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("outbox line: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// errCase is one request expected to fail with a status and error code.
type errCase struct {
	name, method, path, token, ctype string
	body                             any
	status                           int
	code                             string
}

func (n *apiNode) runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := n.do(t, c.method, c.path, c.token, c.ctype, c.body)
			if res.status != c.status || res.code() != c.code {
				t.Fatalf("%s %s: %d %q (%s), want %d %q", c.method, c.path, res.status, res.code(), res.body, c.status, c.code)
			}
		})
	}
}
