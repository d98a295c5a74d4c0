package raftcluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// newIdentity issues a node identity from ca through the public API
// (NewNodeKey, SignNode, LoadIdentity).
func newIdentity(t testing.TB, ca *CA, nodeID string) *Identity {
	t.Helper()
	keyPEM, csrPEM, err := NewNodeKey(nodeID)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNode(csrPEM, nodeID, []string{"node.example", "10.0.0.7"})
	if err != nil {
		t.Fatalf("SignNode: %v", err)
	}
	id, err := LoadIdentity(nodeID, ca.CertPEM, certPEM, keyPEM)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	return id
}

func newCA(t testing.TB, name string) *CA {
	t.Helper()
	ca, err := NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// rawCert issues a certificate from ca with an arbitrary subject (e.g. one
// that is not a node certificate) and returns it as a tls.Certificate.
func rawCert(t testing.TB, ca *CA, subject pkix.Name) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

type handshakeResult struct {
	serverErr, clientErr error
	clientState          tls.ConnectionState
	serverState          tls.ConnectionState
}

// handshake runs a real TLS handshake over loopback TCP. After the handshake
// the server sends one byte and the client reads it, so that a client
// certificate refused by the server (which TLS 1.3 reports only after the
// client's handshake finished) surfaces as a client error too.
func handshake(t *testing.T, server, client *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var res handshakeResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			res.serverErr = err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			res.serverErr = err
			return
		}
		res.serverState = tc.ConnectionState()
		_, res.serverErr = tc.Write([]byte{'!'})
		var b [1]byte
		_, _ = tc.Read(b[:]) // wait for the client to finish
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(raw, client)
	if err := tc.Handshake(); err != nil {
		res.clientErr = err
	} else {
		res.clientState = tc.ConnectionState()
		var b [1]byte
		if _, err := tc.Read(b[:]); err != nil {
			res.clientErr = err
		}
	}
	raw.Close()
	<-done
	return res
}

func TestCAAndSignNode(t *testing.T) {
	ca := newCA(t, "test")
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatal("CA certificate is not a signing CA")
	}
	if fp := ca.Fingerprint(); len(fp) != 64 || fp != ca.Fingerprint() {
		t.Fatalf("fingerprint %q", fp)
	}
	if other := newCA(t, "test"); other.Fingerprint() == ca.Fingerprint() {
		t.Fatal("two CAs share a fingerprint")
	}

	id := newIdentity(t, ca, "n1")
	leaf, err := x509.ParseCertificate(id.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "n1" || !slices.Contains(leaf.Subject.OrganizationalUnit, nodeOU) {
		t.Fatalf("subject = %v", leaf.Subject)
	}
	for _, dns := range []string{"localhost", "n1", "node.example"} {
		if !slices.Contains(leaf.DNSNames, dns) {
			t.Errorf("DNS SANs %v lack %q", leaf.DNSNames, dns)
		}
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	for _, ip := range []string{"127.0.0.1", "::1", "10.0.0.7"} {
		if !slices.Contains(ips, ip) {
			t.Errorf("IP SANs %v lack %s", ips, ip)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("node cert does not verify as a client cert: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("node cert does not verify as a server cert: %v", err)
	}

	// A CA reloaded from PEM with its key can still sign; without it, it cannot.
	re, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if re.Fingerprint() != ca.Fingerprint() {
		t.Fatal("reloaded CA differs")
	}
	_, csr, _ := NewNodeKey("n2")
	if _, err := re.SignNode(csr, "n2", nil); err != nil {
		t.Fatalf("reloaded CA cannot sign: %v", err)
	}
	verifyOnly, err := LoadCA(ca.CertPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyOnly.SignNode(csr, "n2", nil); err == nil {
		t.Fatal("a verify-only CA signed a certificate")
	}
}

func TestSignNodeRefusals(t *testing.T) {
	ca := newCA(t, "test")
	_, csrN2, err := NewNodeKey("n2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(csrN2)
	tampered := make([]byte, len(b.Bytes))
	copy(tampered, b.Bytes)
	tampered[len(tampered)-3] ^= 0xff // inside the signature
	tamperedPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})

	cases := []struct {
		name   string
		csr    []byte
		nodeID string
		want   string
	}{
		{"CSR names another node", csrN2, "n1", "not node"},
		{"CSR names a prefix of the node", csrN2, "n", "not node"},
		{"not PEM", []byte("hello"), "n2", "not PEM"},
		{"bad signature", tamperedPEM, "n2", "CSR"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}}), "n2", "CSR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := ca.SignNode(tc.csr, tc.nodeID, nil)
			if err == nil {
				t.Fatalf("signed: %s", cert)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	ca := newCA(t, "test")
	id := newIdentity(t, ca, "n1")
	otherKey, _, _ := NewNodeKey("n1")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Certificate[0]})
	if _, err := LoadIdentity("n1", ca.CertPEM, certPEM, otherKey); err == nil {
		t.Error("LoadIdentity accepted a key that does not match the certificate")
	}
	if _, err := LoadIdentity("n1", []byte("nope"), certPEM, otherKey); err == nil {
		t.Error("LoadIdentity accepted a non-PEM CA")
	}
	if _, err := LoadCA([]byte("nope"), nil); err == nil {
		t.Error("LoadCA accepted non-PEM")
	}
	if _, err := LoadCA(ca.CertPEM, []byte("nope")); err == nil {
		t.Error("LoadCA accepted a non-PEM key")
	}
}

func TestClusterTLS(t *testing.T) {
	ca := newCA(t, "test")
	otherCA := newCA(t, "other")
	n1 := newIdentity(t, ca, "n1")
	n2 := newIdentity(t, ca, "n2")
	foreign := newIdentity(t, otherCA, "n2") // right name, wrong CA
	// A server presenting a foreign certificate but trusting our CA for
	// clients, so only the client's check of the server can fail.
	foreignServer := &Identity{NodeID: "n2", CA: ca, Cert: foreign.Cert}
	// And the converse: a client trusting our CA but presenting a foreign certificate.
	foreignClient := &Identity{NodeID: "n2", CA: ca, Cert: foreign.Cert}
	notNode := &Identity{NodeID: "n2", CA: ca, Cert: rawCert(t, ca, pkix.Name{CommonName: "n2"})}
	wrongOU := &Identity{NodeID: "n2", CA: ca, Cert: rawCert(t, ca, pkix.Name{CommonName: "n2", OrganizationalUnit: []string{"daisydog-admin"}})}
	noCN := &Identity{NodeID: "", CA: ca, Cert: rawCert(t, ca, pkix.Name{OrganizationalUnit: []string{nodeOU}})}

	noCert := n1.ClientTLS("")
	noCert.GetClientCertificate = nil
	tls12 := n1.ClientTLS("")
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	const (
		none = iota
		byServer
		byClient
	)
	cases := []struct {
		name      string
		server    *tls.Config
		client    *tls.Config
		refusedBy int
	}{
		{"valid pair", n2.ServerTLS(), n1.ClientTLS("n2"), none},
		{"valid pair, any node", n2.ServerTLS(), n1.ClientTLS(""), none},
		{"client from another CA", n2.ServerTLS(), foreignClient.ClientTLS(""), byServer},
		{"server from another CA", foreignServer.ServerTLS(), n1.ClientTLS(""), byClient},
		{"server is not the expected node", n2.ServerTLS(), n1.ClientTLS("n3"), byClient},
		{"client without certificate", n2.ServerTLS(), noCert, byServer},
		{"client cert without node OU", n2.ServerTLS(), notNode.ClientTLS(""), byServer},
		{"client cert with another OU", n2.ServerTLS(), wrongOU.ClientTLS(""), byServer},
		{"client cert without CN", n2.ServerTLS(), noCN.ClientTLS(""), byServer},
		{"server cert without node OU", notNode.ServerTLS(), n1.ClientTLS(""), byClient},
		{"server cert without node OU, expected ID", notNode.ServerTLS(), n1.ClientTLS("n2"), byClient},
		{"client offering only TLS 1.2", n2.ServerTLS(), tls12, byServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := handshake(t, tc.server, tc.client)
			switch tc.refusedBy {
			case none:
				if res.serverErr != nil || res.clientErr != nil {
					t.Fatalf("handshake failed: server %v, client %v", res.serverErr, res.clientErr)
				}
				if res.clientState.Version != tls.VersionTLS13 || res.serverState.Version != tls.VersionTLS13 {
					t.Errorf("negotiated %s/%s, want TLS 1.3", tls.VersionName(res.clientState.Version), tls.VersionName(res.serverState.Version))
				}
				if got, err := peerNodeID(res.serverState); err != nil || got != "n1" {
					t.Errorf("server sees peer %q (%v), want n1", got, err)
				}
				if got, err := peerNodeID(res.clientState); err != nil || got != "n2" {
					t.Errorf("client sees peer %q (%v), want n2", got, err)
				}
			case byServer:
				if res.serverErr == nil || isRemoteAlert(res.serverErr) {
					t.Errorf("server error = %v, want the server to refuse the client", res.serverErr)
				}
				if res.clientErr == nil {
					t.Error("client saw no error")
				}
			case byClient:
				if res.clientErr == nil || isRemoteAlert(res.clientErr) {
					t.Errorf("client error = %v, want the client to refuse the server", res.clientErr)
				}
				if res.serverErr == nil {
					t.Error("server saw no error")
				}
			}
		})
	}
}

// isRemoteAlert reports whether err is an alert received from the peer (as
// opposed to a local verification failure).
func isRemoteAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

func TestPeerNodeIDWithoutCertificate(t *testing.T) {
	if _, err := peerNodeID(tls.ConnectionState{}); err == nil {
		t.Fatal("peerNodeID accepted a connection without certificates")
	}
}

// TestRenewNodeAndSwapCertificate: a renewed node certificate keeps the
// node ID and hosts, has a new key and a later expiry, and once set is what
// both ends of a real handshake present (server and client), while the
// configs built before the swap are reused unchanged.
func TestRenewNodeAndSwapCertificate(t *testing.T) {
	ca := newCA(t, "test")
	// Certificates that expire within the hour, as if issued two years ago.
	short := func(id string) *Identity {
		return &Identity{NodeID: id, CA: ca, Cert: rawCert(t, ca, pkix.Name{CommonName: id, OrganizationalUnit: []string{nodeOU}})}
	}
	server, client := short("n1"), short("n2")
	serverTLS, clientTLS := server.ServerTLS(), client.ClientTLS("n1")
	before := handshake(t, serverTLS, clientTLS)
	if before.serverErr != nil || before.clientErr != nil {
		t.Fatalf("handshake: server %v, client %v", before.serverErr, before.clientErr)
	}
	old, err := server.Leaf()
	if err != nil {
		t.Fatal(err)
	}

	for _, id := range []*Identity{server, client} {
		leaf, err := id.Leaf()
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := ca.RenewNode(leaf)
		if err != nil {
			t.Fatalf("RenewNode: %v", err)
		}
		renewed, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		if len(renewed.Certificate) != 2 {
			t.Fatalf("renewed chain has %d certificates, want node and CA", len(renewed.Certificate))
		}
		nl := renewed.Leaf
		if nl.Subject.CommonName != leaf.Subject.CommonName || !slices.Equal(nl.Subject.OrganizationalUnit, leaf.Subject.OrganizationalUnit) {
			t.Fatalf("renewed certificate names %v, was %v", nl.Subject, leaf.Subject)
		}
		for _, h := range leaf.DNSNames {
			if !slices.Contains(nl.DNSNames, h) {
				t.Errorf("renewed certificate lost host %q: %v", h, nl.DNSNames)
			}
		}
		for _, ip := range leaf.IPAddresses {
			if !slices.ContainsFunc(nl.IPAddresses, ip.Equal) {
				t.Errorf("renewed certificate lost address %v: %v", ip, nl.IPAddresses)
			}
		}
		if nl.SerialNumber.Cmp(leaf.SerialNumber) == 0 || string(nl.RawSubjectPublicKeyInfo) == string(leaf.RawSubjectPublicKeyInfo) {
			t.Fatal("renewal reused the serial number or the key")
		}
		if !nl.NotAfter.After(leaf.NotAfter) {
			t.Fatalf("renewed certificate expires %v, not after %v", nl.NotAfter, leaf.NotAfter)
		}
		if _, err := nl.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("renewed certificate does not verify against the CA: %v", err)
		}
		if err := id.SetCertificate(renewed); err != nil {
			t.Fatal(err)
		}
	}

	after := handshake(t, serverTLS, clientTLS)
	if after.serverErr != nil || after.clientErr != nil {
		t.Fatalf("handshake after renewal: server %v, client %v", after.serverErr, after.clientErr)
	}
	if got := after.clientState.PeerCertificates[0]; got.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Fatal("the server still presents the old certificate")
	}
	if cur, _ := server.Leaf(); after.clientState.PeerCertificates[0].SerialNumber.Cmp(cur.SerialNumber) != 0 {
		t.Fatal("the server presents a certificate other than its current one")
	}
	if cur, _ := client.Leaf(); after.serverState.PeerCertificates[0].SerialNumber.Cmp(cur.SerialNumber) != 0 {
		t.Fatal("the client presents a certificate other than its current one")
	}

	// A certificate of another node is refused.
	other := newIdentity(t, ca, "n3")
	if err := server.SetCertificate(other.Cert); err == nil {
		t.Fatal("an identity took another node's certificate")
	}
	if err := server.SetCertificate(tls.Certificate{}); err == nil {
		t.Fatal("an identity took an empty certificate")
	}
}

// TestTrustFollowsSetTrust: the CAs a node accepts change for every new
// handshake with SetTrust, on both ends, using configs built before the
// change (a CA rotation); SetCA changes the issuer the node reports.
func TestTrustFollowsSetTrust(t *testing.T) {
	oldCA, newCA := newCA(t, "old"), newCA(t, "new")
	server := newIdentity(t, oldCA, "n2")
	client := newIdentity(t, oldCA, "n1")
	movedClient := newIdentity(t, newCA, "n1") // n1 after the switch
	movedClient.SetTrust(oldCA.Cert, newCA.Cert)
	serverCfg, clientCfg, movedCfg := server.ServerTLS(), client.ClientTLS("n2"), movedClient.ClientTLS("n2")
	ok := func(name string, res handshakeResult) {
		t.Helper()
		if res.serverErr != nil || res.clientErr != nil {
			t.Fatalf("%s: server %v, client %v", name, res.serverErr, res.clientErr)
		}
	}
	refusedByServer := func(name string, res handshakeResult) {
		t.Helper()
		if res.serverErr == nil || isRemoteAlert(res.serverErr) {
			t.Fatalf("%s: server error %v, want the server to refuse", name, res.serverErr)
		}
	}
	ok("before the rotation", handshake(t, serverCfg, clientCfg))
	refusedByServer("a new-CA client before the server trusts the new CA", handshake(t, serverCfg, movedCfg))
	if err := server.SetTrust(oldCA.Cert, newCA.Cert); err != nil { // stage
		t.Fatal(err)
	}
	ok("old-CA client while both are trusted", handshake(t, serverCfg, clientCfg))
	ok("new-CA client while both are trusted", handshake(t, serverCfg, movedCfg))
	if err := server.SetTrust(newCA.Cert); err != nil { // finish
		t.Fatal(err)
	}
	refusedByServer("old-CA client after the finish", handshake(t, serverCfg, clientCfg))
	// The client side: a client trusting the new CA alone refuses a server
	// still presenting an old-CA certificate.
	movedClient.SetTrust(newCA.Cert)
	if res := handshake(t, serverCfg, movedCfg); res.clientErr == nil || isRemoteAlert(res.clientErr) {
		t.Fatalf("client trusting the new CA alone accepted an old-CA server: %v", res.clientErr)
	}

	if got := server.Trusted(); len(got) != 1 || got[0] != newCA.Fingerprint() {
		t.Fatalf("Trusted() = %v", got)
	}
	if got := client.IssuerFingerprint(); got != oldCA.Fingerprint() {
		t.Fatalf("IssuerFingerprint() = %q, want the old CA", got)
	}
	if got := server.IssuerFingerprint(); got != "" {
		t.Fatalf("an old-CA certificate with only the new CA trusted: issuer %q, want none", got)
	}
	if server.CurrentCA().Fingerprint() != oldCA.Fingerprint() {
		t.Fatal("CurrentCA before SetCA is not the loaded CA")
	}
	server.SetCA(newCA)
	if server.CurrentCA() != newCA {
		t.Fatal("CurrentCA after SetCA")
	}
	if err := server.SetTrust(); err == nil {
		t.Fatal("SetTrust with no CA was accepted")
	}
	leafOnly := newIdentity(t, newCA, "n3")
	if err := server.SetTrust(leafOnly.Cert.Leaf); err == nil {
		t.Fatal("SetTrust with a node certificate was accepted")
	}
}

// TestSetTrustClosesConnections: connections on the cluster port (through
// the real mux and dialer) are kept by the identities at both ends while
// open; a trust that still accepts the peer's certificate leaves them
// alone; one that does not ends them — a Raft connection this node serves
// at once, one it dialled at the first write of its next message, before
// sending anything — and closing a connection forgets it.
func TestSetTrustClosesConnections(t *testing.T) {
	oldCA, newCA := newCA(t, "old"), newCA(t, "new")
	server, client := newIdentity(t, oldCA, "n2"), newIdentity(t, oldCA, "n1")
	m, err := newMux("127.0.0.1:0", server, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := &dialer{id: client}
	connect := func() (net.Conn, net.Conn) {
		t.Helper()
		cc, err := d.dial(context.Background(), m.ln.Addr().String(), protoRaft)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := m.raft.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return cc, sc
	}
	alive := func(name string, from, to net.Conn) {
		t.Helper()
		if _, err := from.Write([]byte("x")); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
		var b [1]byte
		_ = to.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(to, b[:]); err != nil {
			t.Fatalf("%s: read: %v", name, err)
		}
	}
	closed := func(name string, c net.Conn) {
		t.Helper()
		var b [1]byte
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(b[:])
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the connection is still open (read: %v)", name, err)
		}
	}

	cc, sc := connect()
	if server.live.len() != 1 || client.live.len() != 1 {
		t.Fatalf("tracked: server %d, client %d; want 1 and 1", server.live.len(), client.live.len())
	}
	alive("before any change", cc, sc)
	if err := server.SetTrust(oldCA.Cert, newCA.Cert); err != nil { // a stage: the old CA still trusted
		t.Fatal(err)
	}
	alive("while both CAs are trusted", cc, sc)
	if err := server.SetTrust(newCA.Cert); err != nil { // a finish
		t.Fatal(err)
	}
	closed("the served end after the finish", sc)
	closed("the dialled end after the server closed it", cc)
	if server.live.len() != 0 {
		t.Fatalf("server still tracks %d connections", server.live.len())
	}
	cc.Close()
	if client.live.len() != 0 {
		t.Fatalf("client still tracks %d connections after closing its end", client.live.len())
	}

	// The dialling side stops trusting the CA of the server's certificate:
	// a message being written is finished; the next one fails before
	// sending anything, and the connection closes.
	if err := server.SetTrust(oldCA.Cert); err != nil {
		t.Fatal(err)
	}
	cc, sc = connect()
	defer sc.Close()
	if _, err := cc.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := client.SetTrust(newCA.Cert); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Write([]byte("b")); err != nil {
		t.Fatalf("the rest of a message being written when the trust changed: %v", err)
	}
	var ab [2]byte
	_ = sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(sc, ab[:]); err != nil || string(ab[:]) != "ab" {
		t.Fatalf("the served end read %q, %v", ab, err)
	}
	alive("the answer to it", sc, cc)
	if n, err := cc.Write([]byte("c")); n != 0 || !errors.Is(err, errUntrustedPeer) {
		t.Fatalf("the next message after the client stopped trusting the server: %d, %v", n, err)
	}
	closed("the served end after the dialled end closed", sc)
	if client.live.len() != 0 {
		t.Fatalf("client still tracks %d connections", client.live.len())
	}
}

// TestSetTrustLetsARequestFinish: an RPC connection this node serves
// whose client is no longer trusted is closed once the request in flight
// has been answered ("Connection: close"), not in the middle of it; one
// that stays idle is closed after a grace period; the clients' next
// requests need a new handshake, which the server refuses.
func TestSetTrustLetsARequestFinish(t *testing.T) {
	oldCA, newCA := newCA(t, "old"), newCA(t, "new")
	server, busy, quiet := newIdentity(t, oldCA, "n2"), newIdentity(t, oldCA, "n1"), newIdentity(t, oldCA, "n3")
	server.rpcGrace = 200 * time.Millisecond
	for _, id := range []*Identity{busy, quiet} {
		if err := id.SetTrust(oldCA.Cert, newCA.Cert); err != nil { // so that a refusal can only be the server's
			t.Fatal(err)
		}
	}
	m, err := newMux("127.0.0.1:0", server, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{ConnState: server.trackRPC, ConnContext: rpcConnContext, Handler: server.closeIfUntrusted(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "ok")
	}))}
	go srv.Serve(m.rpc)
	defer srv.Close()
	busyClient, quietClient := NewClient(busy), NewClient(quiet)
	get := func(cl *Client, path string) (string, error) {
		req, err := http.NewRequest(http.MethodGet, "https://"+m.ln.Addr().String()+path, nil)
		if err != nil {
			return "", err
		}
		res, err := cl.http.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	for _, cl := range []*Client{busyClient, quietClient} {
		if got, err := get(cl, "/fast"); err != nil || got != "ok" {
			t.Fatalf("before: %q %v", got, err)
		}
	}
	eventually(t, 5*time.Second, "two idle connections", func() error {
		if n := server.live.len(); n != 2 {
			return fmt.Errorf("%d tracked", n)
		}
		return nil
	})
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() { b, err := get(busyClient, "/slow"); done <- result{b, err} }()
	<-entered
	if err := server.SetTrust(newCA.Cert); err != nil { // the finish, mid-request
		t.Fatal(err)
	}
	if n := server.live.len(); n != 2 {
		t.Fatalf("the finish closed a connection at once: %d left", n)
	}
	close(release)
	if r := <-done; r.err != nil || r.body != "ok" {
		t.Fatalf("the request in flight at the finish: %q %v", r.body, r.err)
	}
	eventually(t, 5*time.Second, "both served connections closed", func() error {
		if n := server.live.len(); n != 0 {
			return fmt.Errorf("%d tracked", n)
		}
		return nil
	})
	for _, cl := range []*Client{busyClient, quietClient} {
		if _, err := get(cl, "/fast"); err == nil {
			t.Fatal("a client with an old-CA certificate was served after the finish")
		}
	}
}
