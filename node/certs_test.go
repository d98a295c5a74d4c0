package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/raftcluster"
)

// servedLeaf dials addr over TLS, trusting only the cluster CA in dir, and
// returns the certificate the server presented.
func servedLeaf(t *testing.T, dir, addr string) *x509.Certificate {
	t.Helper()
	caPEM, err := os.ReadFile(Layout{Dir: dir}.CACert())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestNodeRenewsItsCertificate: a node whose certificate is within 180
// days of expiry issues itself a new one from the cluster CA; the HTTPS API
// presents it at once, the files hold it (a restart loads it), and the
// cluster accepts it on the cluster port (the restarted follower forwards a
// write to the leader and receives it back through Raft).
func TestNodeRenewsItsCertificate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	nodes := startCluster(t, 3, constFallback)
	_, followers := leaderOf(t, nodes)
	f := followers[0]
	old, err := f.identity.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	if got := old.NotAfter.Sub(time.Now()); got < 700*24*time.Hour {
		t.Fatalf("a new node certificate is valid for %v", got)
	}

	if renewed, err := f.renewCertificateIfDue(time.Now()); err != nil || renewed {
		t.Fatalf("renewed a certificate that is not due: %v %v", renewed, err)
	}
	if renewed, err := f.renewCertificateIfDue(old.NotAfter.Add(-certRenewBefore - time.Hour)); err != nil || renewed {
		t.Fatalf("renewed a certificate with more than %v left: %v %v", certRenewBefore, renewed, err)
	}
	renewed, err := f.renewCertificateIfDue(old.NotAfter.Add(-certRenewBefore + time.Hour))
	if err != nil || !renewed {
		t.Fatalf("renewal due: renewed=%v err=%v", renewed, err)
	}
	cur, err := f.identity.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	// (The certificate it replaced is minutes old, so both expire about
	// two years from now.)
	if cur.SerialNumber.Cmp(old.SerialNumber) == 0 || cur.NotAfter.Before(old.NotAfter) || cur.Subject.CommonName != f.nf.NodeID {
		t.Fatalf("renewed certificate: serial %v (was %v), expires %v (was %v), node %q", cur.SerialNumber, old.SerialNumber, cur.NotAfter, old.NotAfter, cur.Subject.CommonName)
	}
	if got := servedLeaf(t, f.dir, f.HTTPAddr()); got.SerialNumber.Cmp(cur.SerialNumber) != 0 {
		t.Fatalf("the HTTPS API presents serial %v, want the renewed %v", got.SerialNumber, cur.SerialNumber)
	}
	if got := f.metrics.Snapshot(nil).TLS; got.NodeCertNotAfterUnix != cur.NotAfter.Unix() || got.CANotAfterUnix != f.identity.CA.Cert.NotAfter.Unix() {
		t.Fatalf("exported expiry %+v, want node %d, CA %d", got, cur.NotAfter.Unix(), f.identity.CA.Cert.NotAfter.Unix())
	}
	for _, suffix := range []string{nextSuffix, ".tmp"} {
		for _, p := range []string{f.layout.NodeCert() + suffix, f.layout.NodeKey() + suffix} {
			if exists(p) {
				t.Errorf("%s left behind", p)
			}
		}
	}

	f.stop(t)
	r := startTestNode(t, f.dir, constFallback)
	if got, _ := r.identity.Leaf(); got.SerialNumber.Cmp(cur.SerialNumber) != 0 {
		t.Fatalf("after a restart the node loaded serial %v, want the renewed %v", got.SerialNumber, cur.SerialNumber)
	}
	if got := servedLeaf(t, r.dir, r.HTTPAddr()); got.SerialNumber.Cmp(cur.SerialNumber) != 0 {
		t.Fatalf("after a restart the HTTPS API presents serial %v", got.SerialNumber)
	}
	waitFor(t, 30*time.Second, "the restarted node ready", func() error { return r.ready(context.Background()) })
	creds := map[string]string{"email": "renewed@example.test", "password": "correct horse battery staple"}
	if st, _ := r.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("sign-up through the renewed follower: %d", st)
	}
}

// TestFinishCertInstall: whatever point a renewal's installation reached
// before a crash, the next start finds a matching key pair: the old one,
// or the new one.
func TestFinishCertInstall(t *testing.T) {
	l, _ := initDir(t, "n1")
	oldCert, _ := os.ReadFile(l.NodeCert())
	oldKey, _ := os.ReadFile(l.NodeKey())
	caPEM, _ := os.ReadFile(l.CACert())
	caKey, _ := os.ReadFile(l.CAKey())
	ca, err := raftcluster.LoadCA(caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(oldCert, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	newCert, newKey, err := ca.RenewNode(pair.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const (
		wantOld = iota
		wantNew
		wantErr
	)
	cases := []struct {
		name  string
		setup func()
		want  int
	}{
		{"nothing in progress", func() {}, wantOld},
		{"crash after the new key was written", func() { write(l.NodeKey()+nextSuffix, newKey) }, wantOld},
		{"crash after both were written", func() {
			write(l.NodeKey()+nextSuffix, newKey)
			write(l.NodeCert()+nextSuffix, newCert)
		}, wantNew},
		{"crash after the key was renamed", func() {
			write(l.NodeKey(), newKey)
			write(l.NodeCert()+nextSuffix, newCert)
		}, wantNew},
		{"a certificate for neither key", func() { write(l.NodeCert()+nextSuffix, newCert) }, wantErr},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			write(l.NodeCert(), oldCert)
			write(l.NodeKey(), oldKey)
			os.Remove(l.NodeCert() + nextSuffix)
			os.Remove(l.NodeKey() + nextSuffix)
			tc.setup()
			err := finishCertInstall(l)
			if tc.want == wantErr {
				if err == nil {
					t.Fatal("a mismatched certificate was installed")
				}
				if c, _ := os.ReadFile(l.NodeCert()); string(c) != string(oldCert) {
					t.Fatal("the old certificate was replaced by a mismatched one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, _ := os.ReadFile(l.NodeCert())
			k, _ := os.ReadFile(l.NodeKey())
			if _, err := tls.X509KeyPair(c, k); err != nil {
				t.Fatalf("no key pair after finishing: %v", err)
			}
			if got := string(c) == string(newCert); got != (tc.want == wantNew) {
				t.Fatalf("new certificate installed = %v, want %v", got, tc.want == wantNew)
			}
			if exists(l.NodeCert()+nextSuffix) || exists(l.NodeKey()+nextSuffix) {
				t.Fatal("renewal files left behind")
			}
		})
	}
}

// TestCertificateRenewalRunsOnItsOwn: a node whose clock reaches the
// renewal window while it serves renews at its next periodic check,
// without a call from anyone; without the CA key it says why and keeps
// its certificate.
func TestCertificateRenewalRunsOnItsOwn(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "n1")
	if _, err := Init(Layout{Dir: dir}, nodeAddrs(t, "n1")); err != nil {
		t.Fatal(err)
	}
	var ahead atomic.Int64 // how far the node's clock runs ahead
	n := startTestNode(t, dir, func(c *Config) {
		constFallback(c)
		c.CertCheckEvery = 20 * time.Millisecond
		c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	old, err := n.identity.Leaf()
	if err != nil {
		t.Fatal(err)
	}

	// Without the CA key: refused with the reason, the certificate kept.
	caKey := n.layout.CAKey()
	keyPEM, err := os.ReadFile(caKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(caKey); err != nil {
		t.Fatal(err)
	}
	if renewed, err := n.renewCertificateIfDue(old.NotAfter.Add(-time.Hour)); renewed || err == nil || !strings.Contains(err.Error(), "needs the cluster CA") {
		t.Fatalf("renewal without the CA key: %v %v", renewed, err)
	}
	if cur, _ := n.identity.Leaf(); cur.SerialNumber.Cmp(old.SerialNumber) != 0 {
		t.Fatal("a failed renewal replaced the certificate")
	}
	if err := os.WriteFile(caKey, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	ahead.Store(int64(old.NotAfter.Sub(time.Now()) - certRenewBefore + time.Hour))
	waitFor(t, 10*time.Second, "the periodic check to renew the certificate", func() error {
		cur, err := n.identity.Leaf()
		if err != nil {
			return err
		}
		if cur.SerialNumber.Cmp(old.SerialNumber) == 0 {
			return errors.New("still the old certificate")
		}
		return nil
	})
	if got := servedLeaf(t, n.dir, n.HTTPAddr()); got.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Fatal("the HTTPS API still presents the old certificate")
	}
}
