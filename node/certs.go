package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	"daisydog/raftcluster"
)

// Node certificate renewal. A node certificate (cluster port and HTTPS
// API) is valid for two years; without renewal a cluster that runs that
// long stops: peers refuse the expired certificate and Raft loses its
// quorum. Every node holds the cluster CA's key (given at init and join),
// so each renews its own: when less than certRenewBefore of its validity is
// left — checked at start, before serving, and every certCheckEvery — it
// makes a new key, has the CA sign a certificate for the same node ID and
// hosts, installs both files and presents the new certificate in every new
// handshake (raftcluster.Identity.SetCertificate; open connections keep
// theirs). Nothing is replicated: the CA and the peers' trust stay as they
// are. The CA itself (ten years) is replaced by an operator's CA rotation
// (carotation.go; docs/operations.md "Rotating the cluster CA").

const (
	certRenewBefore = 180 * 24 * time.Hour
	certCheckEvery  = 12 * time.Hour
)

// nextSuffix names the files of a renewal in progress (certFilesInstall).
const nextSuffix = ".next"

// renewCertificateIfDue renews the node certificate when less than
// certRenewBefore of it is left at now. It reports whether it did.
func (n *Node) renewCertificateIfDue(now time.Time) (bool, error) {
	leaf, err := n.identity.Leaf()
	if err != nil {
		return false, err
	}
	if leaf.NotAfter.Sub(now) > certRenewBefore {
		return false, nil
	}
	caPEM, err1 := os.ReadFile(n.layout.CACert())
	caKey, err2 := os.ReadFile(n.layout.CAKey())
	if err := errors.Join(err1, err2); err != nil {
		return false, fmt.Errorf("renewing the node certificate needs the cluster CA: %w", err)
	}
	ca, err := raftcluster.LoadCA(caPEM, caKey)
	if err != nil {
		return false, err
	}
	if err := n.reissueCertificate(ca, "renewal: less than 180 days left"); err != nil {
		return false, err
	}
	return true, nil
}

// recordCertExpiry exports when the node certificate presented now and
// the cluster CA expire (metrics are made after the start-up renewal).
func (n *Node) recordCertExpiry() {
	if n.metrics == nil {
		return
	}
	if leaf, err := n.identity.Leaf(); err == nil {
		n.metrics.CertNotAfter.Store(leaf.NotAfter.Unix())
	}
	n.metrics.CANotAfter.Store(n.identity.CurrentCA().Cert.NotAfter.Unix())
}

// certRenewLoop checks the node certificate every period (Config.CertCheckEvery).
func (n *Node) certRenewLoop(ctx context.Context, every time.Duration) {
	onEveryTick(ctx, every, func() {
		if _, err := n.renewCertificateIfDue(n.cfg.Now()); err != nil {
			n.log.Error("node certificate renewal failed; will retry", "err", err)
		}
	})
}

// installCertFiles replaces the node's key and certificate files so that a
// crash at any point leaves a matching pair (finishCertInstall completes
// an interrupted replacement at the next start): the new key and
// certificate are first written beside the old ones (key first), then
// renamed over them (key first).
func installCertFiles(l Layout, certPEM, keyPEM []byte) error {
	keyNext, certNext := l.NodeKey()+nextSuffix, l.NodeCert()+nextSuffix
	if err := writeFileAtomic(keyNext, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(certNext, certPEM, 0o600); err != nil {
		return err
	}
	return finishCertInstall(l)
}

// finishCertInstall completes or abandons a replacement of the node's key
// and certificate that installCertFiles began. By its order of writes:
// a new key alone was not yet paired with a certificate (dropped, the old
// pair stays); a new key and certificate are both renamed over the old
// pair; a new certificate alone means its key is already in place.
func finishCertInstall(l Layout) error {
	keyNext, certNext := l.NodeKey()+nextSuffix, l.NodeCert()+nextSuffix
	haveKey, haveCert := exists(keyNext), exists(certNext)
	switch {
	case !haveCert && !haveKey:
		return nil
	case !haveCert:
		return os.Remove(keyNext)
	}
	if haveKey {
		if err := checkPair(certNext, keyNext); err != nil {
			return err
		}
		if err := os.Rename(keyNext, l.NodeKey()); err != nil {
			return err
		}
	} else if err := checkPair(certNext, l.NodeKey()); err != nil {
		return err
	}
	return os.Rename(certNext, l.NodeCert())
}

func checkPair(certFile, keyFile string) error {
	c, err1 := os.ReadFile(certFile)
	k, err2 := os.ReadFile(keyFile)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if _, err := tls.X509KeyPair(c, k); err != nil {
		return fmt.Errorf("%s and %s do not form a key pair: %w", certFile, keyFile, err)
	}
	return nil
}
