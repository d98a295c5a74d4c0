package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"daisydog/internal/freeport"
	"daisydog/node/api"
	"daisydog/node/auth"
	"daisydog/storage"
)

// fastArgon keeps password hashing cheap in tests (production uses DefaultArgon2).
var fastArgon = auth.Argon2Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// nodeAddrs returns a node's options with distinct free HTTP and Raft
// addresses, held (freeport.Hold) from the draw until startTestNode
// starts the node that owns them, so that no other test process — the
// packages' tests run in parallel — binds them in between.
func nodeAddrs(t *testing.T, id string) InitOptions {
	t.Helper()
	a, err := freeport.Addrs(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range a {
		if r, err := freeport.Hold(addr); err == nil {
			heldAddrs.Store(addr, r)
			t.Cleanup(func() { releaseAddr(addr) })
		}
	}
	return InitOptions{NodeID: id, HTTPAddr: a[0], RaftAddr: a[1]}
}

// heldAddrs: addresses drawn by nodeAddrs and not yet bound by their
// node, each with the function that releases it.
var heldAddrs sync.Map

// releaseNodeAddrs gives back the addresses of the node initialised in
// dir, just before it starts and binds them.
func releaseNodeAddrs(dir string) {
	if nf, err := (Layout{Dir: dir}).ReadNode(); err == nil {
		releaseAddr(nf.HTTPAddr)
		releaseAddr(nf.RaftAddr)
	}
}

func releaseAddr(addr string) {
	if r, ok := heldAddrs.LoadAndDelete(addr); ok {
		r.(func())()
	}
}

// freeAddr picks a loopback port outside the ephemeral range (freeport).
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

type testNode struct {
	*Node
	dir    string
	cfg    Config
	client *http.Client
	base   string
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startTestNode(t *testing.T, dir string, mod func(*Config)) *testNode {
	t.Helper()
	cfg := Config{DataDir: dir, Logger: testLogger(t), Argon2: fastArgon, AuthPerMinute: -1, NoPolicyWarm: true, OnFatal: func(err error) { t.Errorf("fatal: %v", err) },
		// One outbox file for the nodes of a test (their data directories
		// share a parent): the leader sends, whichever node took the request.
		PolicyCacheDir: sharedPolicyCache, MailOutbox: filepath.Join(filepath.Dir(dir), "outbox", "mail.jsonl"),
		// The alert outbox's background run would append audit entries at
		// moments tests that count them do not expect: off unless a test
		// turns it on (TestAlertLoop) or calls DeliverAlerts.
		AlertEvery: -1}
	if !testing.Verbose() {
		cfg.RaftLog = io.Discard
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	releasePorts(dir)
	releaseNodeAddrs(dir)
	n, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start node in %s: %v", dir, err)
	}
	caPEM, err := os.ReadFile(Layout{Dir: dir}.CACert())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tn := &testNode{Node: n, dir: dir, cfg: cfg, base: "https://" + n.HTTPAddr(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	t.Cleanup(func() { tn.stop(t) })
	return tn
}

func (tn *testNode) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tn.Close(ctx); err != nil {
		t.Logf("close %s: %v", tn.dir, err)
	}
	holdPorts(t, tn.dir, tn.nf.HTTPAddr, tn.nf.RaftAddr)
}

// heldPorts: the ports of stopped test nodes, by data directory, held
// (freeport.Hold) until the node starts again, so that no other test
// process takes them meanwhile.
var heldPorts sync.Map

func holdPorts(t *testing.T, dir string, addrs ...string) {
	var releases []func()
	for _, a := range addrs {
		if r, err := freeport.Hold(a); err == nil {
			releases = append(releases, r)
		}
	}
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	if old, loaded := heldPorts.Swap(dir, release); loaded {
		old.(func())()
	}
	t.Cleanup(func() { releasePorts(dir) })
}

func releasePorts(dir string) {
	if r, ok := heldPorts.LoadAndDelete(dir); ok {
		r.(func())()
	}
}

// startCluster forms an n-node cluster in this process over real TCP + mTLS.
func startCluster(t *testing.T, size int, mod func(*Config)) []*testNode {
	t.Helper()
	root := t.TempDir()
	nodes := make([]*testNode, 0, size)
	first := filepath.Join(root, "n1")
	tok, err := Init(Layout{Dir: first}, nodeAddrs(t, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	nodes = append(nodes, startTestNode(t, first, mod))
	waitFor(t, 30*time.Second, "first node ready", func() error { return nodes[0].ready(context.Background()) })
	for i := 2; i <= size; i++ {
		dir := filepath.Join(root, fmt.Sprintf("n%d", i))
		o := nodeAddrs(t, fmt.Sprintf("n%d", i))
		if err := Join(context.Background(), Layout{Dir: dir}, o, nodes[0].HTTPAddr(), tok.String()); err != nil {
			t.Fatalf("join n%d: %v", i, err)
		}
		nodes = append(nodes, startTestNode(t, dir, mod))
	}
	waitFor(t, 30*time.Second, "all voters", func() error {
		for _, n := range nodes {
			if got := len(n.Cluster().Status().Nodes); got != size {
				return fmt.Errorf("%s sees %d nodes", n.nf.NodeID, got)
			}
			if err := n.ready(context.Background()); err != nil {
				return fmt.Errorf("%s: %w", n.nf.NodeID, err)
			}
		}
		return nil
	})
	return nodes
}

// waitFor polls cond until it returns nil or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %v", what, err)
}

// call does an API request and decodes the JSON response into out (if not nil).
func (tn *testNode) call(t *testing.T, method, path, token string, body any, out any) (int, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, tn.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := tn.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d: decode %q: %v", method, path, res.StatusCode, data, err)
		}
	}
	return res.StatusCode, res.Header
}

// family is a parent with one linked child device.
type family struct {
	parentToken string
	childID     string
	childToken  string
}

func newFamily(t *testing.T, tn *testNode, email, nickname, tier string) family {
	t.Helper()
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	if st, _ := tn.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	return newFamilyAfterSignUp(t, tn, email, nickname, tier)
}

// newFamilyAfterSignUp logs the signed-up parent in, creates the child
// (with consent under 13) and links a device.
func newFamilyAfterSignUp(t *testing.T, tn *testNode, email, nickname, tier string) family {
	t.Helper()
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := tn.call(t, "POST", "/v1/auth/login", "", creds, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	var child struct{ ID string }
	if st, _ := tn.call(t, "POST", "/v1/children", login.AccessToken, map[string]string{"nickname": nickname, "age_tier": tier}, &child); st != 201 {
		t.Fatalf("create child: %d", st)
	}
	if storage.UnderConsentAge(tier) {
		tn.consent(t, login.AccessToken, email, child.ID)
	}
	return family{parentToken: login.AccessToken, childID: child.ID, childToken: tn.linkDevice(t, login.AccessToken, child.ID)}
}

// linkDevice has the parent make a link code for the child and links a
// device with it; it returns the device's access token.
func (tn *testNode) linkDevice(t *testing.T, parentToken, childID string) string {
	t.Helper()
	var code struct{ Code string }
	if st, _ := tn.call(t, "POST", "/v1/children/"+childID+"/link-codes", parentToken, nil, &code); st != 201 {
		t.Fatalf("link code: %d", st)
	}
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := tn.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, &dev); st != 201 {
		t.Fatalf("link device: %d", st)
	}
	return dev.AccessToken
}

// consent verifies the parent's address (the first verification e-mail)
// and records their consent for a child under 13, as the console does.
func (tn *testNode) consent(t *testing.T, parentToken, email, childID string) {
	t.Helper()
	tok := tn.mailedToken(t, storage.NormalizeEmail(email), "verify_email", 1)
	if st, _ := tn.call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, nil); st != 200 {
		t.Fatalf("verify e-mail: %d", st)
	}
	body := map[string]string{"notice_version": api.PrivacyNoticeVersion, "method": "email_plus"}
	if st, _ := tn.call(t, "POST", "/v1/children/"+childID+"/consent", parentToken, body, nil); st != 201 {
		t.Fatalf("consent: %d", st)
	}
}

type turnResp struct {
	Turn struct {
		ID      string `json:"id"`
		Seq     int64  `json:"seq"`
		Message string `json:"message"`
		Reply   string `json:"reply"`
		Intent  string `json:"intent"`
		Safety  struct {
			Action     string   `json:"action"`
			Categories []string `json:"categories"`
			Escalated  bool     `json:"escalated"`
			FailClosed bool     `json:"fail_closed"`
		} `json:"safety"`
	} `json:"turn"`
}

func (tn *testNode) chat(t *testing.T, token, msg string) (int, turnResp) {
	t.Helper()
	var tr turnResp
	st, _ := tn.call(t, "POST", "/v1/chat", token, map[string]string{"message": msg}, &tr)
	return st, tr
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// raw does a request with an explicit content type and returns the raw body.
func (tn *testNode) raw(t *testing.T, method, path, token, ctype string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if b, ok := body.([]byte); ok {
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tn.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := tn.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, data
}
