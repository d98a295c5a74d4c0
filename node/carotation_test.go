package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// The cluster CA is rotated on a running three-node cluster in the steps
// an operator takes (`daisydog cluster ca`): chat keeps working at every
// step; steps out of order are refused with the reason; after the switch
// every member presents a certificate from the new CA and the join token
// is new (the old one is refused, a fourth node joins with the new one);
// after the finish a certificate from the old CA — what someone holding
// its leaked key would make — is refused on the cluster port, where it was
// accepted until then; a restarted member comes back at the same step; the
// log archive keeps the cluster's name; each step is audit-logged.
func TestCARotationOnACluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	nodes := startCluster(t, 3, nil)
	ctx := context.Background()
	l1 := Layout{Dir: nodes[0].dir}
	// Like the CLI, each step loads n1's identity from its files afresh:
	// its certificate and trust change with the rotation.
	cl := func() *raftcluster.Client {
		t.Helper()
		id, err := LoadIdentity(l1, "n1")
		if err != nil {
			t.Fatal(err)
		}
		return raftcluster.NewClient(id)
	}
	addr := nodes[0].nf.AdvertiseRaft
	fam := newFamily(t, nodes[1], "rotation@example.test", "Pip", "9-12")
	chatEverywhere := func(step string) {
		t.Helper()
		for _, n := range nodes {
			if st, _ := n.chat(t, fam.childToken, "hello daisy after "+step); st != 200 {
				t.Fatalf("%s: chat via %s: %d", step, n.nf.NodeID, st)
			}
		}
	}
	oldCA := nodes[0].identity.CurrentCA()
	oldToken, err := os.ReadFile(l1.JoinTokenFile())
	if err != nil {
		t.Fatal(err)
	}

	// Someone holding the old CA's key makes themselves a node certificate.
	oldKey, err := os.ReadFile(l1.CAKey())
	if err != nil {
		t.Fatal(err)
	}
	intruder := intruderIdentity(t, oldCA.CertPEM, oldKey)

	for _, step := range []string{storage.CASwitch, storage.CAFinish, storage.CAAbort} {
		if _, err := RotateCA(ctx, l1, cl(), addr, step); err == nil {
			t.Fatalf("%s before any stage was accepted", step)
		}
	}
	if _, err := RotateCA(ctx, l1, cl(), addr, "rewind"); err == nil || !strings.Contains(err.Error(), "unknown CA rotation step") {
		t.Fatalf("unknown step: %v", err)
	}

	staged, err := RotateCA(ctx, l1, cl(), addr, storage.CAStage)
	if err != nil {
		t.Fatalf("stage: %v", err)
	}
	newFP := staged.Fingerprint
	// The stage returns once every member trusts the new CA.
	if err := membersAre(ctx, cl(), addr, func(m CAMember) bool {
		return m.Issuer == oldCA.Fingerprint() && slices.Equal(m.Trusted, []string{oldCA.Fingerprint(), newFP})
	}); err != nil {
		t.Fatalf("after the stage: %v", err)
	}
	for _, n := range nodes {
		if _, err := os.Stat(Layout{Dir: n.dir}.CANextCert()); err != nil {
			t.Fatalf("%s: the staged CA's certificate: %v", n.nf.NodeID, err)
		}
	}
	if _, err := RotateCA(ctx, l1, cl(), addr, storage.CAStage); err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Fatalf("a second stage: %v", err)
	}
	if _, err := RotateCA(ctx, l1, cl(), addr, storage.CAFinish); err == nil || !strings.Contains(err.Error(), "switch' first") {
		t.Fatalf("finish before the switch: %v", err)
	}
	newPEM, err := os.ReadFile(l1.CANextCert())
	if err != nil {
		t.Fatal(err)
	}
	newCert, err := parseCert(string(newPEM))
	if err != nil {
		t.Fatal(err)
	}
	// The intruder accepts any server: a refusal can only come from the server.
	if err := intruder.SetTrust(oldCA.Cert, newCert); err != nil {
		t.Fatal(err)
	}
	// The API's clients are given the new CA to trust beside the old one
	// (the step the operator takes between stage and switch).
	for _, n := range nodes {
		pool := x509.NewCertPool()
		pool.AddCert(oldCA.Cert)
		pool.AppendCertsFromPEM(newPEM)
		n.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	chatEverywhere("stage")

	switched, err := RotateCA(ctx, l1, cl(), addr, storage.CASwitch)
	if err != nil {
		t.Fatalf("switch: %v", err)
	}
	if !strings.HasSuffix(switched.JoinToken, "."+newFP) || strings.TrimSpace(string(oldToken)) == switched.JoinToken {
		t.Fatalf("join token after the switch %q (old %q)", switched.JoinToken, oldToken)
	}
	for _, n := range nodes {
		l := Layout{Dir: n.dir}
		if got := n.identity.IssuerFingerprint(); got != newFP {
			t.Fatalf("%s presents a certificate from %s, want %s", n.nf.NodeID, got, newFP)
		}
		caPEM, err := os.ReadFile(l.CACert())
		if err != nil {
			t.Fatal(err)
		}
		if ca, err := raftcluster.LoadCA(caPEM, nil); err != nil || ca.Fingerprint() != newFP {
			t.Fatalf("%s: tls/ca.crt after the switch: %v", n.nf.NodeID, err)
		}
		if _, err := os.Stat(l.CANextCert()); !os.IsNotExist(err) {
			t.Fatalf("%s: ca-next.crt left after the switch: %v", n.nf.NodeID, err)
		}
	}
	chatEverywhere("switch")
	if _, err := raftcluster.NewClient(intruder).Status(ctx, addr); err != nil {
		t.Fatalf("before the finish an old-CA certificate is still trusted, but: %v", err)
	}

	if _, err := RotateCA(ctx, l1, cl(), addr, storage.CAFinish); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if err := membersAre(ctx, cl(), addr, func(m CAMember) bool {
		return m.Issuer == newFP && slices.Equal(m.Trusted, []string{newFP})
	}); err != nil {
		t.Fatalf("after the finish: %v", err)
	}
	for _, n := range nodes {
		if _, err := raftcluster.NewClient(intruder).Status(ctx, n.nf.AdvertiseRaft); err == nil {
			t.Fatalf("%s accepted a certificate from the old CA after the finish", n.nf.NodeID)
		}
	}
	chatEverywhere("finish")

	// The old join token names the old CA: refused. The new one works.
	root := filepath.Dir(nodes[0].dir)
	if err := Join(ctx, Layout{Dir: filepath.Join(root, "n4-old")}, nodeAddrs(t, "n4"), nodes[1].HTTPAddr(), string(oldToken)); err == nil {
		t.Fatal("a join with the token from before the rotation was accepted")
	}
	dir4 := filepath.Join(root, "n4")
	if err := Join(ctx, Layout{Dir: dir4}, nodeAddrs(t, "n4"), nodes[1].HTTPAddr(), switched.JoinToken); err != nil {
		t.Fatalf("join with the new token: %v", err)
	}
	n4 := startTestNode(t, dir4, nil)
	waitFor(t, 30*time.Second, "the fourth node is a voter and ready", func() error {
		if got := len(n4.Cluster().Status().Nodes); got != 4 {
			return fmt.Errorf("n4 sees %d nodes", got)
		}
		return n4.ready(ctx)
	})
	if got := n4.identity.IssuerFingerprint(); got != newFP {
		t.Fatalf("the node that joined after the rotation presents %s", got)
	}

	// A member restarted after the rotation comes back at the same step,
	// and its log archive still names the cluster after its first CA. While
	// it is down, no step is taken: every member must take part.
	nodes[2].stop(t)
	if _, err := RotateCA(ctx, l1, cl(), addr, storage.CAStage); err == nil || !strings.Contains(err.Error(), "members n3 do not answer") {
		t.Fatalf("a stage with n3 down: %v", err)
	}
	// A wait for a step that does not come names the members it waits for.
	shortCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = waitForStep(shortCtx, cl(), addr, "trusts a CA nobody has", func(m CAMember) bool { return slices.Contains(m.Trusted, "none") }, nil)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "not every member trusts a CA nobody has yet") || !strings.Contains(err.Error(), "n3") {
		t.Fatalf("a wait that cannot end: %v", err)
	}
	restarted := startTestNode(t, nodes[2].dir, nil)
	waitFor(t, 30*time.Second, "the restarted member is ready", func() error { return restarted.ready(ctx) })
	if got, trusted := restarted.identity.IssuerFingerprint(), restarted.identity.Trusted(); got != newFP || !slices.Equal(trusted, []string{newFP}) {
		t.Fatalf("restarted member presents %s and trusts %v", got, trusted)
	}
	if id, err := archiveID(ctx, restarted.db, restarted.identity.CurrentCA()); err != nil || id != oldCA.Fingerprint()[:12] {
		t.Fatalf("archive ID after the rotation %q (%v), want the first CA's %q", id, err, oldCA.Fingerprint()[:12])
	}
	if st, _ := restarted.chat(t, fam.childToken, "hello daisy after the restart"); st != 200 {
		t.Fatalf("chat via the restarted member: %d", st)
	}

	var actions []string
	rows, err := nodes[0].db.AuditTail(ctx, storage.Actor{Role: storage.RoleSystem}, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Action, "ca_rotation:") {
			actions = append(actions, r.Action+" "+r.Actor)
		}
	}
	slices.Sort(actions)
	want := []string{"ca_rotation:finish operator:n1", "ca_rotation:stage operator:n1", "ca_rotation:switch operator:n1"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit %v, want %v", actions, want)
	}
}

// membersAre checks every member's answer with ok.
func membersAre(ctx context.Context, cl *raftcluster.Client, addr string, ok func(CAMember) bool) error {
	ms, err := CAMembers(ctx, cl, addr)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !m.Answered || !ok(m) {
			return fmt.Errorf("member %s: presents %.12s, trusts %v (%s)", m.ID, m.Issuer, m.Trusted, m.Err)
		}
	}
	return nil
}

// intruderIdentity is a node certificate made with a CA's key by someone
// who is not a member ("n9").
func intruderIdentity(t *testing.T, caPEM, caKey []byte) *raftcluster.Identity {
	t.Helper()
	ca, err := raftcluster.LoadCA(caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, csr, err := raftcluster.NewNodeKey("n9")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.SignNode(csr, "n9", nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := raftcluster.LoadIdentity("n9", caPEM, append(cert, caPEM...), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// On one node: a staged CA can be aborted (the node trusts its CA alone
// again); a rotation record that does not hold together — a CA key that
// does not open under the cluster key, a certificate that is not the
// recorded CA, a join secret that does not match its hash, a certificate
// that is no PEM — is refused and leaves the node's files and identity as
// they were; a node that stopped half-way through installing the new CA
// (the key written, not yet the certificate) finishes it at its next start
// and issues itself a certificate from the new CA.
func TestCARotationRecoversAndRefuses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx := context.Background()
	n := startCluster(t, 1, nil)[0]
	l := Layout{Dir: n.dir}
	cl := func() *raftcluster.Client {
		t.Helper()
		id, err := LoadIdentity(l, "n1")
		if err != nil {
			t.Fatal(err)
		}
		return raftcluster.NewClient(id)
	}
	addr := n.nf.AdvertiseRaft
	oldFP := n.identity.CurrentCA().Fingerprint()

	// A node that cannot write its files keeps the old trust, keeps
	// trying, and reaches the step once it can (here a directory stands
	// where the staged CA's certificate goes).
	first := cl()
	if err := os.MkdirAll(filepath.Join(l.CANextCert(), "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	type stepResult struct {
		step CAStep
		err  error
	}
	done := make(chan stepResult, 1)
	go func() {
		s, err := RotateCA(ctx, l, first, addr, storage.CAStage)
		done <- stepResult{s, err}
	}()
	waitFor(t, 20*time.Second, "the stage to be applied", func() error {
		if _, found, err := n.db.LatestCARotation(ctx); err != nil || !found {
			return fmt.Errorf("not yet (%v)", err)
		}
		return nil
	})
	if got := n.identity.Trusted(); !slices.Equal(got, []string{oldFP}) {
		t.Fatalf("trust changed although the files could not be written: %v", got)
	}
	if err := os.RemoveAll(l.CANextCert()); err != nil {
		t.Fatal(err)
	}
	res := <-done // the node retries every few seconds; the command waits up to a minute
	staged, err := res.step, res.err
	if err != nil {
		t.Fatal(err)
	}
	if got := n.identity.Trusted(); !slices.Equal(got, []string{oldFP, staged.Fingerprint}) {
		t.Fatalf("trust after the stage %v", got)
	}
	if _, err := RotateCA(ctx, l, cl(), addr, storage.CAAbort); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if got := n.identity.Trusted(); !slices.Equal(got, []string{oldFP}) {
		t.Fatalf("trust after the abort %v", got)
	}
	if _, err := os.Stat(l.CANextCert()); !os.IsNotExist(err) {
		t.Fatalf("ca-next.crt after the abort: %v", err)
	}

	// A server without the cluster key cannot stage: the CA key would have
	// nothing to be sealed under.
	keyFile, err := os.ReadFile(l.ClusterKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(l.ClusterKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateCA(ctx, l, cl(), addr, storage.CAStage); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a stage without the cluster key: %v", err)
	}
	if err := os.WriteFile(l.ClusterKey(), keyFile, 0o600); err != nil {
		t.Fatal(err)
	}

	staged, err = RotateCA(ctx, l, cl(), addr, storage.CAStage)
	if err != nil {
		t.Fatal(err)
	}
	// A damaged staged-CA file: the switch refuses rather than guess.
	nextPEM, err := os.ReadFile(l.CANextCert())
	if err != nil {
		t.Fatal(err)
	}
	before := cl() // loaded before the damage (the CLI, loading after it, stops there: TestLoadIdentityRefusals)
	if err := os.WriteFile(l.CANextCert(), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateCA(ctx, l, before, addr, storage.CASwitch); err == nil || !strings.Contains(err.Error(), "CA certificate") {
		t.Fatalf("a switch with a damaged ca-next.crt: %v", err)
	}
	if err := os.WriteFile(l.CANextCert(), nextPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	rec, found, err := n.db.LatestCARotation(ctx)
	if err != nil || !found || rec.Fingerprint != staged.Fingerprint {
		t.Fatalf("the staged record: %+v %v %v", rec, found, err)
	}
	other, err := raftcluster.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	wrongSeal, err := n.keyring.SealSecret("ca-key:someone-else", []byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	caBefore, err := os.ReadFile(l.CACert())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(r *storage.CARotation)
		want   string
	}{
		{"a key sealed for another CA", func(r *storage.CARotation) { r.KeySealed = wrongSeal }, "opening the new CA's key"},
		{"the certificate of another CA", func(r *storage.CARotation) { r.CertPEM = string(other.CertPEM) }, "fingerprint"},
		{"a join secret that does not match its hash", func(r *storage.CARotation) { r.JoinHash = hashSecret("guess") }, "join secret"},
		{"no PEM", func(r *storage.CARotation) { r.CertPEM = "not a certificate" }, "not PEM"},
	} {
		r := rec
		tc.change(&r)
		err := n.installRotatedCA(r)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
		if got, _ := os.ReadFile(l.CACert()); string(got) != string(caBefore) || n.identity.CurrentCA().Fingerprint() != oldFP {
			t.Fatalf("%s changed the node's CA", tc.name)
		}
	}

	// Stopped half-way through the switch: the new CA key written, the
	// CA certificate and the node's certificate still the old ones.
	oldCert, err1 := os.ReadFile(l.NodeCert())
	oldKey, err2 := os.ReadFile(l.NodeKey())
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateCA(ctx, l, cl(), addr, storage.CASwitch); err != nil {
		t.Fatalf("switch: %v", err)
	}
	n.stop(t)
	for f, b := range map[string][]byte{l.CACert(): caBefore, l.NodeCert(): oldCert, l.NodeKey(): oldKey} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := startTestNode(t, n.dir, nil)
	waitFor(t, 30*time.Second, "the restarted node", func() error { return r.ready(ctx) })
	if got := r.identity.IssuerFingerprint(); got != staged.Fingerprint {
		t.Fatalf("after the restart the node presents a certificate from %.12s, want the new CA %.12s", got, staged.Fingerprint)
	}
	if !fileHoldsCA(l.CACert(), staged.Fingerprint) || !slices.Equal(r.identity.Trusted(), []string{staged.Fingerprint, oldFP}) {
		t.Fatalf("after the restart: ca.crt holds the new CA %v, trust %v", fileHoldsCA(l.CACert(), staged.Fingerprint), r.identity.Trusted())
	}
}

// LoadIdentity refuses a data directory without the node's files, and a
// staged CA file that is no certificate, naming it.
func TestLoadIdentityRefusals(t *testing.T) {
	if _, err := LoadIdentity(Layout{Dir: t.TempDir()}, "n1"); err == nil {
		t.Fatal("an empty directory gave an identity")
	}
	dir := t.TempDir()
	l := Layout{Dir: dir}
	if _, err := Init(l, nodeAddrs(t, "n1")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(l, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.CANextCert(), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(l, "n1"); err == nil || !strings.Contains(err.Error(), "ca-next.crt") {
		t.Fatalf("a corrupt ca-next.crt: %v", err)
	}
}
