package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"daisydog/node"
	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/storage"
	"daisydog/wasm/wasmtest"
)

// capture runs fn with os.Stdout and os.Stderr redirected to pipes and
// returns what it wrote to each. Tests of this package do not run in
// parallel, so swapping the process's streams is safe here.
func capture(t *testing.T, fn func() error) (stdout, stderr string, err error) {
	t.Helper()
	read := func(f **os.File) (restore func() string) {
		r, w, perr := os.Pipe()
		if perr != nil {
			t.Fatal(perr)
		}
		old := *f
		*f = w
		var buf bytes.Buffer
		done := make(chan struct{})
		go func() { _, _ = io.Copy(&buf, r); close(done) }()
		return func() string {
			w.Close()
			<-done
			r.Close()
			*f = old
			return buf.String()
		}
	}
	outDone, errDone := read(&os.Stdout), read(&os.Stderr)
	err = fn()
	return outDone(), errDone(), err
}

func wantErrContains(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"a", []string{"a"}},
		{" https://a.test , https://b.test,,", []string{"https://a.test", "https://b.test"}},
	}
	for _, tc := range tests {
		if got := splitList(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"127.0.0.1", []string{"127.0.0.1/32"}, ""},
		{"::1, 10.1.2.3/8", []string{"::1/128", "10.0.0.0/8"}, ""},
		{"192.168.1.0/24,fd00::/8", []string{"192.168.1.0/24", "fd00::/8"}, ""},
		{"localhost", nil, `"localhost" is not an address`},
		{"10.0.0.0/33", nil, `"10.0.0.0/33" is not an address`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parsePrefixes(tc.in)
			wantErrContains(t, err, tc.wantErr)
			var want []netip.Prefix
			for _, s := range tc.want {
				want = append(want, netip.MustParsePrefix(s))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("parsePrefixes(%q) = %v, want %v", tc.in, got, want)
			}
		})
	}
}

func TestLoggerLevels(t *testing.T) {
	for _, tc := range []struct {
		level   string
		enabled slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"info", slog.LevelInfo, false},
		{"WARN", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"loud", 0, true},
	} {
		l, err := logger(tc.level)
		if tc.wantErr {
			wantErrContains(t, err, "--log-level")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if !l.Enabled(ctx, tc.enabled) || l.Enabled(ctx, tc.enabled-1) {
			t.Errorf("--log-level %s: wrong threshold", tc.level)
		}
	}
}

func TestAIFlags(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "ai.key")
	if err := os.WriteFile(keyFile, []byte("  sk-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_AI_KEY", " sk-env ")
	tests := []struct {
		name    string
		f       aiFlags
		wantNil bool
		wantKey string
		wantErr string
	}{
		{name: "off", f: aiFlags{}, wantNil: true},
		{name: "model without url", f: aiFlags{model: "m"}, wantErr: "need --ai-url"},
		{name: "key file without url", f: aiFlags{keyFile: keyFile}, wantErr: "need --ai-url"},
		{name: "key from file", f: aiFlags{url: "http://127.0.0.1:8080/v1", model: "m", keyFile: keyFile, keyEnv: "TEST_AI_KEY", timeout: 1e9, budget: 5}, wantKey: "sk-file"},
		{name: "key from env", f: aiFlags{url: "http://127.0.0.1:8080/v1", model: "m", keyEnv: "TEST_AI_KEY", timeout: 1e9, budget: 5}, wantKey: "sk-env"},
		{name: "missing key file", f: aiFlags{url: "http://127.0.0.1:8080/v1", keyFile: keyFile + ".none", budget: 5}, wantErr: "--ai-key-file"},
		{name: "zero budget", f: aiFlags{url: "http://127.0.0.1:8080/v1", model: "m", timeout: 1e9}, wantErr: "--ai-daily-budget"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.f.config()
			wantErrContains(t, err, tc.wantErr)
			if tc.wantErr != "" {
				return
			}
			if (c == nil) != tc.wantNil {
				t.Fatalf("config = %+v, want nil %v", c, tc.wantNil)
			}
			if c != nil && (c.APIKey != tc.wantKey || c.URL != tc.f.url || c.DailyBudget != tc.f.budget) {
				t.Fatalf("config = %+v, want key %q", c, tc.wantKey)
			}
		})
	}
}

func TestStartPprof(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, tc := range []struct{ addr, want string }{
		{"localhost", "--pprof"},
		{"0.0.0.0:6060", "loopback"},
		{"example.test:6060", "loopback"},
	} {
		wantErrContains(t, startPprof(tc.addr, log), tc.want)
	}
	if err := startPprof("127.0.0.1:0", log); err != nil {
		t.Fatal(err)
	}
	var entry struct{ Addr string }
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil || entry.Addr == "" {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	res, err := http.Get("http://" + entry.Addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/: %s", res.Status)
	}
}

func TestPrintWelcome(t *testing.T) {
	var buf bytes.Buffer
	dir := t.TempDir()
	printWelcome(&buf, node.Layout{Dir: dir}, "127.0.0.1:8443")
	out := buf.String()
	for _, want := range []string{
		"running at https://127.0.0.1:8443",
		filepath.Join(dir, "tls", "ca.crt"),
		"https://127.0.0.1:8443/v1/parents/signup",
		"daisydog admin create --data " + dir,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("welcome text lacks %q", want)
		}
	}
}

// Flag errors of the server commands are reported before any node starts.
func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.token")
	if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"serve without data", func() error { return cmdServe(nil) }, "--data is required"},
		{"bad log level", func() error { return cmdServe([]string{"--data", data, "--log-level", "chatty"}) }, "--log-level"},
		{"bad admin-allow", func() error { return cmdServe([]string{"--data", data, "--admin-allow", "nowhere"}) }, "--admin-allow"},
		{"missing metrics token file", func() error {
			return cmdServe([]string{"--data", data, "--metrics-token-file", filepath.Join(dir, "none")})
		}, "--metrics-token-file"},
		{"short metrics token", func() error { return cmdServe([]string{"--data", data, "--metrics-token-file", short}) }, "at least 16"},
		{"mail misconfigured", func() error { return cmdServe([]string{"--data", data, "--smtp-addr", "smtp.example.test:587"}) }, "--smtp-from"},
		{"ai misconfigured", func() error { return cmdServe([]string{"--data", data, "--ai-model", "m"}) }, "need --ai-url"},
		{"init without data", func() error { return cmdInit([]string{"--node-id", "n1"}) }, "--data is required"},
		{"join without token", func() error { return cmdJoin([]string{"--data", data, "--join", "127.0.0.1:8443"}) }, "--token are required"},
		{"bench without targets", func() error { return cmdBench([]string{"--targets", " , "}) }, "--targets is required"},
		{"bench bad mix", func() error { return cmdBench([]string{"--targets", "https://127.0.0.1:1", "--mix", "dance:1"}) }, ""},
		{"bench missing token file", func() error {
			return cmdBench([]string{"--targets", "https://127.0.0.1:1", "--metrics-token-file", filepath.Join(dir, "none")})
		}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := capture(t, tc.run)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != "" {
				wantErrContains(t, err, tc.want)
			}
			if _, statErr := os.Stat(data); statErr == nil {
				t.Fatal("a data directory was created by a refused command")
			}
		})
	}
}

// initNode runs "daisydog init --no-serve" in a temp dir.
func initNode(t *testing.T, nodeID string, extra ...string) (dir, stdout string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	args := append([]string{"--data", dir, "--node-id", nodeID, "--http", "127.0.0.1:18443", "--raft", "127.0.0.1:19443", "--no-serve"}, extra...)
	stdout, _, err := capture(t, func() error { return cmdInit(args) })
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	return dir, stdout
}

func TestInitAndClusterToken(t *testing.T) {
	keyPrefix := filepath.Join(t.TempDir(), "signing")
	if _, _, err := capture(t, func() error { return cmdPolicyKeygen([]string{"--out", keyPrefix}) }); err != nil {
		t.Fatal(err)
	}
	dir, out := initNode(t, "n1", "--policy-key", keyPrefix+".pub")
	l := node.Layout{Dir: dir}
	nf, err := l.ReadNode()
	if err != nil {
		t.Fatal(err)
	}
	if nf.NodeID != "n1" || nf.HTTPAddr != "127.0.0.1:18443" || nf.RaftAddr != "127.0.0.1:19443" {
		t.Fatalf("node file = %+v", nf)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "keys", "join-token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tok))
	if !strings.HasPrefix(token, "ddj1.") || !strings.Contains(out, token) || !strings.Contains(out, `node "n1"`) {
		t.Fatalf("init output does not show the join token:\n%s", out)
	}
	pub, err := os.ReadFile(keyPrefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(l.PolicyKeysFile()); err != nil || !bytes.Equal(got, pub) {
		t.Fatalf("initial policy key file: %v (equal %v)", err, bytes.Equal(got, pub))
	}

	printed, _, err := capture(t, func() error { return cmdCluster([]string{"token", "--data", dir}) })
	if err != nil || strings.TrimSpace(printed) != token {
		t.Fatalf("cluster token printed %q, %v; want the join token", printed, err)
	}

	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"init over another node", func() error {
			return cmdInit([]string{"--data", dir, "--node-id", "n2", "--no-serve"})
		}, `already holds node "n1", not "n2"`},
		{"join over another node", func() error {
			return cmdJoin([]string{"--data", dir, "--node-id", "n2", "--join", "127.0.0.1:1", "--token", token, "--no-serve"})
		}, `already holds node "n1"`},
		{"cluster without subcommand", func() error { return cmdCluster(nil) }, "needs a subcommand"},
		{"cluster without data", func() error { return cmdCluster([]string{"status"}) }, "--data is required"},
		{"cluster on an empty dir", func() error { return cmdCluster([]string{"status", "--data", t.TempDir()}) }, ""},
		{"cluster remove without node", func() error { return cmdCluster([]string{"remove", "--data", dir}) }, "usage: daisydog cluster remove"},
		{"unknown cluster subcommand", func() error { return cmdCluster([]string{"frobnicate", "--data", dir}) }, `unknown cluster subcommand "frobnicate"`},
		{"init with a bad policy key", func() error {
			return cmdInit([]string{"--data", filepath.Join(t.TempDir(), "d"), "--node-id", "n3", "--no-serve", "--policy-key", keyPrefix + ".key"})
		}, "policy key"},
		{"init with a missing policy key", func() error {
			return cmdInit([]string{"--data", filepath.Join(t.TempDir(), "d"), "--node-id", "n3", "--no-serve", "--policy-key", keyPrefix + ".none"})
		}, "no such file"},
		{"init with a bad node ID", func() error {
			return cmdInit([]string{"--data", filepath.Join(t.TempDir(), "d"), "--node-id", "Bad_ID", "--no-serve"})
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := capture(t, tc.run)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != "" {
				wantErrContains(t, err, tc.want)
			}
		})
	}
	// The refused init did not touch the existing node.
	if nf2, err := l.ReadNode(); err != nil || nf2 != nf {
		t.Fatalf("node file changed: %+v, %v", nf2, err)
	}
}

func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	path := node.Layout{Dir: dir}.DBFile()
	writeAuditedDB(t, path)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "usage: daisydog audit verify"},
		{"wrong subcommand", []string{"fix"}, "usage: daisydog audit verify"},
		{"no data", []string{"verify"}, "--data is required"},
	} {
		_, _, err := capture(t, func() error { return cmdAudit(tc.args) })
		wantErrContains(t, err, tc.want)
	}

	out, _, err := capture(t, func() error { return cmdAudit([]string{"verify", "--data", dir}) })
	if err != nil || out != "audit log OK: 3 entries, hash chain intact\n" {
		t.Fatalf("verify: %q, %v", out, err)
	}

	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET action='nothing' WHERE seq=2"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	_, _, err = capture(t, func() error { return cmdAudit([]string{"verify", "--data", dir}) })
	wantErrContains(t, err, "entry 2 was altered")
	wantErrContains(t, err, "audit log FAILED verification")
}

func TestPolicyDispatch(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.jsonl")
	if err := os.WriteFile(garbage, []byte("not a case\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantErr    string
		wantStdout string
		wantStderr string
	}{
		{"no subcommand", nil, "missing subcommand", "", "daisydog policy score"},
		{"unknown", []string{"paint"}, `unknown subcommand "paint"`, "", "daisydog policy keygen"},
		{"help", []string{"help"}, "", "daisydog policy push", ""},
		{"score without data", []string{"score"}, "--data FILE is required", "", "Usage:"},
		{"score with a missing file", []string{"eval", "--cases", "/nonexistent/cases.jsonl"}, "no such file", "", ""},
		{"train bad bits", []string{"train", "--cases", "x", "--out", "y", "--bits", "4"}, "--cases FILE and --out FILE are required", "", ""},
		{"train missing file", []string{"train", "--cases", "/nonexistent/c.jsonl", "--out", "y"}, "no such file", "", ""},
		{"train with a line that is no case", []string{"train", "--cases", garbage, "--out", "y"}, "eval: line 1", "", ""},
		{"score with a line that is no case", []string{"score", "--data", garbage}, "eval: line 1", "", ""},
		{"keygen without out", []string{"keygen"}, "--out PREFIX is required", "", ""},
		{"bundle without flags", []string{"bundle", "--name", "p"}, "are required", "", ""},
		{"status without url", []string{"status", "--token", "t"}, "--url and --token", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DAISYDOG_ADMIN_TOKEN", "")
			out, errOut, err := capture(t, func() error { return cmdPolicy(tc.args) })
			wantErrContains(t, err, tc.wantErr)
			if !strings.Contains(out, tc.wantStdout) || !strings.Contains(errOut, tc.wantStderr) {
				t.Fatalf("stdout %q, stderr %q; want %q and %q", out, errOut, tc.wantStdout, tc.wantStderr)
			}
		})
	}
}

func TestPolicyKeygen(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "k")
	out, _, err := capture(t, func() error { return cmdPolicyKeygen([]string{"--out", prefix}) })
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := os.ReadFile(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	priv, err := bundle.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := bundle.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("the public key is not the private key's")
	}
	if !strings.Contains(out, "key id "+bundle.KeyID(pub)+"\n") {
		t.Fatalf("output does not show the key id %s:\n%s", bundle.KeyID(pub), out)
	}
	st, err := os.Stat(prefix + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	// An existing key is never overwritten.
	_, _, err = capture(t, func() error { return cmdPolicyKeygen([]string{"--out", prefix}) })
	wantErrContains(t, err, "file exists")
	if again, _ := os.ReadFile(prefix + ".key"); !bytes.Equal(again, privPEM) {
		t.Fatal("the private key was overwritten")
	}
	_, _, err = capture(t, func() error { return cmdPolicyKeygen([]string{"--out", filepath.Join(t.TempDir(), "no", "dir", "k")}) })
	wantErrContains(t, err, "policy keygen")
}

func constVectors(t *testing.T, action string) []byte {
	t.Helper()
	b, err := json.Marshal(policies.VectorFile{ABI: 1, Policy: "constp", Vectors: []policies.Vector{{
		Name:   "anything",
		Input:  policies.Input{Text: "hello there", Direction: "in", AgeTier: "5-8"},
		Expect: policies.Expectation{Action: action, Categories: []string{}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPolicyBundle(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	if _, _, err := capture(t, func() error { return cmdPolicyKeygen([]string{"--out", prefix}) }); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	module := write("const.wasm", wasmtest.ConstModule([]byte(`{"action":"allow","categories":[],"rules":["const"]}`)))
	good := write("good.json", constVectors(t, "allow"))
	bad := write("bad.json", constVectors(t, "block"))
	write("data2/x.txt", []byte("x\n"))
	write("data/lists/words.txt", []byte("alpha\n"))
	write("data/top.txt", []byte("beta\n"))

	args := func(vectors, out string, extra ...string) []string {
		return append([]string{"--module", module, "--vectors", vectors, "--name", "constp", "--version", "1.0.0",
			"--key", prefix + ".key", "-o", out}, extra...)
	}
	outFile := filepath.Join(dir, "out.ddpb")
	stdout, _, err := capture(t, func() error { return cmdPolicyBundle(args(good, outFile)) })
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := os.ReadFile(prefix + ".pub")
	pub, _ := bundle.ParsePublicKey(pubPEM)
	if !strings.HasPrefix(stdout, "constp@1.0.0: ") || !strings.Contains(stdout, "0 data files") || !strings.Contains(stdout, bundle.KeyID(pub)) {
		t.Fatalf("output: %q", stdout)
	}
	if b.ID() != "constp@1.0.0" || !bytes.Equal(b.Module, mustRead(t, module)) || !bytes.Equal(b.Vectors, mustRead(t, good)) {
		t.Fatalf("bundle %s does not hold the given module and vectors", b.ID())
	}
	files, err := readDataDir(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"lists/words.txt": "alpha\n", "top.txt": "beta\n"}; !reflect.DeepEqual(files, want) {
		t.Fatalf("readDataDir = %q, want %q", files, want)
	}
	if err := os.Symlink(filepath.Join(dir, "data", "top.txt"), filepath.Join(dir, "data", "link.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := readDataDir(filepath.Join(dir, "data")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("readDataDir with a symlink: %v", err)
	}

	failures := []struct {
		name string
		args []string
		want string
	}{
		{"vectors the module fails", args(bad, filepath.Join(dir, "bad.ddpb")), "not written"},
		{"data for a module without data", args(good, filepath.Join(dir, "bad.ddpb"), "--data", filepath.Join(dir, "data2")), "not written"},
		{"missing module", append(args(good, filepath.Join(dir, "x.ddpb")), "--module", filepath.Join(dir, "none.wasm")), "no such file"},
		{"missing vectors", args(filepath.Join(dir, "none.json"), filepath.Join(dir, "x.ddpb")), "no such file"},
		{"public key instead of private", append(args(good, filepath.Join(dir, "x.ddpb")), "--key", prefix+".pub"), ""},
		{"missing data dir", args(good, filepath.Join(dir, "x.ddpb"), "--data", filepath.Join(dir, "nodata")), "no such file"},
		{"positional argument", append(args(good, filepath.Join(dir, "x.ddpb")), "extra"), "are required"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := capture(t, func() error { return cmdPolicyBundle(tc.args) })
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != "" {
				wantErrContains(t, err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "bad.ddpb")); err == nil {
				t.Fatal("a bundle that fails its vectors was written")
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// policyServer is a fake admin API recording the requests it gets.
type policyServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
	// reply maps "METHOD path" to a status and body; default 200 {"ok":true}.
	reply map[string]fakeReply
	ca    string
}

type recorded struct {
	Method, Path, Query, Auth, Type string
	Body                            []byte
}

type fakeReply struct {
	status int
	body   string
}

func newPolicyServer(t *testing.T) *policyServer {
	t.Helper()
	ps := &policyServer{reply: map[string]fakeReply{}}
	ps.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ps.mu.Lock()
		ps.reqs = append(ps.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		rep, ok := ps.reply[r.Method+" "+r.URL.EscapedPath()]
		ps.mu.Unlock()
		if !ok {
			rep = fakeReply{200, `{"ok":true}`}
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	ps.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the refused handshake of the untrusted-certificate case
	ps.StartTLS()
	t.Cleanup(ps.Close)
	ps.ca = filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ps.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ps.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return ps
}

func (ps *policyServer) last(t *testing.T) recorded {
	t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return ps.reqs[len(ps.reqs)-1]
}

func (ps *policyServer) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.reqs)
}

func TestPolicyAdminCommands(t *testing.T) {
	ps := newPolicyServer(t)
	dir := t.TempDir()
	bundleFile := filepath.Join(dir, "p.ddpb")
	if err := os.WriteFile(bundleFile, []byte("bundle-bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "k.pub")
	if err := os.WriteFile(pubFile, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--url", ps.URL + "/", "--token", "tok-1", "--ca", ps.ca}
	with := func(args ...string) []string { return append(args, conn...) }
	tests := []struct {
		name                string
		args                []string
		method, path, query string
		ctype               string
		body                string
		out                 map[string]any
	}{
		{"push", with("push", bundleFile), "POST", "/v1/admin/policies", "", "application/octet-stream", "bundle-bytes", nil},
		{"push stage only", append(with("push"), "--stage-only", bundleFile), "POST", "/v1/admin/policies", "activate=false", "application/octet-stream", "bundle-bytes", nil},
		{"activate", with("activate", "p@1.0.0"), "POST", "/v1/admin/policies/p@1.0.0/activate", "", "", "", map[string]any{"ok": true}},
		{"activate, escaped", with("activate", "p/x@1"), "POST", "/v1/admin/policies/p%2Fx@1/activate", "", "", "", map[string]any{"ok": true}},
		{"shadow", with("shadow", "p@2"), "POST", "/v1/admin/policies/p@2/shadow", "", "", "", map[string]any{"ok": true}},
		{"shadow off", with("shadow", "--off"), "DELETE", "/v1/admin/policy-shadow", "", "", "", map[string]any{"ok": true}},
		{"unstage", with("unstage", "p@3"), "DELETE", "/v1/admin/policies/p@3", "", "", "", map[string]any{"unstaged": "p@3"}},
		{"rollback", with("rollback"), "POST", "/v1/admin/policy-rollback", "", "", "", map[string]any{"ok": true}},
		{"trust", append(with("trust"), "--pub", pubFile), "POST", "/v1/admin/policy-keys", "", "application/json",
			`{"public_key_pem":"-----BEGIN PUBLIC KEY-----\n"}`, map[string]any{"ok": true}},
		{"untrust", with("untrust", "0123abcd"), "DELETE", "/v1/admin/policy-keys/0123abcd", "", "", "", map[string]any{"ok": true}},
		{"status json", append(with("status"), "--json"), "GET", "/v1/admin/policies", "", "", "", map[string]any{"ok": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, err := capture(t, func() error { return cmdPolicy(tc.args) })
			if err != nil {
				t.Fatal(err)
			}
			r := ps.last(t)
			if r.Method != tc.method || r.Path != tc.path || r.Query != tc.query || r.Auth != "Bearer tok-1" || r.Type != tc.ctype {
				t.Fatalf("request %s %s?%s auth %q type %q; want %s %s?%s type %q", r.Method, r.Path, r.Query, r.Auth, r.Type,
					tc.method, tc.path, tc.query, tc.ctype)
			}
			if tc.body != "" && string(r.Body) != tc.body {
				t.Fatalf("body %q, want %q", r.Body, tc.body)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not JSON: %q", stdout)
			}
			if tc.out == nil { // push: the server's reply plus the time it took
				if got["ok"] != true || got["took_ms"] == nil {
					t.Fatalf("push output = %v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.out) {
				t.Fatalf("output = %v, want %v", got, tc.out)
			}
		})
	}

	t.Run("token from the environment", func(t *testing.T) {
		t.Setenv("DAISYDOG_ADMIN_TOKEN", "env-tok")
		if _, _, err := capture(t, func() error { return cmdPolicy([]string{"rollback", "--url", ps.URL, "--ca", ps.ca}) }); err != nil {
			t.Fatal(err)
		}
		if r := ps.last(t); r.Auth != "Bearer env-tok" {
			t.Fatalf("Authorization %q", r.Auth)
		}
	})

	t.Run("status text", func(t *testing.T) {
		ps.reply["GET /v1/admin/policies"] = fakeReply{200, `{"node":"n1","active":"p@2","installed_at_index":7,"error":"module trapped",
			"history":["p@1","p@2"],"shadow":{"policy":"p@3","against":"p@2","evaluated":10,"disagreed":1,"errors":0,"skipped":2},
			"staged":[{"id":"p@3","key_id":"k1","nodes":{"n2":"ok","n1":"failed"}}]}`}
		defer delete(ps.reply, "GET /v1/admin/policies")
		stdout, _, err := capture(t, func() error { return cmdPolicy(with("status")) })
		if err != nil {
			t.Fatal(err)
		}
		want := "node n1: active p@2 (installed at index 7)\n" +
			"  FAILING CLOSED: module trapped\n" +
			"  history: [p@1 p@2] (rollback returns to the one before the last)\n" +
			"  shadow p@3 vs p@2: 10 evaluated, 1 disagreed, 0 errors, 2 skipped\n" +
			"  staged p@3 (key k1): n1=failed n2=ok\n"
		if stdout != want {
			t.Fatalf("status:\n%s\nwant:\n%s", stdout, want)
		}
	})

	t.Run("server errors", func(t *testing.T) {
		ps.reply["POST /v1/admin/policy-rollback"] = fakeReply{409, `{"error":{"code":"conflict","message":"no earlier version"}}`}
		ps.reply["POST /v1/admin/policies/p@9/activate"] = fakeReply{502, `<html>bad gateway</html>`}
		ps.reply["DELETE /v1/admin/policies/p@9"] = fakeReply{404, `{"error":{"code":"not_found","message":"no such version"}}`}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{with("rollback"), "POST /v1/admin/policy-rollback: 409 conflict: no earlier version"},
			{with("activate", "p@9"), "POST /v1/admin/policies/p@9/activate: 502 Bad Gateway"},
			{with("unstage", "p@9"), "404 not_found: no such version"},
		} {
			_, _, err := capture(t, func() error { return cmdPolicy(tc.args) })
			wantErrContains(t, err, tc.want)
		}
	})

	t.Run("refused before any request", func(t *testing.T) {
		t.Setenv("DAISYDOG_ADMIN_TOKEN", "")
		before := ps.count()
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"status", "--url", ps.URL}, "--url and --token"},
			{[]string{"status", "--url", strings.Replace(ps.URL, "https", "http", 1), "--token", "t"}, "--url must be https://HOST:PORT"},
			{[]string{"status", "--url", "https://", "--token", "t"}, "--url must be https://HOST:PORT"},
			{append(with("status"), "--ca", filepath.Join(dir, "none.crt")), "no such file"},
			{append(with("status"), "--ca", bundleFile), "no PEM certificate"},
			{with("push"), "expected one BUNDLE file"},
			{with("push", filepath.Join(dir, "none.ddpb")), "no such file"},
			{with("activate"), "expected NAME@VERSION"},
			{with("unstage", "a", "b"), "expected NAME@VERSION"},
			{with("shadow"), "expected NAME@VERSION or --off"},
			{append(with("shadow", "p@1"), "--off"), "expected NAME@VERSION or --off"},
			{with("rollback", "p@1"), "expected no arguments"},
			{with("trust"), "--pub FILE is required"},
			{append(with("trust"), "--pub", filepath.Join(dir, "none.pub")), "no such file"},
			{with("untrust"), "expected KEY_ID"},
		} {
			_, _, err := capture(t, func() error { return cmdPolicy(tc.args) })
			wantErrContains(t, err, tc.want)
		}
		if n := ps.count(); n != before {
			t.Fatalf("%d requests sent by refused commands", n-before)
		}
	})

	t.Run("untrusted server certificate", func(t *testing.T) {
		_, _, err := capture(t, func() error { return cmdPolicy([]string{"status", "--url", ps.URL, "--token", "t"}) })
		wantErrContains(t, err, "certificate")
	})
}

func TestAdminCreate(t *testing.T) {
	dir, _ := initNode(t, "n1")
	l := node.Layout{Dir: dir}
	wantToken, err := node.BootstrapTokenFor(l)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(l.NodeCert(), l.NodeKey())
	if err != nil {
		t.Fatal(err)
	}
	type request struct {
		auth, path string
		body       map[string]string
	}
	got := make(chan request, 1)
	var status atomic.Int32 // the reply's status code
	status.Store(http.StatusCreated)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		got <- request{r.Header.Get("Authorization"), r.URL.Path, body}
		w.WriteHeader(int(status.Load()))
		_, _ = io.WriteString(w, `{"id":"st_1"}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()

	t.Run("password from the environment", func(t *testing.T) {
		t.Setenv("DAISYDOG_ADMIN_PASSWORD", "correct horse battery")
		out, _, err := capture(t, func() error {
			return cmdAdmin([]string{"create", "--data", dir, "--email", "root@example.test", "--url", srv.URL + "/"})
		})
		if err != nil {
			t.Fatal(err)
		}
		r := <-got
		if r.auth != "Bootstrap "+wantToken || r.path != "/v1/admin/bootstrap" ||
			r.body["email"] != "root@example.test" || r.body["password"] != "correct horse battery" {
			t.Fatalf("request %+v (token ok: %v)", r, r.auth == "Bootstrap "+wantToken)
		}
		if !strings.Contains(out, `administrator created: {"id":"st_1"}`) || !strings.Contains(out, srv.URL+"/v1/admin/login") {
			t.Fatalf("output: %q", out)
		}
	})

	t.Run("password from stdin", func(t *testing.T) {
		t.Setenv("DAISYDOG_ADMIN_PASSWORD", "")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, "typed passphrase\r\nignored\n")
		w.Close()
		old := os.Stdin
		os.Stdin = r
		defer func() { os.Stdin = old; r.Close() }()
		status.Store(http.StatusConflict)
		defer status.Store(http.StatusCreated)
		_, _, err = capture(t, func() error {
			return cmdAdmin([]string{"create", "--data", dir, "--email", "root@example.test", "--url", srv.URL})
		})
		wantErrContains(t, err, `bootstrap refused (409): {"id":"st_1"}`)
		if req := <-got; req.body["password"] != "typed passphrase" {
			t.Fatalf("password read from stdin = %q", req.body["password"])
		}
	})

	t.Run("refused locally", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{nil, "needs a subcommand: create"},
			{[]string{"delete"}, "needs a subcommand: create"},
			{[]string{"create", "--data", dir}, "--data and --email are required"},
			{[]string{"create", "--data", t.TempDir(), "--email", "a@example.test"}, "no node in"},
		} {
			_, _, err := capture(t, func() error { return cmdAdmin(tc.args) })
			wantErrContains(t, err, tc.want)
		}
	})

	t.Run("server with another CA", func(t *testing.T) {
		t.Setenv("DAISYDOG_ADMIN_PASSWORD", "correct horse battery")
		other := httptest.NewUnstartedServer(http.NotFoundHandler())
		other.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
		other.StartTLS()
		defer other.Close()
		_, _, err := capture(t, func() error {
			return cmdAdmin([]string{"create", "--data", dir, "--email", "root@example.test", "--url", other.URL})
		})
		wantErrContains(t, err, "certificate")
	})
}

// TestPolicyScoreModule scores a module that blocks everything on made-up
// cases: every case is blocked, the report and the verdicts file say so;
// every one of Daisy's own lines is blocked too, which the report lists and
// the exit status refuses (unless --daisy-lines=false).
func TestPolicyScoreModule(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "blockall.wasm")
	if err := os.WriteFile(module, wasmtest.ConstModule([]byte(`{"action":"block","categories":["hate"],"rules":["all"]}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var ids []string
	for i := range 6 {
		label, cat := "safe", "none"
		if i%2 == 1 {
			label, cat = "unsafe", "hate"
		}
		id := fmt.Sprintf("c%d", i)
		ids = append(ids, id)
		_ = enc.Encode(map[string]string{"id": id, "source": "made-up", "label": label, "category": cat, "direction": "input",
			"text": fmt.Sprintf("made-up case number %d", i)})
	}
	cases := filepath.Join(dir, "cases.jsonl")
	if err := os.WriteFile(cases, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	verdicts := filepath.Join(dir, "verdicts.jsonl")
	out, _, err := capture(t, func() error {
		return cmdPolicy([]string{"score", "--data", cases, "--module", module, "--json", "--verdicts", verdicts, "--tier", "5-8"})
	})
	wantErrContains(t, err, "of Daisy's own lines")
	var rep struct {
		Policy     string         `json:"policy"`
		AgeTier    string         `json:"age_tier"`
		Cases      int            `json:"cases"`
		Actions    map[string]int `json:"actions"`
		DaisyLines struct {
			Strictness string `json:"strictness"`
			Checked    int    `json:"checked"`
			Exempt     int    `json:"exempt"`
			Refused    int    `json:"refused"`
			Lines      []struct {
				Tier, Source, Text, Action string
				Categories                 []string
			} `json:"refused_lines"`
		} `json:"daisy_lines"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if rep.Cases != 6 || rep.Actions["block"] != 6 || rep.AgeTier != "5-8" || !strings.HasPrefix(rep.Policy, "blockall@") {
		t.Fatalf("report = %+v", rep)
	}
	// Every line of every tier (not only --tier's) is checked, and blocked.
	dl := rep.DaisyLines
	tiers := map[string]int{}
	for _, l := range dl.Lines {
		tiers[l.Tier]++
		if l.Text == "" || l.Source == "" || l.Source == "support" || l.Action != "block" || !reflect.DeepEqual(l.Categories, []string{"hate"}) {
			t.Fatalf("refused line %+v", l)
		}
	}
	if dl.Strictness != "standard" || dl.Checked < 3000 || dl.Refused != dl.Checked || len(dl.Lines) != dl.Checked || dl.Exempt == 0 ||
		len(tiers) != 3 {
		t.Fatalf("daisy_lines: strictness %q, %d checked, %d refused, %d listed, %d exempt, per tier %v",
			dl.Strictness, dl.Checked, dl.Refused, len(dl.Lines), dl.Exempt, tiers)
	}
	if _, _, err := capture(t, func() error {
		return cmdPolicy([]string{"score", "--data", cases, "--module", module, "--json", "--daisy-lines=false"})
	}); err != nil {
		t.Fatalf("--daisy-lines=false: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(mustRead(t, verdicts))), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d verdict lines, want 6", len(lines))
	}
	for i, line := range lines {
		var v struct {
			ID, Action string
			Categories []string
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatal(err)
		}
		if v.ID != ids[i] || v.Action != "block" || !reflect.DeepEqual(v.Categories, []string{"hate"}) {
			t.Fatalf("verdict line %d = %+v", i, v)
		}
		if strings.Contains(line, "made-up case") {
			t.Fatal("a verdict line holds the case text")
		}
	}

	// Table output, one half of the cases.
	out, _, err = capture(t, func() error {
		return cmdPolicy([]string{"eval", "--cases", cases, "--module", module, "--half", "tune", "--strictness", "strict"})
	})
	wantErrContains(t, err, "of Daisy's own lines")
	if !strings.Contains(out, "blockall@") {
		t.Fatalf("table does not name the policy:\n%s", out)
	}
	for _, want := range []string{
		fmt.Sprintf("strictness strict): %d checked, %d blocked;", dl.Checked, dl.Checked),
		"blocked per age tier and source:", "\n  5-8    pool:", "\n  13-17  catalog:",
		"blocked lines (Daisy would send a redirect instead):", "→ block [hate all]",
		fmt.Sprintf("… and %d more (--json lists them all)", dl.Checked-40),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"score", "--data", cases, "--half", "both"}, "unknown half"},
		{[]string{"score", "--data", cases, "--module", filepath.Join(dir, "none.wasm")}, "no such file"},
		{[]string{"score", "--data", cases, "--module", cases}, ""},
		{[]string{"score", "--data", module}, ""},
		{[]string{"score", "--data", cases, "--module", module, "--verdicts", filepath.Join(dir, "no", "v.jsonl")}, "no such file"},
	} {
		_, _, err := capture(t, func() error { return cmdPolicy(tc.args) })
		if err == nil {
			t.Fatalf("%v accepted", tc.args)
		}
		if tc.want != "" {
			wantErrContains(t, err, tc.want)
		}
	}
}

func TestPrintOutbox(t *testing.T) {
	var buf bytes.Buffer
	printOutbox(&buf, "")
	if buf.Len() != 0 {
		t.Fatalf("no outbox printed %q", buf.String())
	}
	dir := t.TempDir()
	printOutbox(&buf, filepath.Join(dir, "mail.jsonl"))
	if !strings.Contains(buf.String(), filepath.Join(dir, "mail.jsonl")) || !strings.Contains(buf.String(), "not sent") {
		t.Fatalf("outbox notice: %q", buf.String())
	}
}

// TestServeCommandsRefuseBadPprofFirst: run, init, join and serve refuse a
// non-loopback --pprof before they create, open or bind anything.
func TestServeCommandsRefuseBadPprofFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func([]string) error
		args []string
	}{
		{"run", cmdRun, nil},
		{"init", cmdInit, []string{"--node-id", "n1"}},
		{"join", cmdJoin, []string{"--node-id", "n2", "--join", "127.0.0.1:1", "--token", "x"}},
		{"serve", cmdServe, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--data", data, "--http", "127.0.0.1:0", "--raft", "127.0.0.1:0", "--pprof", "0.0.0.0:6060"}, tc.args...)
			if tc.name == "serve" {
				args = []string{"--data", data, "--pprof", "0.0.0.0:6060"}
			}
			err := tc.run(args)
			wantErrContains(t, err, "--pprof must be a loopback address")
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("the data directory was touched before the flag was refused: %v", err)
			}
		})
	}
}

func TestBackupAndRestoreCommands(t *testing.T) {
	dir, _ := initNode(t, "n1")
	l := node.Layout{Dir: dir}
	writeAuditedDB(t, l.DBFile())
	out := filepath.Join(t.TempDir(), "nightly.backup")
	printed, _, err := capture(t, func() error { return cmdBackup([]string{"--data", dir, "--out", out}) })
	if err != nil || !strings.Contains(printed, "backup written: "+out) || !strings.Contains(printed, "state at Raft index 3") {
		t.Fatalf("backup: %q, %v", printed, err)
	}

	keyFile := filepath.Join(t.TempDir(), "cluster.key")
	if err := os.WriteFile(keyFile, mustRead(t, l.ClusterKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	printed, _, err = capture(t, func() error { return cmdBackup([]string{"verify", "--from", out, "--cluster-key", keyFile}) })
	if err != nil || !strings.Contains(printed, "backup OK: "+out) || !strings.Contains(printed, "state at Raft index 3") {
		t.Fatalf("backup verify: %q, %v", printed, err)
	}
	badKey := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(badKey, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "restored")
	restore := func(extra ...string) []string {
		return append([]string{"--data", target, "--node-id", "r1", "--http", "127.0.0.1:18443", "--raft", "127.0.0.1:19443", "--no-serve"}, extra...)
	}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"backup without flags", func() error { return cmdBackup(nil) }, "--data and --out are required"},
		{"backup over a file", func() error { return cmdBackup([]string{"--data", dir, "--out", out}) }, "already exists"},
		{"backup of no node", func() error { return cmdBackup([]string{"--data", t.TempDir(), "--out", out + "2"}) }, "cluster key"},
		{"verify without flags", func() error { return cmdBackup([]string{"verify"}) }, "--from FILE --cluster-key FILE (both are required)"},
		{"verify with a bad key file", func() error { return cmdBackup([]string{"verify", "--from", out, "--cluster-key", badKey}) }, "64 hexadecimal digits"},
		{"verify of a file that is no backup", func() error { return cmdBackup([]string{"verify", "--from", keyFile, "--cluster-key", keyFile}) }, "FAILED verification"},
		{"restore without flags", func() error { return cmdRestore(nil) }, "--from, --cluster-key and --data are required"},
		{"restore with a missing key file", func() error { return cmdRestore(restore("--from", out, "--cluster-key", keyFile+".none")) }, "no such file"},
		{"restore with a bad key file", func() error { return cmdRestore(restore("--from", out, "--cluster-key", badKey)) }, "64 hexadecimal digits"},
		{"restore with a bad pprof address", func() error {
			return cmdRestore(restore("--from", out, "--cluster-key", keyFile, "--pprof", "0.0.0.0:6060"))
		}, "pprof"},
		{"restore with an archive but no time", func() error {
			return cmdRestore(restore("--from", out, "--cluster-key", keyFile, "--archive", t.TempDir()))
		}, "--archive and --until go together"},
		{"restore to a time that is not one", func() error {
			return cmdRestore(restore("--from", out, "--cluster-key", keyFile, "--archive", t.TempDir(), "--until", "yesterday"))
		}, "not an RFC 3339 time"},
		{"restore from an empty archive", func() error {
			return cmdRestore(restore("--from", out, "--cluster-key", keyFile, "--archive", t.TempDir(), "--until", "2026-11-27T14:03:00Z"))
		}, "no segments"},
		{"restore over a node", func() error {
			return cmdRestore([]string{"--data", dir, "--node-id", "n1", "--from", out, "--cluster-key", keyFile, "--no-serve"})
		}, "already holds a node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := capture(t, tc.run)
			wantErrContains(t, err, tc.want)
		})
	}

	printed, _, err = capture(t, func() error { return cmdRestore(restore("--from", out, "--cluster-key", keyFile)) })
	if err != nil || !strings.Contains(printed, "Restored the state at Raft index 3") || !strings.Contains(printed, "ddj1.") {
		t.Fatalf("restore: %q, %v", printed, err)
	}
	verified, _, err := capture(t, func() error { return cmdAudit([]string{"verify", "--data", target}) })
	if err != nil || verified != "audit log OK: 3 entries, hash chain intact\n" {
		t.Fatalf("audit of the restored database: %q, %v", verified, err)
	}

	// The same backup restored with a new cluster key: the new cluster's
	// key differs, its audit log has the rotation, and the old key opens
	// none of its backups.
	rekeyed := filepath.Join(t.TempDir(), "rekeyed")
	printed, _, err = capture(t, func() error {
		return cmdRestore([]string{"--data", rekeyed, "--node-id", "r2", "--http", "127.0.0.1:18444", "--raft", "127.0.0.1:19444",
			"--no-serve", "--from", out, "--cluster-key", keyFile, "--new-cluster-key"})
	})
	if err != nil || !strings.Contains(printed, "New cluster key: "+node.Layout{Dir: rekeyed}.ClusterKey()) ||
		!strings.Contains(printed, "Dropped (usable only with the old key): login_failures 3.") || !strings.Contains(printed, "destroy them") {
		t.Fatalf("restore with a new cluster key: %q, %v", printed, err)
	}
	if bytes.Equal(mustRead(t, node.Layout{Dir: rekeyed}.ClusterKey()), mustRead(t, keyFile)) {
		t.Fatal("the cluster key did not change")
	}
	verified, _, err = capture(t, func() error { return cmdAudit([]string{"verify", "--data", rekeyed}) })
	if err != nil || verified != "audit log OK: 4 entries, hash chain intact\n" {
		t.Fatalf("audit of the re-keyed database: %q, %v", verified, err)
	}
	out2 := filepath.Join(t.TempDir(), "rekeyed.backup")
	if _, _, err := capture(t, func() error { return cmdBackup([]string{"--data", rekeyed, "--out", out2}) }); err != nil {
		t.Fatal(err)
	}
	_, _, err = capture(t, func() error { return cmdBackup([]string{"verify", "--from", out2, "--cluster-key", keyFile}) })
	wantErrContains(t, err, "FAILED verification")
}

// writeAuditedDB creates the database at path holding three applied
// commands, each with its audit entry (three login failures).
func writeAuditedDB(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.Apply(ctx, uint64(i+1), &storage.LoginFailure{EmailIndex: []byte{byte(i)}, Now: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestShortFP(t *testing.T) {
	for in, want := range map[string]string{"": "-", "abc": "abc", "0123456789abcdef": "0123456789ab"} {
		if got := shortFP(in); got != want {
			t.Errorf("shortFP(%q) = %q, want %q", in, got, want)
		}
	}
}
