package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"daisydog/node/api"
	"daisydog/policies/bundle"
	"daisydog/policies/bundle/bundletest"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// These tests cover the data directory and the join handshake without
// starting a node: Init writes real files, the join handler is served by
// httptest over TLS with the initialised node's certificate.

func initDir(t *testing.T, id string) (Layout, JoinToken) {
	t.Helper()
	l := Layout{Dir: filepath.Join(t.TempDir(), id)}
	tok, err := Init(l, InitOptions{NodeID: id, HTTPAddr: "127.0.0.1:7443", RaftAddr: "127.0.0.1:7444"})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	return l, tok
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %v, want one containing %q", err, substr)
	}
}

func wantMode(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != mode {
		t.Errorf("%s: mode %v, want %v", path, got, mode)
	}
}

func TestLayoutPaths(t *testing.T) {
	t.Parallel()
	l := Layout{Dir: "/data"}
	for got, want := range map[string]string{
		l.NodeFile(): "/data/node.json", l.CACert(): "/data/tls/ca.crt", l.CAKey(): "/data/tls/ca.key",
		l.NodeCert(): "/data/tls/node.crt", l.NodeKey(): "/data/tls/node.key", l.ClusterKey(): "/data/keys/cluster.key",
		l.JoinHash(): "/data/keys/join-token.sha256", l.RaftDir(): "/data/raft", l.DBFile(): "/data/db/daisydog.db",
		l.CacheDir(): "/data/cache/wasm", l.PolicyKeysFile(): "/data/keys/policy-signing.pub",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
}

func TestReadWriteNodeFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := Layout{Dir: dir}
	if l.Initialized() {
		t.Fatal("empty directory reported as initialised")
	}
	_, err := l.ReadNode()
	wantErr(t, err, "run 'daisydog init' or 'daisydog join' first")

	want := NodeFile{NodeID: "n1", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2", AdvertiseRaft: "10.0.0.1:2",
		AdvertiseHTTP: "10.0.0.1:1", JoinAddr: "10.0.0.2:2", Joined: true}
	if err := l.WriteNode(want); err != nil {
		t.Fatal(err)
	}
	wantMode(t, l.NodeFile(), 0o600)
	if _, err := os.Stat(l.NodeFile() + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	got, err := l.ReadNode()
	if err != nil || got != want || !l.Initialized() {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}

	if err := os.WriteFile(l.NodeFile(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = l.ReadNode()
	wantErr(t, err, l.NodeFile()+": invalid character")

	// node.json that cannot be read (a directory) is not "no node".
	bad := Layout{Dir: t.TempDir()}
	if err := os.Mkdir(bad.NodeFile(), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = bad.ReadNode()
	if err == nil || strings.Contains(err.Error(), "daisydog init") {
		t.Fatalf("unreadable node.json: %v", err)
	}
	// ... and cannot be replaced by WriteNode either.
	if err := bad.WriteNode(want); err == nil {
		t.Fatal("WriteNode over a directory succeeded")
	}
}

func TestWriteFileAtomicErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The parent is a regular file: the directory cannot be made.
	if err := writeFileAtomic(filepath.Join(file, "sub", "x"), []byte("y"), 0o600); err == nil {
		t.Fatal("write under a regular file succeeded")
	}
	// The temporary file's name is taken by a directory.
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target+".tmp", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(target, []byte("y"), 0o600); err == nil {
		t.Fatal("write over a directory succeeded")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target exists after a failed write: %v", err)
	}
	// A fresh path: directories are created 0700, the file with the given mode.
	deep := filepath.Join(dir, "a", "b", "c.txt")
	if err := writeFileAtomic(deep, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	wantMode(t, filepath.Join(dir, "a"), 0o700)
	if b, _ := os.ReadFile(deep); string(b) != "hello" {
		t.Fatalf("content %q", b)
	}
}

func TestReadClusterKey(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, content string // "" content: no file
		err           string
	}{
		{"missing", "", "cluster key: open"},
		{"not hex", "zz" + key[2:] + "\n", "cluster key file is corrupt"},
		{"short", key[:62] + "\n", "cluster key file is corrupt"},
		{"ok with whitespace", "  " + key + "\n\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Layout{Dir: t.TempDir()}
			if tc.content != "" {
				if err := writeFileAtomic(l.ClusterKey(), []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k, err := l.ReadClusterKey()
			if tc.err != "" {
				wantErr(t, err, tc.err)
				if tc.content == "" && !errors.Is(err, os.ErrNotExist) {
					t.Errorf("missing key error does not wrap ErrNotExist: %v", err)
				}
				return
			}
			if err != nil || hex.EncodeToString(k) != key {
				t.Fatalf("key %x, %v", k, err)
			}
		})
	}
}

func TestBootstrapTokenFor(t *testing.T) {
	t.Parallel()
	l1, _ := initDir(t, "n1")
	l2, _ := initDir(t, "n2")
	t1, err := BootstrapTokenFor(l1)
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := l1.ReadClusterKey()
	kr, err := storage.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	if want := api.BootstrapToken(kr); t1 != want || t1 == "" {
		t.Fatalf("token %q, want %q", t1, want)
	}
	if again, _ := BootstrapTokenFor(l1); again != t1 {
		t.Fatalf("token not stable: %q then %q", t1, again)
	}
	if t2, _ := BootstrapTokenFor(l2); t2 == t1 {
		t.Fatal("two clusters share a bootstrap token")
	}
	_, err = BootstrapTokenFor(Layout{Dir: t.TempDir()})
	wantErr(t, err, "cluster key")
}

func TestInitOptionsNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    InitOptions
		err  string
		want InitOptions // when err == ""
	}{
		{"bad node id", InitOptions{NodeID: "N1", HTTPAddr: "a:1", RaftAddr: "a:2"}, `node ID "N1" must be`, InitOptions{}},
		{"empty node id", InitOptions{HTTPAddr: "a:1", RaftAddr: "a:2"}, `node ID "" must be`, InitOptions{}},
		{"too long id", InitOptions{NodeID: strings.Repeat("a", 33), HTTPAddr: "a:1", RaftAddr: "a:2"}, "must be 1-32", InitOptions{}},
		{"http without port", InitOptions{NodeID: "n1", HTTPAddr: "localhost", RaftAddr: "a:2"}, `address "localhost" must be host:port`, InitOptions{}},
		{"raft without port", InitOptions{NodeID: "n1", HTTPAddr: "a:1", RaftAddr: "b"}, `address "b" must be host:port`, InitOptions{}},
		{"bad advertise", InitOptions{NodeID: "n1", HTTPAddr: "a:1", RaftAddr: "a:2", AdvertiseHTTP: "nope"}, `address "nope" must be host:port`, InitOptions{}},
		{"wildcard listen, no advertise", InitOptions{NodeID: "n1", HTTPAddr: "0.0.0.0:1", RaftAddr: "10.0.0.1:2"}, "must not be a wildcard", InitOptions{}},
		{"ipv6 wildcard raft", InitOptions{NodeID: "n1", HTTPAddr: "10.0.0.1:1", RaftAddr: "[::]:2"}, "must not be a wildcard", InitOptions{}},
		{"defaults from listen", InitOptions{NodeID: "n-1", HTTPAddr: "10.0.0.1:1", RaftAddr: "10.0.0.1:2"}, "",
			InitOptions{NodeID: "n-1", HTTPAddr: "10.0.0.1:1", RaftAddr: "10.0.0.1:2", AdvertiseHTTP: "10.0.0.1:1", AdvertiseRaft: "10.0.0.1:2"}},
		{"wildcard listen, advertised", InitOptions{NodeID: "n1", HTTPAddr: "0.0.0.0:1", RaftAddr: "0.0.0.0:2", AdvertiseHTTP: "h.example:1", AdvertiseRaft: "h.example:2"}, "",
			InitOptions{NodeID: "n1", HTTPAddr: "0.0.0.0:1", RaftAddr: "0.0.0.0:2", AdvertiseHTTP: "h.example:1", AdvertiseRaft: "h.example:2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			err := o.normalize()
			if tc.err != "" {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil || !reflect.DeepEqual(o, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", o, err, tc.want)
			}
		})
	}
}

func TestParseJoinToken(t *testing.T) {
	t.Parallel()
	s, f := strings.Repeat("1", 64), strings.Repeat("f", 64)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ddj1." + s + "." + f, true},
		{"  ddj1." + s + "." + f + "\n", true},
		{"ddj2." + s + "." + f, false},
		{"ddj1." + s, false},
		{"ddj1." + s + "." + f + ".x", false},
		{"ddj1." + s[:63] + "." + f, false},
		{"ddj1." + s + "." + f[:63], false},
		{"", false},
	} {
		tok, err := ParseJoinToken(tc.in)
		if !tc.ok {
			wantErr(t, err, "join token is malformed")
			continue
		}
		if err != nil || tok.Secret != s || tok.CAFingerprint != f || tok.String() != strings.TrimSpace(tc.in) {
			t.Errorf("%q: %+v, %v", tc.in, tok, err)
		}
	}
}

func TestInitWritesSecrets(t *testing.T) {
	t.Parallel()
	l, tok := initDir(t, "n1")
	for _, p := range []string{l.CACert(), l.CAKey(), l.NodeCert(), l.NodeKey(), l.ClusterKey(), l.JoinHash(), l.path("keys", "join-token"), l.NodeFile()} {
		wantMode(t, p, 0o600)
	}
	nf, err := l.ReadNode()
	if err != nil {
		t.Fatal(err)
	}
	if want := (NodeFile{NodeID: "n1", HTTPAddr: "127.0.0.1:7443", RaftAddr: "127.0.0.1:7444", AdvertiseHTTP: "127.0.0.1:7443",
		AdvertiseRaft: "127.0.0.1:7444", Bootstrap: true, Joined: true}); nf != want {
		t.Fatalf("node.json %+v, want %+v", nf, want)
	}
	hash, _ := os.ReadFile(l.JoinHash())
	if strings.TrimSpace(string(hash)) != hashSecret(tok.Secret) {
		t.Fatal("join hash does not match the token's secret")
	}
	stored, _ := os.ReadFile(l.path("keys", "join-token"))
	if parsed, err := ParseJoinToken(string(stored)); err != nil || parsed != tok {
		t.Fatalf("stored token %+v, %v; want %+v", parsed, err, tok)
	}
	caPEM, _ := os.ReadFile(l.CACert())
	caKey, _ := os.ReadFile(l.CAKey())
	ca, err := raftcluster.LoadCA(caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Fingerprint() != tok.CAFingerprint {
		t.Fatal("token does not pin the cluster CA")
	}
	if _, err := l.ReadClusterKey(); err != nil {
		t.Fatal(err)
	}

	_, err = Init(l, InitOptions{NodeID: "n1", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"})
	wantErr(t, err, "already holds a node")
	_, err = Init(Layout{Dir: t.TempDir()}, InitOptions{NodeID: "Bad", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"})
	wantErr(t, err, "node ID")

	// The data directory's path is taken by a file: nothing can be written.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Init(Layout{Dir: file}, InitOptions{NodeID: "n1", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"})
	wantErr(t, err, "not a directory")
}

// member serves a data directory's join handler over TLS with its node
// certificate, as a started node would.
func member(t *testing.T, l Layout, handler http.HandlerFunc) (*Node, string) {
	t.Helper()
	nf, err := l.ReadNode()
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{layout: l, nf: nf, log: testLogger(t)}
	if handler == nil {
		handler = n.joinHandler
	}
	cert, err := tls.LoadX509KeyPair(l.NodeCert(), l.NodeKey())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return n, strings.TrimPrefix(srv.URL, "https://")
}

func TestJoinThroughHandler(t *testing.T) {
	t.Parallel()
	ml, tok := initDir(t, "n1")
	_, addr := member(t, ml, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	l := Layout{Dir: filepath.Join(t.TempDir(), "n2")}
	o := InitOptions{NodeID: "n2", HTTPAddr: "127.0.0.1:8443", RaftAddr: "127.0.0.1:8444"}
	if err := Join(ctx, l, o, addr, tok.String()); err != nil {
		t.Fatalf("join: %v", err)
	}
	nf, err := l.ReadNode()
	if err != nil {
		t.Fatal(err)
	}
	if nf.NodeID != "n2" || nf.Bootstrap || nf.Joined || nf.JoinAddr != "127.0.0.1:7444" || nf.AdvertiseHTTP != "127.0.0.1:8443" {
		t.Fatalf("node.json after join: %+v", nf)
	}
	// The joiner holds the cluster's CA and cluster key, and a node
	// certificate the CA signed for its own ID.
	for _, p := range []string{l.CACert(), l.CAKey(), l.ClusterKey(), l.JoinHash()} {
		wantMode(t, p, 0o600)
		mine, _ := os.ReadFile(p)
		theirs, _ := os.ReadFile(Layout{Dir: ml.Dir}.path(strings.TrimPrefix(p, l.Dir+"/")))
		if !bytes.Equal(bytes.TrimSpace(mine), bytes.TrimSpace(theirs)) {
			t.Errorf("%s differs from the member's", p)
		}
	}
	caPEM, _ := os.ReadFile(l.CACert())
	certPEM, _ := os.ReadFile(l.NodeCert())
	keyPEM, _ := os.ReadFile(l.NodeKey())
	if _, err := raftcluster.LoadIdentity("n2", caPEM, certPEM, keyPEM); err != nil {
		t.Fatalf("joiner's identity: %v", err)
	}
	if b, _ := os.ReadFile(l.path("keys", "join-token")); strings.TrimSpace(string(b)) != tok.String() {
		t.Fatal("join token not kept")
	}
	wantErr(t, Join(ctx, l, o, addr, tok.String()), "already holds a node")

	fresh := func() Layout { return Layout{Dir: filepath.Join(t.TempDir(), "n3")} }
	o3 := InitOptions{NodeID: "n3", HTTPAddr: "127.0.0.1:9443", RaftAddr: "127.0.0.1:9444"}
	wantErr(t, Join(ctx, fresh(), InitOptions{NodeID: "n3"}, addr, tok.String()), "must be host:port")
	wantErr(t, Join(ctx, fresh(), o3, addr, "ddj1.x.y"), "join token is malformed")

	// A wrong secret with the right CA: the member refuses, and nothing is written.
	wrong := JoinToken{Secret: strings.Repeat("0", 64), CAFingerprint: tok.CAFingerprint}
	l3 := fresh()
	wantErr(t, Join(ctx, l3, o3, addr, wrong.String()), "refused (401)")
	if _, err := os.Stat(l3.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused join left files: %v", err)
	}

	// A server of another cluster (its CA is not the pinned one) is refused at once.
	other, _ := initDir(t, "x1")
	_, otherAddr := member(t, other, nil)
	err = Join(ctx, fresh(), o3, otherAddr, tok.String())
	if !errors.Is(err, errWrongCluster) {
		t.Fatalf("join via another cluster: %v", err)
	}

	// A member answering 200 with something that is not a join response.
	_, junk := member(t, ml, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) })
	wantErr(t, Join(ctx, fresh(), o3, junk, tok.String()), "join: bad response")
}

func TestJoinGivesUpWhenContextEnds(t *testing.T) {
	t.Parallel()
	_, tok := initDir(t, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Join(ctx, Layout{Dir: t.TempDir()}, InitOptions{NodeID: "n2", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"},
		freeAddr(t), tok.String())
	wantErr(t, err, "join via 127.0.0.1:")
	if time.Since(start) < 500*time.Millisecond {
		t.Fatalf("gave up after %v, before the context ended", time.Since(start))
	}
}

func TestJoinHandlerRefusals(t *testing.T) {
	t.Parallel()
	ml, tok := initDir(t, "n1")
	n, _ := member(t, ml, nil)
	_, csr, err := raftcluster.NewNodeKey("n2")
	if err != nil {
		t.Fatal(err)
	}
	good := joinRequest{Secret: tok.Secret, NodeID: "n2", CSR: string(csr), Hosts: []string{"127.0.0.1"}}
	body := func(mod func(*joinRequest)) string {
		r := good
		if mod != nil {
			mod(&r)
		}
		b, _ := json.Marshal(r)
		return string(b)
	}
	broken := Layout{Dir: t.TempDir()} // a member whose CA files are missing or corrupt
	if err := writeFileAtomic(broken.JoinHash(), []byte(hashSecret(tok.Secret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	corrupt := Layout{Dir: t.TempDir()}
	for _, p := range []string{corrupt.JoinHash(), corrupt.CACert(), corrupt.CAKey(), corrupt.ClusterKey()} {
		data := []byte("garbage")
		if p == corrupt.JoinHash() {
			data = []byte(hashSecret(tok.Secret))
		}
		if err := writeFileAtomic(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		layout Layout
		body   string
		status int
		code   string
	}{
		{"not json", ml, "{", 400, "bad_request"},
		{"unknown field", ml, `{"secret":"x","extra":1}`, 400, "bad_request"},
		{"too large", ml, `{"csr":"` + strings.Repeat("a", 20<<10) + `"}`, 400, "bad_request"},
		{"wrong secret", ml, body(func(r *joinRequest) { r.Secret = "guess" }), 401, "unauthorized"},
		{"no join hash", Layout{Dir: t.TempDir()}, body(nil), 401, "unauthorized"},
		{"bad node id", ml, body(func(r *joinRequest) { r.NodeID = "../n2" }), 422, "invalid"},
		{"bad csr", ml, body(func(r *joinRequest) { r.CSR = "not a csr" }), 422, "invalid"},
		{"secrets missing", broken, body(nil), 500, "internal"},
		{"ca corrupt", corrupt, body(nil), 500, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Node{layout: tc.layout, nf: n.nf, log: n.log}
			rec := httptest.NewRecorder()
			h.joinHandler(rec, httptest.NewRequest("POST", "/internal/join", strings.NewReader(tc.body)))
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.status || e.Error.Code != tc.code || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %+v, want %d %s", rec.Code, e, tc.status, tc.code)
			}
			if strings.Contains(rec.Body.String(), "PRIVATE KEY") {
				t.Fatal("refusal carries key material")
			}
		})
	}
}

func TestCompleteJoinStopsWithContext(t *testing.T) {
	t.Parallel()
	l, _ := initDir(t, "n2")
	caPEM, _ := os.ReadFile(l.CACert())
	certPEM, _ := os.ReadFile(l.NodeCert())
	keyPEM, _ := os.ReadFile(l.NodeKey())
	id, err := raftcluster.LoadIdentity("n2", caPEM, certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	nf, _ := l.ReadNode()
	nf.Joined, nf.JoinAddr = false, freeAddr(t) // nobody listens there
	if err := l.WriteNode(nf); err != nil {
		t.Fatal(err)
	}
	n := &Node{layout: l, nf: nf, log: testLogger(t), identity: id}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { n.completeJoin(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("completeJoin did not return after its context ended")
	}
	if got, _ := l.ReadNode(); got.Joined || n.nf.Joined {
		t.Fatal("a failed join was recorded as joined")
	}
}

func TestPostJSONBadURL(t *testing.T) {
	t.Parallel()
	_, _, err := postJSON(context.Background(), http.DefaultClient, "https://bad host/\x7f", nil)
	if err == nil {
		t.Fatal("bad URL accepted")
	}
}

func TestInstallPolicyKey(t *testing.T) {
	t.Parallel()
	l, _ := initDir(t, "n1")
	pub1, _ := bundletest.Key(t)
	pub2, _ := bundletest.Key(t)
	pem1, err := bundle.MarshalPublicKey(pub1)
	if err != nil {
		t.Fatal(err)
	}
	pem2, _ := bundle.MarshalPublicKey(pub2)

	wantErr(t, InstallPolicyKey(l, []byte("not a key")), "policy key:")
	if _, err := os.Stat(l.PolicyKeysFile()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an invalid key was written")
	}
	wantErr(t, InstallPolicyKey(Layout{Dir: filepath.Join(t.TempDir(), "none")}, pem1), "policy key: open")

	if err := InstallPolicyKey(l, pem1); err != nil {
		t.Fatal(err)
	}
	if err := InstallPolicyKey(l, pem2); err != nil {
		t.Fatal(err)
	}
	wantMode(t, l.PolicyKeysFile(), 0o600)
	if b, _ := os.ReadFile(l.PolicyKeysFile()); !bytes.Equal(b, append(append([]byte{}, pem1...), pem2...)) {
		t.Fatalf("key file holds %q", b)
	}
}
