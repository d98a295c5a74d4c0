package e2e

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAttackerProbes is the project's own penetration test of a running
// node (the real binary, over the network, as an attacker on the same
// network would reach it): each probe is something an attacker, a buggy
// client or a curious child would try, and the answer the node must give.
// docs/security.md "Probes against a running node" lists them; an external
// penetration test is still the operator's to commission.
func TestAttackerProbes(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	// --auth-rate -1: no per-address token bucket, as for an attacker with
	// many addresses (every request here comes from 127.0.0.1); the
	// defences probed are the node's others.
	// --memory-limit: a node under attack holds its memory to what the
	// operator gave it (checked on /metrics below).
	c := startCluster(t, 1, "--cors-origins", "https://console.example.test", "--auth-rate", "-1", "--memory-limit", "1.5GiB")
	n := c.nodes[0]
	c.waitLeader(c.nodes, 0)
	a, b := c.newFamily(n, "", ""), c.newFamily(n, "", "")
	c.chatUntilAcked(n, a, "hello daisy, my favourite food is pancakes", 30*time.Second)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(c.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	api := c.api

	t.Run("plain HTTP on the HTTPS port gets no data", func(t *testing.T) {
		res, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + n.httpAddr + "/v1/children")
		if err != nil {
			return // the connection refused or closed: nothing served
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || bytes.Contains(body, []byte("{")) {
			t.Fatalf("plain HTTP answered %d %q, want 400 without data", res.StatusCode, body)
		}
	})

	t.Run("TLS older than 1.2 is refused", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.httpAddr,
				&tls.Config{RootCAs: pool, MinVersion: v, MaxVersion: v})
			if err == nil {
				conn.Close()
				t.Fatalf("a TLS %x handshake succeeded", v)
			}
		}
	})

	t.Run("the cluster port refuses a client without a node certificate", func(t *testing.T) {
		own, err := tls.LoadX509KeyPair(filepath.Join(n.dir, "tls", "node.crt"), filepath.Join(n.dir, "tls", "node.key"))
		if err != nil {
			t.Fatal(err)
		}
		// The control: a node's own certificate gets an answer.
		if !clusterPortAnswers(t, n.raftAddr, &tls.Config{RootCAs: pool, ServerName: n.id, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{own}}) {
			t.Fatal("the cluster port did not answer a client with a node certificate: the probes below would prove nothing")
		}
		other := selfSignedCert(t)
		for name, cfg := range map[string]*tls.Config{
			"no certificate":               {RootCAs: pool, ServerName: n.id, MinVersion: tls.VersionTLS12},
			"a certificate of another CA":  {RootCAs: pool, ServerName: n.id, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{other}},
			"not verifying the node's key": {InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{other}}, //nolint:gosec // the attacker's client
		} {
			if clusterPortAnswers(t, n.raftAddr, cfg) {
				t.Fatalf("%s: the cluster port answered an RPC", name)
			}
		}
	})

	t.Run("slow headers are cut off", func(t *testing.T) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.httpAddr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /v1/children HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = io.Copy(io.Discard, conn) // returns when the node closes the connection
		if el := time.Since(begin); err != nil || el > 20*time.Second {
			t.Fatalf("a request whose headers never end held the connection for %v (%v); want it closed after the 10 s header timeout", el.Round(time.Millisecond), err)
		}
	})

	t.Run("the operator's memory limit holds", func(t *testing.T) {
		v, ok := promSample(string(api.must(200, "GET", n.url("/metrics"), "", nil).Body), "daisydog_go_memory_limit_bytes")
		if !ok || v != 1.5*(1<<30) {
			t.Fatalf("daisydog_go_memory_limit_bytes = %v (present %t), want 1.5 GiB from --memory-limit", v, ok)
		}
	})

	t.Run("oversized headers and bodies", func(t *testing.T) {
		req, _ := http.NewRequest("GET", n.url("/v1/children"), nil)
		req.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
		res, err := api.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KiB of headers: %d, want 431", res.StatusCode)
		}
		big := map[string]string{"email": a.email, "password": strings.Repeat("p", 2<<20)}
		r, err := api.do("POST", n.url("/v1/auth/login"), "", big)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusRequestEntityTooLarge || errCode(r) == "" {
			t.Fatalf("a 2 MiB login body: %s, want 413 with an error code", r)
		}
	})

	t.Run("forged and altered tokens are refused", func(t *testing.T) {
		parts := strings.Split(a.parentToken, ".")
		if len(parts) != 3 {
			t.Fatalf("a parent token of %d parts", len(parts))
		}
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(claims, &m); err != nil {
			t.Fatal(err)
		}
		enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
		m["role"] = "admin"
		asAdmin := enc(m)
		m["role"], m["fam"] = "parent", "fa_someoneelse"
		otherFamily := enc(m)
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h map[string]any
		_ = json.Unmarshal(hdr, &h)
		h["alg"] = "none"
		sig := []byte(parts[2])
		sig[len(sig)/2] ^= 1
		for name, tok := range map[string]string{
			"role changed to admin":          parts[0] + "." + asAdmin + "." + parts[2],
			"another family, same signature": parts[0] + "." + otherFamily + "." + parts[2],
			"alg none, no signature":         enc(h) + "." + parts[1] + ".",
			"signature altered":              parts[0] + "." + parts[1] + "." + string(sig),
			"garbage":                        "not-a-token",
		} {
			for _, path := range []string{"/v1/children", "/v1/admin/staff"} {
				r, err := api.get(n.url(path), tok)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != http.StatusUnauthorized {
					t.Errorf("%s on %s: %s, want 401", name, path, r)
				}
			}
		}
		// The real token still works (the probes above changed nothing).
		api.must(200, "GET", n.url("/v1/children"), a.parentToken, nil)
	})

	t.Run("one family cannot reach another's child", func(t *testing.T) {
		for _, path := range []string{"/v1/children/" + a.childID + "/turns", "/v1/children/" + a.childID + "/settings",
			"/v1/children/" + a.childID + "/usage", "/v1/children/" + a.childID + "/link-codes"} {
			method := "GET"
			if strings.HasSuffix(path, "link-codes") {
				method = "POST"
			}
			r, err := api.do(method, n.url(path), b.parentToken, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
				t.Errorf("family B's parent: %s %s answered %s", method, path, r)
			}
			if bytes.Contains(r.Body, []byte("pancakes")) || bytes.Contains(r.Body, []byte(a.nickname)) {
				t.Errorf("family B's parent: %s %s leaked family A's data: %s", method, path, r)
			}
			// A child's device token is not a parent's.
			if r, _ := api.do(method, n.url(path), a.childToken, nil); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Errorf("family A's child device: %s %s answered %s", method, path, r)
			}
		}
		for _, path := range []string{"/v1/admin/staff", "/v1/moderation/summary", "/v1/admin/dashboard"} {
			if r, _ := api.get(n.url(path), a.parentToken); r.Status != http.StatusForbidden {
				t.Errorf("a parent on %s: %s, want 403", path, r)
			}
		}
	})

	t.Run("login does not tell which e-mails have an account", func(t *testing.T) {
		known, err := api.do("POST", n.url("/v1/auth/login"), "", map[string]string{"email": a.email, "password": "wrong password " + randLetters(6)})
		if err != nil {
			t.Fatal(err)
		}
		unknown, err := api.do("POST", n.url("/v1/auth/login"), "", map[string]string{"email": "nobody-" + randLetters(8) + "@example.test", "password": "wrong password " + randLetters(6)})
		if err != nil {
			t.Fatal(err)
		}
		if known.Status != unknown.Status || errCode(known) != errCode(unknown) || !bytes.Equal(known.Body, unknown.Body) {
			t.Fatalf("a wrong password answered %s, an unknown e-mail %s: they must be the same", known, unknown)
		}
		inj, err := api.do("POST", n.url("/v1/auth/login"), "", map[string]string{"email": "' OR '1'='1' --@example.test", "password": "' OR '1'='1"})
		if err != nil {
			t.Fatal(err)
		}
		if inj.Status == http.StatusOK {
			t.Fatalf("an SQL-injection login was let in: %s", inj)
		}
	})

	t.Run("parallel guesses stop at the lockout", func(t *testing.T) {
		// Bursts of wrong passwords for one account, as from many
		// addresses at once: a handful is checked, then the account locks
		// (and the right password is refused while it is locked).
		victim := c.newFamily(n, "", "")
		checked, locked := 0, false
		for round := 0; round < 20 && !locked; round++ {
			const burst = 8
			codes := make(chan string, burst)
			var wg sync.WaitGroup
			for range burst {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := api.do("POST", n.url("/v1/auth/login"), "", map[string]string{"email": victim.email, "password": "guess " + randLetters(10)})
					if err != nil {
						codes <- "transport: " + err.Error()
						return
					}
					codes <- errCode(r)
				}()
			}
			wg.Wait()
			close(codes)
			for code := range codes {
				switch code {
				case "invalid_credentials":
					checked++
				case "locked":
					locked = true
				case "login_in_progress":
				default:
					t.Fatalf("a guess answered %q", code)
				}
			}
		}
		if !locked || checked > 6 {
			t.Fatalf("locked %v after %d checked guesses; want locked after at most 6", locked, checked)
		}
		r, err := api.do("POST", n.url("/v1/auth/login"), "", map[string]string{"email": victim.email, "password": victim.password})
		if err != nil || r.Status != http.StatusTooManyRequests || errCode(r) != "locked" {
			t.Fatalf("the right password while locked: %v %s", err, r)
		}
	})

	t.Run("the web UI serves no file outside itself", func(t *testing.T) {
		for _, path := range []string{"/ui/../../../../etc/passwd", "/ui/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/ui/..%2f..%2f..%2fetc%2fpasswd",
			"/ui/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/ui/.git/config", "/ui/../go.mod"} {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.httpAddr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
			if err != nil {
				t.Fatal(err)
			}
			// Written by hand: an HTTP client would clean the path first.
			_, _ = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+n.httpAddr+"\r\nConnection: close\r\n\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				conn.Close()
				t.Fatalf("%s: %v", path, err)
			}
			body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			conn.Close()
			if res.StatusCode == http.StatusOK || bytes.Contains(body, []byte("root:")) || bytes.Contains(body, []byte("module daisydog")) || bytes.Contains(body, []byte("[core]")) {
				t.Errorf("%s answered %d (%d bytes): a file outside the UI", path, res.StatusCode, len(body))
			}
		}
	})

	t.Run("CORS only for the listed origin", func(t *testing.T) {
		for origin, allowed := range map[string]bool{"https://console.example.test": true, "https://evil.example": false, "null": false} {
			req, _ := http.NewRequest("OPTIONS", n.url("/v1/children"), nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "authorization")
			res, err := api.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got := res.Header.Get("Access-Control-Allow-Origin")
			if allowed != (got == origin) || got == "*" || res.Header.Get("Access-Control-Allow-Credentials") == "true" {
				t.Errorf("preflight from %s: Allow-Origin %q, Allow-Credentials %q", origin, got, res.Header.Get("Access-Control-Allow-Credentials"))
			}
		}
	})

	t.Run("joining with a guessed token is refused", func(t *testing.T) {
		r, err := api.do("POST", n.url("/internal/join"), "", map[string]string{"token": "ddj1." + strings.Repeat("ab", 32) + "." + strings.Repeat("cd", 32), "node_id": "intruder"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status < 400 || r.Status >= 500 || bytes.Contains(r.Body, []byte("BEGIN")) {
			t.Fatalf("a join with a guessed token: %s", r)
		}
	})
}

// clusterPortAnswers reports whether a client with cfg gets an answer from
// the cluster port's RPC (GET /v1/status, as a node asks it): a TLS
// handshake, the RPC protocol byte, then HTTP/1.1.
func clusterPortAnswers(t *testing.T, addr string, cfg *tls.Config) bool {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return false // refused in the handshake
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "FGET /v1/status HTTP/1.1\r\nHost: cluster\r\nConnection: close\r\n\r\n"); err != nil {
		return false
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return false // TLS 1.3: the server's refusal of the client certificate arrives here
	}
	res.Body.Close()
	return res.StatusCode < 400
}

// selfSignedCert is a key pair and certificate of the attacker's own
// making (no relation to the cluster's CA).
func selfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "n1"}, DNSNames: []string{"n1", "n2", "n3"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
