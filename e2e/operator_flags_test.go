package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// smtpStandIn is a minimal SMTP submission server on loopback: it offers
// STARTTLS (with a certificate for 127.0.0.1 that the node trusts through
// SSL_CERT_FILE), refuses AUTH and MAIL before TLS, accepts AUTH PLAIN
// only with its credentials, and records each message it accepts.
type smtpStandIn struct {
	ln         net.Listener
	tlsConf    *tls.Config
	user, pass string

	mu   sync.Mutex
	msgs []smtpMessage
	errs []string
	// mode makes new sessions misbehave: "busy" refuses at the greeting,
	// "plain" offers no STARTTLS ("" = well-behaved).
	mode string
}

func (s *smtpStandIn) setMode(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

type smtpMessage struct {
	from, to string
	authed   bool
	data     string // headers, blank line, decoded body
}

func newSMTPStandIn(t *testing.T, user, pass string) (*smtpStandIn, string) {
	t.Helper()
	// httptest's certificate is valid for 127.0.0.1; keep its TLS config.
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	conf := hs.TLS.Clone()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	hs.Close()
	caFile := filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpStandIn{ln: ln, tlsConf: conf, user: user, pass: pass}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s, caFile
}

func (s *smtpStandIn) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpStandIn) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func (s *smtpStandIn) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	rd, secure, authed := bufio.NewReader(c), false, false
	reply := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	s.mu.Lock()
	mode := s.mode
	s.mu.Unlock()
	if mode == "busy" {
		reply("421 smtp.stand-in too busy, try later")
		return
	}
	reply("220 smtp.stand-in ESMTP")
	var m smtpMessage
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch {
		case verb == "EHLO" || verb == "HELO":
			switch {
			case secure:
				reply("250-smtp.stand-in")
				reply("250 AUTH PLAIN")
			case mode == "plain":
				reply("250 smtp.stand-in")
			default:
				reply("250-smtp.stand-in")
				reply("250 STARTTLS")
			}
		case verb == "STARTTLS" && !secure:
			reply("220 go ahead")
			tc := tls.Server(c, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				s.fail("TLS handshake: %v", err)
				return
			}
			c, rd, secure = tc, bufio.NewReader(tc), true
			reply = func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
		case !secure && (verb == "AUTH" || verb == "MAIL"):
			s.fail("%s before STARTTLS", verb)
			reply("530 must issue STARTTLS first")
		case verb == "AUTH":
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(cmd, "AUTH PLAIN "))
			if string(raw) != "\x00"+s.user+"\x00"+s.pass {
				s.fail("AUTH with wrong credentials")
				reply("535 authentication failed")
				continue
			}
			authed = true
			reply("235 authenticated")
		case verb == "MAIL":
			m = smtpMessage{from: strings.Trim(strings.TrimPrefix(cmd, "MAIL FROM:"), "<>"), authed: authed}
			reply("250 ok")
		case verb == "RCPT":
			m.to = strings.Trim(strings.TrimPrefix(cmd, "RCPT TO:"), "<>")
			reply("250 ok")
		case verb == "DATA":
			reply("354 end with .")
			var b strings.Builder
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			if hdr, body, ok := strings.Cut(m.data, "\r\n\r\n"); ok && strings.Contains(hdr, "Content-Transfer-Encoding: quoted-printable") {
				dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
				if err != nil {
					s.fail("body is not quoted-printable: %v", err)
				}
				m.data = hdr + "\r\n\r\n" + string(dec)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			reply("250 queued")
		case verb == "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

func (s *smtpStandIn) messages() ([]smtpMessage, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.msgs...), append([]string(nil), s.errs...)
}

// TestSingleNodeOperatorFlags runs `daisydog run` with the operator flags
// the other tests leave at their defaults and checks what each promises:
// e-mail over SMTP with STARTTLS and AUTH (the links starting at
// --mail-link-base, and working), the plain-HTTP listener that only
// redirects, profiling on loopback, staff routes closed to clients outside
// --admin-allow, the cluster-wide sign-up limit, and a clean exit.
func TestSingleNodeOperatorFlags(t *testing.T) {
	t.Parallel()
	smtpSrv, caFile := newSMTPStandIn(t, "mailer", "smtp secret "+randLetters(8))
	e := newEnv(t)
	e.environ = []string{"SSL_CERT_FILE=" + caFile} // the node trusts the stand-in's certificate
	addrs := freeAddrs(t, 4)
	dir := filepath.Join(e.root, "single")
	pwFile := filepath.Join(e.root, "smtp.password")
	if err := os.WriteFile(pwFile, []byte(smtpSrv.pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.start("run", "run", "--data", dir, "--http", addrs[0], "--raft", addrs[1],
		"--smtp-addr", smtpSrv.ln.Addr().String(), "--smtp-from", "daisy@example.test", "--smtp-user", "mailer", "--smtp-password-file", pwFile,
		"--mail-link-base", "https://app.example.test/", "--http-redirect", addrs[2], "--pprof", addrs[3],
		"--admin-allow", "10.0.0.0/8", "--limit-signup", "2", "--log-level", "debug")
	base := "https://" + addrs[0]
	waitFor(t, startTimeout, "the CA file of `daisydog run`", func() (bool, string) {
		if p.exited() {
			t.Fatalf("daisydog run %s; stderr:\n%s", p.state(), tail(p.stderrText(), 30, 8<<10))
		}
		_, err := os.Stat(filepath.Join(dir, "tls", "ca.crt"))
		return err == nil, fmt.Sprint(err)
	})
	api := newAPIClient(t, filepath.Join(dir, "tls", "ca.crt"))
	waitFor(t, startTimeout, "/readyz to answer 200", func() (bool, string) {
		if p.exited() {
			t.Fatalf("daisydog run %s", p.state())
		}
		r, err := api.get(base+"/readyz", "")
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, r.String()
	})

	// Sign-up mails a verification link over SMTP; the link's token works.
	email := "smtp-" + randLetters(8) + "@example.test"
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	api.must(201, "POST", base+"/v1/parents/signup", "", creds)
	linkRe := regexp.MustCompile(`https://app\.example\.test/(verify-email|reset-password)#token=((?:ev|pr)_[A-Za-z0-9_-]{43})`)
	mailed := func(n int) smtpMessage {
		t.Helper()
		var got []smtpMessage
		waitFor(t, 20*time.Second, fmt.Sprintf("e-mail %d at the SMTP stand-in", n), func() (bool, string) {
			var errs []string
			got, errs = smtpSrv.messages()
			if len(errs) > 0 {
				t.Fatalf("SMTP session broke the rules: %v", errs)
			}
			return len(got) >= n, fmt.Sprintf("%d messages", len(got))
		})
		return got[n-1]
	}
	m := mailed(1)
	link := linkRe.FindStringSubmatch(m.data)
	if m.to != email || m.from != "daisy@example.test" || !m.authed || link == nil || link[1] != "verify-email" ||
		!strings.Contains(m.data, "From: ") || !strings.Contains(m.data, "To: "+email) {
		t.Fatalf("verification e-mail: from %q to %q authed %v link %v\n%s", m.from, m.to, m.authed, link, m.data)
	}
	var v struct {
		EmailVerified bool `json:"email_verified"`
	}
	api.must(200, "POST", base+"/v1/auth/verify-email", "", map[string]string{"token": link[2]}).decode(t, &v)
	if !v.EmailVerified {
		t.Fatal("the mailed verification link did not verify the address")
	}

	// A password reset link arrives the same way and sets a new password.
	api.must(202, "POST", base+"/v1/auth/password-reset", "", map[string]string{"email": email})
	m = mailed(2)
	link = linkRe.FindStringSubmatch(m.data)
	if m.to != email || link == nil || link[1] != "reset-password" {
		t.Fatalf("reset e-mail to %q with link %v:\n%s", m.to, link, m.data)
	}
	api.must(204, "POST", base+"/v1/auth/password-reset/confirm", "", map[string]string{"token": link[2], "password": "a brand new horse battery"})
	api.must(200, "POST", base+"/v1/auth/login", "", map[string]string{"email": email, "password": "a brand new horse battery"})
	// A reset link works once; a made-up one not at all.
	for _, c := range []struct {
		token, code string
		status      int
	}{{link[2], "token_used", 410}, {"pr_" + strings.Repeat("A", 43), "invalid_token", 400}, {"pr_short", "invalid_token", 400}} {
		r, err := api.do("POST", base+"/v1/auth/password-reset/confirm", "", map[string]string{"token": c.token, "password": "yet another horse battery"})
		if err != nil || r.Status != c.status || errCode(r) != c.code {
			t.Fatalf("reset confirm with %.10s…: %v %s, want %d %s", c.token, err, r, c.status, c.code)
		}
	}

	// A mail server that refuses (busy at the greeting, or no STARTTLS,
	// which the node requires before AUTH) does not fail the request: the
	// reset is accepted, the e-mail waits in the replicated outbox, and the
	// node logs the failure with its cause and without the recipient. Once
	// the server works again the waiting e-mail is delivered (a newer reset
	// e-mail replaced the older one: one message, whose link works).
	for _, c := range []struct{ mode, logged string }{{"busy", "421"}, {"plain", "STARTTLS"}} {
		smtpSrv.setMode(c.mode)
		api.must(202, "POST", base+"/v1/auth/password-reset", "", map[string]string{"email": email})
		waitFor(t, 20*time.Second, "the node to log the failed send to the "+c.mode+" server", func() (bool, string) {
			n := 0
			for _, l := range strings.Split(p.stderrText(), "\n") {
				if strings.Contains(l, "e-mail delivery failed") {
					if strings.Contains(l, email) {
						t.Fatalf("the failed send's log names the recipient: %s", l)
					}
					if strings.Contains(l, c.logged) {
						n++
					}
				}
			}
			return n > 0, fmt.Sprintf("%d failures with %q logged", n, c.logged)
		})
	}
	if got, _ := smtpSrv.messages(); len(got) != 2 {
		t.Fatalf("%d messages delivered while the server refused, want only the first two", len(got))
	}
	smtpSrv.setMode("")
	m = mailed(3)
	link = linkRe.FindStringSubmatch(m.data)
	if m.to != email || link == nil || link[1] != "reset-password" {
		t.Fatalf("the retried reset e-mail to %q with link %v:\n%s", m.to, link, m.data)
	}
	api.must(204, "POST", base+"/v1/auth/password-reset/confirm", "", map[string]string{"token": link[2], "password": "the retried horse battery"})
	api.must(200, "POST", base+"/v1/auth/login", "", map[string]string{"email": email, "password": "the retried horse battery"})

	// At most two sign-ups an hour from this network (cluster-wide limit).
	api.must(201, "POST", base+"/v1/parents/signup", "", map[string]string{"email": "second-" + randLetters(8) + "@example.test", "password": "correct horse battery staple"})
	r, err := api.do("POST", base+"/v1/parents/signup", "", map[string]string{"email": "third-" + randLetters(8) + "@example.test", "password": "correct horse battery staple"})
	if err != nil || r.Status != 429 || errCode(r) != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third sign-up: %v %s, want 429 rate_limited with Retry-After", err, r)
	}

	// Staff routes refuse a client outside --admin-allow (loopback here).
	r, err = api.do("POST", base+"/v1/admin/login", "", map[string]string{"email": "admin@example.test", "password": "correct horse battery staple"})
	if err != nil || r.Status != 403 || errCode(r) != "forbidden" {
		t.Fatalf("staff login from outside --admin-allow: %v %s, want 403", err, r)
	}

	// The plain-HTTP listener only redirects, to the same path over HTTPS.
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := plain.Get("http://" + addrs[2] + "/v1/children?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != base+"/v1/children?limit=1" {
		t.Fatalf("plain HTTP: %d Location %q, want 308 to %s/v1/children?limit=1", res.StatusCode, res.Header.Get("Location"), base)
	}
	// Profiling answers on its loopback address.
	res, err = plain.Get("http://" + addrs[3] + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("pprof index: %d", res.StatusCode)
	}

	p.signal(syscall.SIGTERM)
	if !p.wait(stopTimeout) {
		t.Fatalf("daisydog run did not exit within %v of SIGTERM", stopTimeout)
	}
	if p.err != nil {
		t.Errorf("daisydog run exited uncleanly after SIGTERM: %v", p.err)
	}
	if !strings.Contains(p.stderrText(), "profiling enabled") {
		t.Error("no warning that profiling is enabled")
	}
}

// TestCLIRefusesBadInvocations: the binary's commands answer a wrong
// invocation with an error exit and say why.
func TestCLIRefusesBadInvocations(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	dir := t.TempDir()
	addrs := freeAddrs(t, 2) // never the default ports: the machine is shared
	out, err := cli("version")
	if err != nil || !strings.HasPrefix(out, "daisydog ") {
		t.Fatalf("version: %q %v", out, err)
	}
	if out, err := cli("help"); err != nil || !strings.Contains(out, "Usage") {
		t.Fatalf("help: %v\n%s", err, out)
	}
	cases := []struct {
		name string
		args []string
		want string // in the error (stderr)
	}{
		{"unknown command", []string{"fly"}, `unknown command "fly"`},
		{"smtp flags without an address", []string{"run", "--data", filepath.Join(dir, "b"), "--http", addrs[0], "--raft", addrs[1], "--smtp-from", "a@b.test"}, "--smtp-addr"},
		{"smtp and outbox together", []string{"run", "--data", filepath.Join(dir, "c"), "--http", addrs[0], "--raft", addrs[1],
			"--smtp-addr", "127.0.0.1:1", "--smtp-from", "a@b.test", "--mail-outbox", filepath.Join(dir, "o")}, "exclude"},
		{"serve an empty directory", []string{"serve", "--data", filepath.Join(dir, "empty")}, ""},
		{"join without a token", []string{"join", "--data", filepath.Join(dir, "d"), "--join", "127.0.0.1:1"}, ""},
		{"admin create without an e-mail", []string{"admin", "create", "--data", filepath.Join(dir, "e")}, ""},
		{"cluster status of nothing", []string{"cluster", "status", "--data", filepath.Join(dir, "none")}, ""},
	}
	// Files the cases below refer to.
	garbage := filepath.Join(dir, "garbage")
	shortToken := filepath.Join(dir, "short.token")
	casesFile := filepath.Join(dir, "cases.jsonl")
	badLine := filepath.Join(dir, "bad-line.jsonl")
	badLabel := filepath.Join(dir, "bad-label.jsonl")
	for path, body := range map[string]string{
		garbage:    "not a key, a certificate or a bundle\n",
		shortToken: "short\n",
		casesFile:  `{"id":"c:1","source":"s","text":"I like my dog","label":"safe","category":"none","direction":"input"}` + "\n",
		badLine:    "\n{\"id\":\n",
		badLabel:   `{"id":"c:1","source":"s","text":"I like my dog","label":"maybe","category":"none","direction":"input"}` + "\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	none := filepath.Join(dir, "no-such-file")
	serveOn := func(sub string, extra ...string) []string {
		return append([]string{sub, "--data", filepath.Join(dir, sub+"-"+randLetters(6)), "--http", addrs[0], "--raft", addrs[1]}, extra...)
	}
	unreachable := "https://" + addrs[0] // nothing listens there
	// Servers that are not DaisyDog: one answers 404 to everything, one
	// the API's error envelope.
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":{"code":"forbidden","message":"sign-ups are closed"}}`)
	}))
	defer refusing.Close()
	admin := func(sub string, extra ...string) []string {
		return append([]string{"policy", sub}, append(extra, "--url", unreachable, "--token", "t")...)
	}
	cases = append(cases, []struct {
		name string
		args []string
		want string
	}{
		// Serving flags that are wrong on their face: refused before serving.
		{"a bad log level", serveOn("run", "--log-level", "loud"), "--log-level"},
		{"--admin-allow with a non-address", serveOn("run", "--admin-allow", "10.0.0.1,not-an-ip"), `--admin-allow: "not-an-ip"`},
		{"--admin-allow with a bad prefix", serveOn("run", "--admin-allow", "10.0.0.0/33"), `--admin-allow: "10.0.0.0/33"`},
		{"a metrics token file that is missing", serveOn("run", "--metrics-token-file", none), "--metrics-token-file"},
		{"a metrics token that is too short", serveOn("run", "--metrics-token-file", shortToken), "at least 16 characters"},
		{"profiling on a public address", serveOn("run", "--pprof", "0.0.0.0:6060"), "--pprof must be a loopback address"},
		{"profiling on no address", serveOn("init", "--pprof", "nowhere"), "--pprof"},
		{"an AI model without a provider", serveOn("run", "--ai-model", "m"), "need --ai-url"},
		{"an AI budget below one", serveOn("run", "--ai-url", "http://127.0.0.1:1/v1", "--ai-model", "m", "--ai-daily-budget", "0"), "--ai-daily-budget must be at least 1"},
		{"an AI key file that is missing", serveOn("run", "--ai-url", "http://127.0.0.1:1/v1", "--ai-model", "m", "--ai-key-file", none), "--ai-key-file"},
		{"an AI provider that is not an http(s) URL", serveOn("run", "--ai-url", "ftp://127.0.0.1/v1", "--ai-model", "m"), "absolute http(s) URL"},
		{"an AI provider URL with credentials", serveOn("run", "--ai-url", "http://user:secret@127.0.0.1:1/v1", "--ai-model", "m"), "not the URL"},
		{"an AI provider without a model", serveOn("run", "--ai-url", "http://127.0.0.1:1/v1", "--ai-key-file", shortToken), "model is required"},
		{"an AI timeout over a minute", serveOn("run", "--ai-url", "http://127.0.0.1:1/v1", "--ai-model", "m", "--ai-timeout", "2m"), "timeout must be between"},
		{"an SMTP address without a port", serveOn("run", "--smtp-addr", "mail.example.test", "--smtp-from", "a@b.test"), "host:port"},
		{"an SMTP sender with a display name", serveOn("run", "--smtp-addr", "127.0.0.1:25", "--smtp-from", "Daisy <a@b.test>"), "plain address"},
		{"SMTP without a sender", serveOn("run", "--smtp-addr", "127.0.0.1:1"), "--smtp-from is required"},
		{"an SMTP user without a password", serveOn("run", "--smtp-addr", "127.0.0.1:1", "--smtp-from", "a@b.test", "--smtp-user", "u"), "needs a password"},
		{"an SMTP password file that is missing", serveOn("run", "--smtp-addr", "127.0.0.1:1", "--smtp-from", "a@b.test", "--smtp-user", "u", "--smtp-password-file", none), "--smtp-password-file"},
		{"init without a directory", []string{"init"}, "--data is required"},
		{"init with a policy key file that is missing", serveOn("init", "--no-serve", "--node-id", "n1", "--policy-key", none), "no such file"},
		{"init with a policy key that is not one", serveOn("init", "--no-serve", "--node-id", "n1", "--policy-key", garbage), "policy key"},
		{"join with a garbage token", serveOn("join", "--no-serve", "--node-id", "n2", "--join", addrs[0], "--token", "nonsense"), "token"},
		{"serve without a directory", []string{"serve"}, "--data is required"},
		// bench: refused before it sends anything.
		{"bench without targets", []string{"bench"}, "--targets is required"},
		{"bench at a non-base URL", []string{"bench", "--targets", "ftp://127.0.0.1:1/x"}, "is not a base URL"},
		{"bench with an unknown operation", []string{"bench", "--targets", unreachable, "--mix", "dance:1"}, `mix entry "dance:1"`},
		{"bench with no weight", []string{"bench", "--targets", unreachable, "--mix", "chat:0"}, "no positive weight"},
		{"bench with too many children", []string{"bench", "--targets", unreachable, "--children", "20000"}, "at most 10000 children"},
		{"bench with a negative duration", []string{"bench", "--targets", unreachable, "--duration", "-1s"}, "negative"},
		{"bench open loop with think-min above think-max", []string{"bench", "--targets", unreachable, "--open", "--think-min", "2s", "--think-max", "1s"}, "ThinkMin"},
		{"bench with a metrics token file that is missing", []string{"bench", "--targets", unreachable, "--metrics-token-file", none}, "no such file"},
		{"bench against a server that is not DaisyDog", []string{"bench", "--targets", notFound.URL, "--children", "1", "--duration", "1s"}, "HTTP 404"},
		{"bench against a server refusing sign-ups", []string{"bench", "--targets", refusing.URL, "--children", "1", "--duration", "1s"}, "HTTP 403 forbidden: sign-ups are closed"},
		{"bench against nothing", []string{"bench", "--targets", unreachable, "--children", "1", "--duration", "1s"}, "connection refused"},
		// policy: local tools.
		{"policy without a subcommand", []string{"policy"}, "missing subcommand"},
		{"policy with an unknown subcommand", []string{"policy", "frob"}, `unknown subcommand "frob"`},
		{"policy score without cases", []string{"policy", "score"}, "--data FILE is required"},
		{"policy score of a module and a bundle", []string{"policy", "score", "--cases", casesFile, "--module", garbage, "--bundle", garbage}, "not both"},
		{"policy score with a key and no bundle", []string{"policy", "score", "--cases", casesFile, "--pub", garbage}, "--pub needs --bundle"},
		{"policy score of a missing cases file", []string{"policy", "score", "--cases", none}, "no such file"},
		{"policy score of an unknown half", []string{"policy", "score", "--cases", casesFile, "--half", "middle"}, `unknown half "middle"`},
		{"policy score of a garbage bundle", []string{"policy", "score", "--cases", casesFile, "--bundle", garbage}, "policy score: " + garbage},
		{"policy score of a garbage module", []string{"policy", "score", "--cases", casesFile, "--module", garbage}, ""},
		{"policy score of a malformed cases line", []string{"policy", "score", "--cases", badLine}, "eval: line 2"},
		{"policy score of an unknown label", []string{"policy", "score", "--cases", badLabel}, `unknown label "maybe"`},
		{"policy train without an output", []string{"policy", "train", "--cases", casesFile}, "--cases FILE and --out FILE are required"},
		{"policy train with too few hash bits", []string{"policy", "train", "--cases", casesFile, "--out", filepath.Join(dir, "m.bin"), "--bits", "4"}, "are required"},
		{"policy train of a missing cases file", []string{"policy", "train", "--cases", none, "--out", filepath.Join(dir, "m.bin")}, "no such file"},
		{"policy train of an unknown label", []string{"policy", "train", "--cases", badLabel, "--out", filepath.Join(dir, "m.bin")}, `unknown label "maybe"`},
		{"policy keygen without a prefix", []string{"policy", "keygen"}, "--out PREFIX is required"},
		{"policy bundle without its inputs", []string{"policy", "bundle", "--name", "x"}, "are required"},
		{"policy bundle of a missing module", []string{"policy", "bundle", "--module", none, "--vectors", casesFile, "--name", "x", "--version", "1", "--key", garbage, "-o", filepath.Join(dir, "x.ddpb")}, "no such file"},
		{"policy bundle with a garbage key", []string{"policy", "bundle", "--module", garbage, "--vectors", casesFile, "--name", "x", "--version", "1", "--key", garbage, "-o", filepath.Join(dir, "x.ddpb")}, ""},
		// policy: lifecycle commands refused before or at the request.
		{"policy push without a node", []string{"policy", "push", garbage}, "--url and --token"},
		{"policy push over plain HTTP", []string{"policy", "push", garbage, "--url", "http://" + addrs[0], "--token", "t"}, "--url must be https"},
		{"policy push with a CA file that holds no certificate", append(admin("push", garbage), "--ca", garbage), "no PEM certificate"},
		{"policy push of two files", admin("push", garbage, garbage), "expected one BUNDLE file"},
		{"policy push of a missing file", admin("push", none), "no such file"},
		{"policy push to a node that is not there", admin("push", garbage), "connection refused"},
		{"policy activate without a version", admin("activate"), "expected NAME@VERSION"},
		{"policy shadow without a version", admin("shadow"), "expected NAME@VERSION or --off"},
		{"policy unstage without a version", admin("unstage"), "expected NAME@VERSION"},
		{"policy rollback with an argument", admin("rollback", "words@1"), "expected no arguments"},
		{"policy trust without a key", admin("trust"), "--pub FILE is required"},
		{"policy trust of a missing key", admin("trust", "--pub", none), "no such file"},
		{"policy untrust without a key id", admin("untrust"), "expected KEY_ID"},
		// admin, audit, cluster.
		{"admin without a subcommand", []string{"admin"}, "admin needs a subcommand: create"},
		{"admin create on an empty directory", []string{"admin", "create", "--data", filepath.Join(dir, "none"), "--email", "a@b.test"}, "no node in"},
		{"audit without verify", []string{"audit"}, "usage: daisydog audit verify"},
		{"audit verify without a directory", []string{"audit", "verify"}, "--data is required"},
		{"audit verify of an empty directory", []string{"audit", "verify", "--data", filepath.Join(dir, "none")}, "audit log FAILED verification"},
		{"cluster without a subcommand", []string{"cluster"}, "cluster needs a subcommand"},
		{"cluster status without a directory", []string{"cluster", "status"}, "--data is required"},
		{"cluster token of nothing", []string{"cluster", "token", "--data", filepath.Join(dir, "none")}, "no node in"},
	}...)
	// Four at a time: each is a short-lived process.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := cli(c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: daisydog %v: %v, want a failure mentioning %q", c.name, c.args, err, c.want)
			}
		})
	}
	wg.Wait()

	// init --no-serve creates a node with a trusted policy key and prints
	// its join token, which `cluster token` prints again; init of the same
	// directory as another node is refused, and the key file is kept.
	keyPrefix := filepath.Join(dir, "signer")
	if out, err := cli("policy", "keygen", "--out", keyPrefix); err != nil {
		t.Fatalf("policy keygen: %v\n%s", err, out)
	}
	if _, err := cli("policy", "keygen", "--out", keyPrefix); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("policy keygen over an existing key: %v, want a refusal", err)
	}
	nodeDir := filepath.Join(dir, "node")
	out, err = cli("init", "--no-serve", "--data", nodeDir, "--node-id", "n1", "--http", addrs[0], "--raft", addrs[1], "--policy-key", keyPrefix+".pub")
	if err != nil {
		t.Fatalf("init --no-serve: %v\n%s", err, out)
	}
	tok := regexp.MustCompile(`ddj1\.\S+`).FindString(out)
	if tok == "" {
		t.Fatalf("init printed no join token:\n%s", out)
	}
	if got, err := cli("cluster", "token", "--data", nodeDir); err != nil || strings.TrimSpace(got) != tok {
		t.Fatalf("cluster token: %q %v, want the token init printed (%s)", got, err, tok)
	}
	pub, err := os.ReadFile(keyPrefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := os.ReadFile(filepath.Join(nodeDir, "keys", "policy-signing.pub")); err != nil || !bytes.Equal(kept, pub) {
		t.Fatalf("the --policy-key was not kept for the node: %v", err)
	}
	if _, err := cli("init", "--no-serve", "--data", nodeDir, "--node-id", "n2", "--http", addrs[0], "--raft", addrs[1]); err == nil || !strings.Contains(err.Error(), `already holds node "n1"`) {
		t.Fatalf("init of n1's directory as n2: %v, want a refusal", err)
	}
	if _, err := cli("cluster", "frob", "--data", nodeDir); err == nil || !strings.Contains(err.Error(), `unknown cluster subcommand "frob"`) {
		t.Fatalf("cluster frob: %v", err)
	}

	// Against the stopped node: the CLI says what is missing or unreachable.
	vectors := filepath.Join(dir, "vectors.json")
	if err := os.WriteFile(vectors, []byte(`{"abi":1,"policy":"x","vectors":[{"name":"v","input":{"text":"hi","direction":"in","age_tier":"5-8"},"expect":{"action":"allow","categories":[]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	unwritten := filepath.Join(dir, "unwritten.ddpb")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no command at all", nil, "Usage"},
		{"cluster remove without a node", []string{"cluster", "remove", "--data", nodeDir}, "usage: daisydog cluster remove"},
		{"cluster status of a node that is not running", []string{"cluster", "status", "--data", nodeDir}, "connection refused"},
		{"admin create with no password on stdin, the node not running", []string{"admin", "create", "--data", nodeDir, "--email", "a@b.test"}, "connection refused"},
		{"policy bundle of a module that is not one", []string{"policy", "bundle", "--module", garbage, "--vectors", vectors, "--name", "x", "--version", "1", "--key", keyPrefix + ".key", "-o", unwritten}, "policy bundle: not written"},
		{"policy bundle with vectors that are not vectors", []string{"policy", "bundle", "--module", garbage, "--vectors", casesFile, "--name", "x", "--version", "1", "--key", keyPrefix + ".key", "-o", unwritten}, "vectors"},
		{"policy bundle of a missing data directory", []string{"policy", "bundle", "--module", garbage, "--vectors", vectors, "--data", none, "--name", "x", "--version", "1", "--key", keyPrefix + ".key", "-o", unwritten}, "no such file"},
		{"policy bundle of a missing vectors file", []string{"policy", "bundle", "--module", garbage, "--vectors", none, "--name", "x", "--version", "1", "--key", keyPrefix + ".key", "-o", unwritten}, "no such file"},
	} {
		if _, err := cli(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: daisydog %v: %v, want a failure mentioning %q", c.name, c.args, err, c.want)
		}
	}
	if _, err := os.Stat(unwritten); !os.IsNotExist(err) {
		t.Errorf("a refused bundle was written: %v", err)
	}
	if out, err := cli("policy", "help"); err != nil || !strings.Contains(out, "policy push") {
		t.Errorf("policy help: %v\n%s", err, out)
	}
}
