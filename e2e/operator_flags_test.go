package e2e

import (
	"bufio"
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
			if secure {
				reply("250-smtp.stand-in")
				reply("250 AUTH PLAIN")
			} else {
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
	smtpSrv, caFile := newSMTPStandIn(t, "mailer", "smtp secret "+randLetters(8))
	t.Setenv("SSL_CERT_FILE", caFile) // the node trusts the stand-in's certificate
	e := newEnv(t)
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
	for _, c := range cases {
		_, err := cli(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: daisydog %v: %v, want a failure mentioning %q", c.name, c.args, err, c.want)
		}
	}
}
