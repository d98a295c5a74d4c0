package raftcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// nodeOU marks certificates issued to cluster nodes.
const nodeOU = "daisydog-node"

// CA is the cluster certificate authority.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
	key     *ecdsa.PrivateKey
}

// NewCA creates a self-signed cluster CA valid for ten years.
func NewCA(clusterName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("raftcluster: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: "DaisyDog cluster CA " + clusterName, Organization: []string{"DaisyDog Edge"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("raftcluster: CA cert: %w", err)
	}
	return caFrom(der, key)
}

func caFrom(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		key:     key,
	}, nil
}

// LoadCA parses a CA from PEM (the key may be nil for a verify-only CA).
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, errors.New("raftcluster: CA certificate is not PEM")
	}
	if keyPEM == nil {
		cert, err := x509.ParseCertificate(cb.Bytes)
		if err != nil {
			return nil, fmt.Errorf("raftcluster: CA certificate: %w", err)
		}
		return &CA{Cert: cert, CertPEM: certPEM}, nil
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("raftcluster: CA key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("raftcluster: CA key: %w", err)
	}
	return caFrom(cb.Bytes, key)
}

// Fingerprint is the hex SHA-256 of the CA certificate, pinned in join tokens.
func (ca *CA) Fingerprint() string { return certFingerprint(ca.Cert) }

// Pool returns a cert pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// NewNodeKey generates a node private key and a CSR naming the node.
func NewNodeKey(nodeID string) (keyPEM, csrPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("raftcluster: node key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: nodeID, OrganizationalUnit: []string{nodeOU}},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("raftcluster: CSR: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), nil
}

// SignNode issues a node certificate for a CSR. The certificate serves both
// the HTTPS API and the cluster port, as server and as client; its common name
// is the node ID and its SANs are the given hosts.
func (ca *CA) SignNode(csrPEM []byte, nodeID string, hosts []string) ([]byte, error) {
	if ca.key == nil {
		return nil, errors.New("raftcluster: CA key not available")
	}
	b, _ := pem.Decode(csrPEM)
	if b == nil {
		return nil, errors.New("raftcluster: CSR is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("raftcluster: CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("raftcluster: CSR signature: %w", err)
	}
	if csr.Subject.CommonName != nodeID {
		return nil, fmt.Errorf("raftcluster: CSR names %q, not node %q", csr.Subject.CommonName, nodeID)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: nodeID, OrganizationalUnit: []string{nodeOU}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1", nodeID}, hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("raftcluster: sign node: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

// Identity is a node's TLS identity within the cluster.
//
// CA rotation (node/carotation.go) changes two things while the node runs,
// for every new handshake: the CA that issues the node's certificates
// (SetCA) and the CAs whose certificates peers may present (SetTrust).
// Connections already open keep their certificates; SetTrust closes those
// whose peer it no longer trusts (conntrack.go).
type Identity struct {
	NodeID string
	// CA is the cluster CA loaded with the identity. CurrentCA returns the
	// one that issues now (SetCA replaces it during a rotation).
	CA *CA
	// Cert is the certificate loaded at start. Certificate returns the one
	// presented now: SetCertificate replaces it (a renewal) for every new
	// handshake, on the cluster port and the HTTPS API alike.
	Cert      tls.Certificate
	current   atomic.Pointer[tls.Certificate]
	currentCA atomic.Pointer[CA]
	trust     atomic.Pointer[trustSet]
	live      liveConns     // cluster-port connections open now (conntrack.go)
	rpcGrace  time.Duration // doomedRPCGrace, shorter in tests
}

// trustSet is the CAs a node accepts peer certificates from.
type trustSet struct {
	certs []*x509.Certificate
	pool  *x509.CertPool
}

// CurrentCA returns the CA that issues this node's certificates now.
func (id *Identity) CurrentCA() *CA {
	if ca := id.currentCA.Load(); ca != nil {
		return ca
	}
	return id.CA
}

// SetCA makes ca the issuing CA (a CA rotation's switch). It does not
// change the trusted CAs: call SetTrust for that.
func (id *Identity) SetCA(ca *CA) { id.currentCA.Store(ca) }

// SetTrust makes cas the CAs whose certificates peers may present, from
// the next handshake on, and closes the open cluster-port connections
// whose peer certificate they no longer accept (conntrack.go). Without a
// call the current CA alone is trusted.
func (id *Identity) SetTrust(cas ...*x509.Certificate) error {
	if len(cas) == 0 {
		return errors.New("raftcluster: a node must trust at least one CA")
	}
	ts := &trustSet{pool: x509.NewCertPool()}
	for _, c := range cas {
		if !c.IsCA {
			return fmt.Errorf("raftcluster: %q is not a CA certificate", c.Subject.CommonName)
		}
		ts.certs = append(ts.certs, c)
		ts.pool.AddCert(c)
	}
	id.trust.Store(ts)
	id.dropUntrusted()
	return nil
}

// trusted returns the trusted CAs now.
func (id *Identity) trusted() *trustSet {
	if ts := id.trust.Load(); ts != nil {
		return ts
	}
	ca := id.CurrentCA()
	return &trustSet{certs: []*x509.Certificate{ca.Cert}, pool: ca.Pool()}
}

// Trusted lists the SHA-256 fingerprints of the CAs trusted now.
func (id *Identity) Trusted() []string {
	ts := id.trusted()
	out := make([]string, len(ts.certs))
	for i, c := range ts.certs {
		out[i] = certFingerprint(c)
	}
	return out
}

// IssuerFingerprint is the fingerprint of the trusted CA that signed the
// certificate presented now ("" if none of them did).
func (id *Identity) IssuerFingerprint() string {
	leaf, err := id.Leaf()
	if err != nil {
		return ""
	}
	for _, c := range id.trusted().certs {
		if leaf.CheckSignatureFrom(c) == nil {
			return certFingerprint(c)
		}
	}
	return ""
}

func certFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// verifyPeer checks a peer's chain against the CAs trusted now, for the
// given use (server or client authentication).
func (id *Identity) verifyPeer(cs tls.ConnectionState, usage x509.ExtKeyUsage) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("raftcluster: peer sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: id.trusted().pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage},
	}); err != nil {
		return fmt.Errorf("raftcluster: peer certificate: %w", err)
	}
	return nil
}

// Certificate returns the node certificate presented in new handshakes.
func (id *Identity) Certificate() *tls.Certificate {
	if c := id.current.Load(); c != nil {
		return c
	}
	return &id.Cert
}

// SetCertificate makes c the certificate of every handshake from now on;
// connections already open keep the one they began with. c must be a
// certificate of this node (its leaf is parsed if missing).
func (id *Identity) SetCertificate(c tls.Certificate) error {
	if c.Leaf == nil {
		if len(c.Certificate) == 0 {
			return errors.New("raftcluster: empty certificate")
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return fmt.Errorf("raftcluster: node certificate: %w", err)
		}
		c.Leaf = leaf
	}
	if c.Leaf.Subject.CommonName != id.NodeID {
		return fmt.Errorf("raftcluster: certificate names node %q, not %q", c.Leaf.Subject.CommonName, id.NodeID)
	}
	id.current.Store(&c)
	return nil
}

// Leaf returns the parsed leaf of the certificate presented now.
func (id *Identity) Leaf() (*x509.Certificate, error) {
	c := id.Certificate()
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 {
		return nil, errors.New("raftcluster: no node certificate")
	}
	return x509.ParseCertificate(c.Certificate[0])
}

// GetCertificate is tls.Config.GetCertificate for servers presenting the
// node certificate (the cluster port, the HTTPS API).
func (id *Identity) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return id.Certificate(), nil
}

// RenewNode issues a new key and certificate for the node certificate old:
// the same node ID and hosts (its DNS names and IP addresses), valid for
// two years from now, signed by ca. certPEM holds the chain (node, then
// CA), as the files written at init and join do.
func (ca *CA) RenewNode(old *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	nodeID := old.Subject.CommonName
	keyPEM, csr, err := NewNodeKey(nodeID)
	if err != nil {
		return nil, nil, err
	}
	hosts := append([]string(nil), old.DNSNames...)
	for _, ip := range old.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	cert, err := ca.SignNode(csr, nodeID, hosts)
	if err != nil {
		return nil, nil, err
	}
	return append(cert, ca.CertPEM...), keyPEM, nil
}

// LoadIdentity builds an identity from PEM files' contents.
func LoadIdentity(nodeID string, caPEM, certPEM, keyPEM []byte) (*Identity, error) {
	ca, err := LoadCA(caPEM, nil)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("raftcluster: node certificate: %w", err)
	}
	return &Identity{NodeID: nodeID, CA: ca, Cert: cert}, nil
}

// ServerTLS is the cluster port's TLS config: TLS 1.3, a client
// certificate required and verified against the CAs trusted at the time of
// the handshake (SetTrust).
func (id *Identity) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: id.GetCertificate,
		ClientAuth:     tls.RequireAnyClientCert, // verified below, against the trust of the moment
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := id.verifyPeer(cs, x509.ExtKeyUsageClientAuth); err != nil {
				return err
			}
			_, err := peerNodeID(cs)
			return err
		},
	}
}

// ClientTLS returns a TLS 1.3 client config presenting this node's
// certificate. If expectID is not empty the server must be that node.
func (id *Identity) ClientTLS(expectID string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return id.Certificate(), nil
		},
		// #nosec G402 -- peers are dialled by address, not name: VerifyConnection below checks the chain against the cluster CA and the node ID
		InsecureSkipVerify: true, // peers are addressed by IP; verified below against the cluster CA and node ID
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := id.verifyPeer(cs, x509.ExtKeyUsageServerAuth); err != nil {
				return err
			}
			got, err := peerNodeID(cs)
			if err != nil {
				return err
			}
			if expectID != "" && got != expectID {
				return fmt.Errorf("raftcluster: peer is node %q, expected %q", got, expectID)
			}
			return nil
		},
	}
}

func peerNodeID(cs tls.ConnectionState) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("raftcluster: peer sent no certificate")
	}
	c := cs.PeerCertificates[0]
	ok := false
	for _, ou := range c.Subject.OrganizationalUnit {
		ok = ok || ou == nodeOU
	}
	if !ok || c.Subject.CommonName == "" {
		return "", errors.New("raftcluster: peer certificate is not a cluster node certificate")
	}
	return c.Subject.CommonName, nil
}
