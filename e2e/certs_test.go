package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestExpiringCertificateRenewedAtStart: a server whose certificate has
// ten days left (as if issued two years ago) is restarted; before it
// serves, it issues itself a new one from the cluster CA, presents it and
// keeps it on disk, and takes writes.
func TestExpiringCertificateRenewedAtStart(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c := startCluster(t, 1)
	n := c.nodes[0]
	c.waitLeader(c.nodes, 0)
	c.stop(n)

	tlsDir := filepath.Join(n.dir, "tls")
	block := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(tlsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pem.Decode(b)
		if p == nil {
			t.Fatalf("%s is not PEM", name)
		}
		return p.Bytes
	}
	ca, err := x509.ParseCertificate(block("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParseECPrivateKey(block("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := x509.ParseCertificate(block("node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	expiring := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: cur.Subject, DNSNames: cur.DNSNames, IPAddresses: cur.IPAddresses,
		NotBefore: time.Now().Add(-2 * 365 * 24 * time.Hour), NotAfter: time.Now().Add(10 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, expiring, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
	if err := os.WriteFile(filepath.Join(tlsDir, "node.crt"), chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tlsDir, "node.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}

	c.restart(n)
	c.waitReady(n)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	conn, err := tls.Dial("tcp", n.httpAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to the restarted server: %v", err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if served.SerialNumber.Cmp(expiring.SerialNumber) == 0 || served.NotAfter.Before(time.Now().Add(700*24*time.Hour)) {
		t.Fatalf("the server presents serial %v expiring %v: not renewed", served.SerialNumber, served.NotAfter)
	}
	onDisk, err := x509.ParseCertificate(block("node.crt"))
	if err != nil || onDisk.SerialNumber.Cmp(served.SerialNumber) != 0 {
		t.Fatalf("node.crt on disk is not the renewed certificate (%v)", err)
	}
	c.newFamily(n, "", "") // writes go through the renewed node
}
