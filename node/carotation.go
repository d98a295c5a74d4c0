package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// CA rotation, on each node. The replicated record (storage/carotation.go)
// says which step the cluster is at; every node brings its files and its
// TLS identity to that step after applying each step and at every start
// (reconcileCA), so a node that was down, or crashed half-way, ends in the
// same state as the others:
//
//	stage   trust the current CA and the new one; write tls/ca-next.crt
//	        (for the operator to hand to API clients)
//	switch  install the new CA (tls/ca.crt, ca.key) and the new join token,
//	        issue the node a certificate from the new CA and present it;
//	        still trust both
//	finish  trust the new CA alone
//	abort   trust the current CA alone; drop ca-next.crt
//
// Every node therefore trusts the new CA before any presents a certificate
// from it (the operator tool checks that every member does before it
// proposes the switch, and that every member presents a new certificate
// before it proposes the finish): no handshake between members fails at
// any step. Secrets in the record are sealed under the cluster key.

// CANextCert is where a staged CA's certificate is written.
func (l Layout) CANextCert() string { return l.path("tls", "ca-next.crt") }

// CAPrevCert is where the CA being replaced is written between the switch
// and the finish of a rotation.
func (l Layout) CAPrevCert() string { return l.path("tls", "ca-prev.crt") }

// JoinTokenFile holds the cluster's join token (0600).
func (l Layout) JoinTokenFile() string { return l.path("keys", "join-token") }

// reconcileCA brings the node to the recorded rotation's step.
func (n *Node) reconcileCA(ctx context.Context) error {
	r, found, err := n.db.LatestCARotation(ctx)
	if err != nil || !found {
		return err
	}
	next, err := parseCert(r.CertPEM)
	if err != nil {
		return fmt.Errorf("CA rotation: the recorded CA: %w", err)
	}
	cur := n.identity.CurrentCA()
	switch r.Step {
	case storage.CAStage:
		if err := writeFileAtomic(n.layout.CANextCert(), []byte(r.CertPEM), 0o644); err != nil {
			return err
		}
		if err := removeIfExists(n.layout.CAPrevCert()); err != nil {
			return err
		}
		return n.identity.SetTrust(cur.Cert, next)
	case storage.CAAbort:
		if err := removeIfExists(n.layout.CANextCert()); err != nil {
			return err
		}
		return n.identity.SetTrust(cur.Cert)
	case storage.CASwitch, storage.CAFinish:
		if cur.Fingerprint() != r.Fingerprint {
			if err := n.installRotatedCA(r); err != nil {
				return err
			}
		}
		ca := n.identity.CurrentCA()
		if !issuedBy(n.identity, ca) {
			if err := n.reissueCertificate(ca, "the cluster CA was rotated"); err != nil {
				return err
			}
		}
		if err := removeIfExists(n.layout.CANextCert()); err != nil {
			return err
		}
		if r.Step == storage.CASwitch {
			prev, err := parseCert(r.PrevCertPEM)
			if err != nil {
				return fmt.Errorf("CA rotation: the previous CA: %w", err)
			}
			if err := writeFileAtomic(n.layout.CAPrevCert(), []byte(r.PrevCertPEM), 0o644); err != nil {
				return err
			}
			return n.identity.SetTrust(ca.Cert, prev)
		}
		if err := removeIfExists(n.layout.CAPrevCert()); err != nil {
			return err
		}
		return n.identity.SetTrust(ca.Cert)
	}
	return fmt.Errorf("CA rotation: unknown step %q", r.Step)
}

// issuedBy reports whether the certificate presented now was signed by ca.
func issuedBy(id *raftcluster.Identity, ca *raftcluster.CA) bool {
	leaf, err := id.Leaf()
	return err == nil && leaf.CheckSignatureFrom(ca.Cert) == nil
}

// installRotatedCA writes the rotation's CA and join token over the
// node's and makes the CA the identity's issuer. The key is written before
// the certificate: until the certificate is replaced the node still reads
// as being at the old CA, and the next reconcile writes both again.
func (n *Node) installRotatedCA(r storage.CARotation) error {
	keyPEM, err := n.keyring.OpenSecret("ca-key:"+r.Fingerprint, r.KeySealed)
	if err != nil {
		return fmt.Errorf("CA rotation: opening the new CA's key: %w", err)
	}
	secret, err := n.keyring.OpenSecret("join-secret:"+r.Fingerprint, r.JoinSecretSealed)
	if err != nil {
		return fmt.Errorf("CA rotation: opening the new join secret: %w", err)
	}
	ca, err := raftcluster.LoadCA([]byte(r.CertPEM), keyPEM)
	if err != nil {
		return fmt.Errorf("CA rotation: %w", err)
	}
	if ca.Fingerprint() != r.Fingerprint {
		return fmt.Errorf("CA rotation: the recorded CA's fingerprint is %s, not %s", ca.Fingerprint(), r.Fingerprint)
	}
	tok := JoinToken{Secret: string(secret), CAFingerprint: r.Fingerprint}
	if hashSecret(tok.Secret) != r.JoinHash {
		return errors.New("CA rotation: the join secret does not match its hash")
	}
	err = writeSecrets([]secretFile{
		{n.layout.CAKey(), keyPEM},
		{n.layout.CACert(), []byte(r.CertPEM)},
		{n.layout.JoinHash(), []byte(r.JoinHash + "\n")},
		{n.layout.JoinTokenFile(), []byte(tok.String() + "\n")},
	})
	if err != nil {
		return fmt.Errorf("CA rotation: installing the new CA: %w", err)
	}
	n.identity.SetCA(ca)
	n.recordCertExpiry()
	n.log.Info("cluster CA rotated", "ca", r.Fingerprint[:12], "previous", r.PrevFingerprint[:12],
		"not_after", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// reissueCertificate gives the node a new key and certificate from ca (same
// node ID and names), installs both files and presents the certificate
// from the next handshake on.
func (n *Node) reissueCertificate(ca *raftcluster.CA, why string) error {
	n.certMu.Lock()
	defer n.certMu.Unlock()
	leaf, err := n.identity.Leaf()
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := ca.RenewNode(leaf)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("new node certificate: %w", err)
	}
	if err := installCertFiles(n.layout, certPEM, keyPEM); err != nil {
		return fmt.Errorf("installing the new node certificate: %w", err)
	}
	if err := n.identity.SetCertificate(pair); err != nil {
		return err
	}
	n.recordCertExpiry()
	n.log.Info("node certificate issued", "why", why, "old_not_after", leaf.NotAfter.UTC().Format(time.RFC3339),
		"not_after", pair.Leaf.NotAfter.UTC().Format(time.RFC3339), "ca", ca.Fingerprint()[:12])
	return nil
}

// manageCA reconciles after every applied rotation step until ctx ends.
func (n *Node) manageCA(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.machine.caChanged:
		}
		if err := n.reconcileCA(ctx); err != nil {
			n.log.Error("CA rotation: bringing the node to the recorded step failed; will retry", "err", err)
			select {
			case n.machine.caChanged <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// archiveID names the cluster in log-archive segment names. It must not
// change when the CA does, so it is the fingerprint of the CA the cluster
// was made with: the current CA, followed back through the rotations that
// installed it. (A cluster restored from a backup has a new CA that no
// recorded rotation installed, so it gets a name of its own.)
func archiveID(ctx context.Context, db *storage.DB, ca *raftcluster.CA) (string, error) {
	rots, err := db.CARotations(ctx)
	if err != nil {
		return "", err
	}
	fp := ca.Fingerprint()
	for i := len(rots) - 1; i >= 0; i-- {
		r := rots[i]
		if r.Fingerprint == fp && (r.Step == storage.CASwitch || r.Step == storage.CAFinish) {
			fp = r.PrevFingerprint
		}
	}
	return fp[:12], nil
}

// LoadIdentity reads node l's TLS identity from its files, trusting what
// the node trusts at this step of a CA rotation (tls/ca.crt, and
// ca-next.crt or ca-prev.crt while one is in progress): what operator
// tools on the server present on the cluster port.
func LoadIdentity(l Layout, nodeID string) (*raftcluster.Identity, error) {
	ca, err1 := os.ReadFile(l.CACert())
	cert, err2 := os.ReadFile(l.NodeCert())
	key, err3 := os.ReadFile(l.NodeKey())
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	id, err := raftcluster.LoadIdentity(nodeID, ca, cert, key)
	if err != nil {
		return nil, err
	}
	trust := []*x509.Certificate{id.CA.Cert}
	for _, f := range []string{l.CANextCert(), l.CAPrevCert()} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := parseCert(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		trust = append(trust, c)
	}
	return id, id.SetTrust(trust...)
}

func parseCert(certPEM string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return nil, errors.New("certificate is not PEM")
	}
	return x509.ParseCertificate(b.Bytes)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// CAStep is what an operator's CA rotation step did.
type CAStep struct {
	Step        string
	Fingerprint string // the new CA's
	JoinToken   string // after a switch: the cluster's new join token
}

// CAMember is one member's TLS state as it answers on its cluster port.
type CAMember struct {
	ID       string
	Address  string
	Issuer   string   // fingerprint of the CA of the certificate it presents
	Trusted  []string // the CAs it accepts
	Answered bool
	Err      string
}

// CAMembers asks every member of the cluster (known to the node at addr)
// which CA it presents a certificate from and which it trusts.
func CAMembers(ctx context.Context, cl *raftcluster.Client, addr string) ([]CAMember, error) {
	_, answers, err := cl.Members(ctx, addr)
	if err != nil {
		return nil, err
	}
	out := make([]CAMember, 0, len(answers))
	for _, a := range answers {
		cm := CAMember{ID: a.ID, Address: a.Address}
		if a.Err != nil {
			cm.Err = a.Err.Error()
		} else {
			cm.Answered, cm.Issuer, cm.Trusted = true, a.Status.IssuerCA, a.Status.TrustedCAs
		}
		out = append(out, cm)
	}
	return out, nil
}

// RotateCA takes one step of a CA rotation for the operator (`daisydog
// cluster ca STEP`), on a server holding node l's files, through the node
// at addr: stage makes a new CA; switch, finish and abort act on the staged
// one (tls/ca-next.crt, or the CA in force for finish). Each step is
// refused with the reason when the members are not ready for it.
func RotateCA(ctx context.Context, l Layout, cl *raftcluster.Client, addr, step string) (CAStep, error) {
	nf, err := l.ReadNode()
	if err != nil {
		return CAStep{}, err
	}
	curPEM, err := os.ReadFile(l.CACert())
	if err != nil {
		return CAStep{}, err
	}
	cur, err := raftcluster.LoadCA(curPEM, nil)
	if err != nil {
		return CAStep{}, err
	}
	members, err := CAMembers(ctx, cl, addr)
	if err != nil {
		return CAStep{}, err
	}
	if bad := membersWhere(members, func(m CAMember) bool { return !m.Answered }); len(bad) > 0 {
		return CAStep{}, fmt.Errorf("members %s do not answer: every member must take part in a CA rotation (remove a member that is gone with 'daisydog cluster remove')", strings.Join(bad, ", "))
	}
	cmd := &storage.RotateCA{Step: step, Operator: nf.NodeID, Now: time.Now().UnixMilli()}
	switch step {
	case storage.CAStage:
		if bad := membersWhere(members, func(m CAMember) bool { return len(m.Trusted) != 1 }); len(bad) > 0 {
			return CAStep{}, fmt.Errorf("a rotation is in progress (members %s trust two CAs): switch and finish it, or abort it, first", strings.Join(bad, ", "))
		}
		if err := stageCA(l, cur, curPEM, cmd); err != nil {
			return CAStep{}, err
		}
	case storage.CASwitch, storage.CAAbort:
		nextPEM, err := os.ReadFile(l.CANextCert())
		if errors.Is(err, os.ErrNotExist) {
			return CAStep{}, fmt.Errorf("no CA is staged on this node (%s is missing): run 'daisydog cluster ca stage' first", l.CANextCert())
		}
		if err != nil {
			return CAStep{}, err
		}
		next, err := raftcluster.LoadCA(nextPEM, nil)
		if err != nil {
			return CAStep{}, err
		}
		cmd.Fingerprint = next.Fingerprint()
		if step == storage.CASwitch {
			if bad := membersWhere(members, func(m CAMember) bool { return !slices.Contains(m.Trusted, cmd.Fingerprint) }); len(bad) > 0 {
				return CAStep{}, fmt.Errorf("members %s do not trust the staged CA %s yet: wait until they have applied the stage", strings.Join(bad, ", "), cmd.Fingerprint[:12])
			}
		}
	case storage.CAFinish:
		if _, err := os.Stat(l.CANextCert()); err == nil {
			return CAStep{}, errors.New("no member presents a certificate from the staged CA yet: run 'daisydog cluster ca switch' first")
		}
		cmd.Fingerprint = cur.Fingerprint()
		if bad := membersWhere(members, func(m CAMember) bool { return m.Issuer != cmd.Fingerprint }); len(bad) > 0 {
			return CAStep{}, fmt.Errorf("members %s do not present a certificate from the CA %s yet: a switch must come first, and every member apply it", strings.Join(bad, ", "), cmd.Fingerprint[:12])
		}
		if bad := membersWhere(members, func(m CAMember) bool { return len(m.Trusted) < 2 }); len(bad) > 0 {
			return CAStep{}, fmt.Errorf("no rotation to finish: members %s trust one CA only", strings.Join(bad, ", "))
		}
	default:
		return CAStep{}, fmt.Errorf("unknown CA rotation step %q (stage, switch, finish or abort)", step)
	}
	data, err := storage.Encode(cmd)
	if err != nil {
		return CAStep{}, err
	}
	resp, err := cl.Submit(ctx, addr, data)
	if err != nil {
		return CAStep{}, err
	}
	if resp.Code != "" {
		return CAStep{}, fmt.Errorf("the cluster refused the %s (%s): it does not follow the recorded step; 'daisydog cluster ca status' shows where the members are", step, resp.Code)
	}
	out := CAStep{Step: step, Fingerprint: cmd.Fingerprint}
	fp, prev := cmd.Fingerprint, cur.Fingerprint()
	switch step {
	case storage.CAStage:
		err = waitForStep(ctx, cl, addr, "trusts the staged CA", func(m CAMember) bool { return slices.Contains(m.Trusted, fp) },
			func() bool { return fileHoldsCA(l.CANextCert(), fp) })
	case storage.CASwitch:
		err = waitForStep(ctx, cl, addr, "presents a certificate from the new CA", func(m CAMember) bool { return m.Issuer == fp },
			func() bool { return strings.HasSuffix(readTrimmed(l.JoinTokenFile()), "."+fp) })
		out.JoinToken = readTrimmed(l.JoinTokenFile())
	case storage.CAFinish:
		err = waitForStep(ctx, cl, addr, "trusts the new CA alone", func(m CAMember) bool { return slices.Equal(m.Trusted, []string{fp}) }, nil)
	case storage.CAAbort:
		err = waitForStep(ctx, cl, addr, "trusts the current CA alone", func(m CAMember) bool { return slices.Equal(m.Trusted, []string{prev}) },
			func() bool { _, err := os.Stat(l.CANextCert()); return errors.Is(err, os.ErrNotExist) })
	}
	return out, err
}

// waitForStep waits (up to a minute) until every member answers as done
// says and local (if not nil) holds on this server, after a step was
// applied: when the command returns, the next step may be taken.
func waitForStep(ctx context.Context, cl *raftcluster.Client, addr, what string, done func(CAMember) bool, local func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// late is the last answer's members still waited for; answered is
	// whether the cluster answered at all (a question cut short by the
	// deadline must not hide what an earlier answer said).
	var late []string
	answered := false
	for {
		members, err := CAMembers(ctx, cl, addr)
		if err == nil {
			answered = true
			late = membersWhere(members, func(m CAMember) bool { return !m.Answered || !done(m) })
			if len(late) == 0 && (local == nil || local()) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if !answered {
				return fmt.Errorf("the step was applied, but the cluster did not answer since: %w", err)
			}
			return fmt.Errorf("the step was applied, but not every member %s yet (%s): see 'daisydog cluster ca status'", what, strings.Join(late, ", "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fileHoldsCA reports whether path holds the CA certificate with fingerprint fp.
func fileHoldsCA(path, fp string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	ca, err := raftcluster.LoadCA(b, nil)
	return err == nil && ca.Fingerprint() == fp
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// stageCA fills a stage command: a new CA, its key and a new join secret
// sealed under the cluster key.
func stageCA(l Layout, cur *raftcluster.CA, curPEM []byte, cmd *storage.RotateCA) error {
	kek, err := l.ReadClusterKey()
	if err != nil {
		return err
	}
	kr, err := storage.NewKeyring(kek)
	if err != nil {
		return err
	}
	ca, err := raftcluster.NewCA("rotated " + time.Now().UTC().Format("2006-01-02"))
	if err != nil {
		return err
	}
	fp := ca.Fingerprint()
	sealedKey, err := kr.SealSecret("ca-key:"+fp, ca.KeyPEM)
	if err != nil {
		return err
	}
	secret := randomHex(32)
	sealedJoin, err := kr.SealSecret("join-secret:"+fp, []byte(secret))
	if err != nil {
		return err
	}
	cmd.Fingerprint, cmd.CertPEM, cmd.KeySealed = fp, string(ca.CertPEM), sealedKey
	cmd.PrevFingerprint, cmd.PrevCertPEM = cur.Fingerprint(), string(curPEM)
	cmd.JoinSecretSealed, cmd.JoinHash = sealedJoin, hashSecret(secret)
	return nil
}

func membersWhere(ms []CAMember, bad func(CAMember) bool) []string {
	var out []string
	for _, m := range ms {
		if bad(m) {
			out = append(out, m.ID)
		}
	}
	return out
}
