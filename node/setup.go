package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"daisydog/raftcluster"
)

// InitOptions describe a new node's identity and addresses.
type InitOptions struct {
	NodeID        string
	HTTPAddr      string
	RaftAddr      string
	AdvertiseHTTP string
	AdvertiseRaft string
	// ClusterKey is the new cluster's key-encryption key; empty means a
	// fresh random one. Restore passes the key the backup was made under.
	ClusterKey []byte
}

var nodeIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func (o *InitOptions) normalize() error {
	if !nodeIDPattern.MatchString(o.NodeID) {
		return fmt.Errorf("node ID %q must be 1-32 lower-case letters, digits or hyphens", o.NodeID)
	}
	for _, a := range []*string{&o.HTTPAddr, &o.RaftAddr} {
		if _, _, err := net.SplitHostPort(*a); err != nil {
			return fmt.Errorf("address %q must be host:port", *a)
		}
	}
	if o.AdvertiseHTTP == "" {
		o.AdvertiseHTTP = o.HTTPAddr
	}
	if o.AdvertiseRaft == "" {
		o.AdvertiseRaft = o.RaftAddr
	}
	for _, a := range []string{o.AdvertiseHTTP, o.AdvertiseRaft} {
		h, _, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("address %q must be host:port", a)
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("advertised address %q must not be a wildcard; pass --advertise-*", a)
		}
	}
	return nil
}

func (o InitOptions) hosts() []string {
	var hs []string
	for _, a := range []string{o.HTTPAddr, o.RaftAddr, o.AdvertiseHTTP, o.AdvertiseRaft} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			hs = append(hs, h)
		}
	}
	if hn, err := os.Hostname(); err == nil {
		hs = append(hs, hn)
	}
	return hs
}

// JoinToken is what a new server needs to join: a secret and the pinned CA fingerprint.
type JoinToken struct {
	Secret        string
	CAFingerprint string
}

func (t JoinToken) String() string { return "ddj1." + t.Secret + "." + t.CAFingerprint }

// ParseJoinToken parses "ddj1.<secret>.<ca-sha256>".
func ParseJoinToken(s string) (JoinToken, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 || parts[0] != "ddj1" || len(parts[1]) != 64 || len(parts[2]) != 64 {
		return JoinToken{}, errors.New("join token is malformed (expected ddj1.<secret>.<fingerprint>)")
	}
	return JoinToken{Secret: parts[1], CAFingerprint: parts[2]}, nil
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Init creates a new cluster in the data directory: CA, node certificate,
// cluster key and join token. The node bootstraps the cluster when started.
func Init(l Layout, o InitOptions) (JoinToken, error) {
	if l.Initialized() {
		return JoinToken{}, fmt.Errorf("%s already holds a node; start it with 'daisydog serve --data %s'", l.Dir, l.Dir)
	}
	if err := o.normalize(); err != nil {
		return JoinToken{}, err
	}
	ca, err := raftcluster.NewCA(o.NodeID)
	if err != nil {
		return JoinToken{}, err
	}
	keyPEM, csr, err := raftcluster.NewNodeKey(o.NodeID)
	if err != nil {
		return JoinToken{}, err
	}
	cert, err := ca.SignNode(csr, o.NodeID, o.hosts())
	if err != nil {
		return JoinToken{}, err
	}
	tok := JoinToken{Secret: randomHex(32), CAFingerprint: ca.Fingerprint()}
	clusterKey := randomHex(32)
	if o.ClusterKey != nil {
		if len(o.ClusterKey) != 32 {
			return JoinToken{}, fmt.Errorf("cluster key must be 32 bytes, got %d", len(o.ClusterKey))
		}
		clusterKey = hex.EncodeToString(o.ClusterKey)
	}
	err = writeSecrets([]secretFile{
		{l.CACert(), ca.CertPEM},
		{l.CAKey(), ca.KeyPEM},
		{l.NodeCert(), append(cert, ca.CertPEM...)},
		{l.NodeKey(), keyPEM},
		{l.ClusterKey(), []byte(clusterKey + "\n")},
		{l.JoinHash(), []byte(hashSecret(tok.Secret) + "\n")},
		{l.path("keys", "join-token"), []byte(tok.String() + "\n")},
	})
	if err != nil {
		return JoinToken{}, err
	}
	err = l.WriteNode(NodeFile{NodeID: o.NodeID, HTTPAddr: o.HTTPAddr, RaftAddr: o.RaftAddr,
		AdvertiseHTTP: o.AdvertiseHTTP, AdvertiseRaft: o.AdvertiseRaft, Bootstrap: true, Joined: true})
	return tok, err
}

type joinRequest struct {
	Secret string   `json:"secret"`
	NodeID string   `json:"node_id"`
	CSR    string   `json:"csr"`
	Hosts  []string `json:"hosts"`
}

type joinResponse struct {
	CACert      string `json:"ca_cert"`
	CAKey       string `json:"ca_key"`
	NodeCert    string `json:"node_cert"`
	ClusterKey  string `json:"cluster_key"`
	JoinHash    string `json:"join_hash"`
	ClusterAddr string `json:"cluster_addr"`
}

// Join fetches credentials from a cluster member's HTTPS address using the
// join token and prepares the data directory. The node asks to be added as a
// voter when it starts.
func Join(ctx context.Context, l Layout, o InitOptions, memberHTTP, token string) error {
	if l.Initialized() {
		return fmt.Errorf("%s already holds a node; start it with 'daisydog serve --data %s'", l.Dir, l.Dir)
	}
	if err := o.normalize(); err != nil {
		return err
	}
	tok, err := ParseJoinToken(token)
	if err != nil {
		return err
	}
	keyPEM, csr, err := raftcluster.NewNodeKey(o.NodeID)
	if err != nil {
		return err
	}
	// #nosec G117 -- the join secret is sent to the pinned cluster over TLS: that is its purpose
	body, _ := json.Marshal(joinRequest{Secret: tok.Secret, NodeID: o.NodeID, CSR: string(csr), Hosts: o.hosts()})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: pinnedTLS(tok.CAFingerprint)}}
	// The first server may still be starting (all servers are often started
	// together): retry until it answers or ctx ends. Refusals are final.
	var status int
	var data []byte
	for {
		status, data, err = postJSON(ctx, client, "https://"+memberHTTP+"/internal/join", body)
		if err == nil {
			break
		}
		if errors.Is(err, errWrongCluster) {
			return fmt.Errorf("join via %s: %w", memberHTTP, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("join via %s: %w", memberHTTP, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	if status != http.StatusOK {
		return fmt.Errorf("join via %s refused (%d): %s", memberHTTP, status, strings.TrimSpace(string(data)))
	}
	var jr joinResponse
	if err := json.Unmarshal(data, &jr); err != nil {
		return fmt.Errorf("join: bad response: %w", err)
	}
	err = writeSecrets([]secretFile{
		{l.CACert(), []byte(jr.CACert)},
		{l.CAKey(), []byte(jr.CAKey)},
		{l.NodeCert(), []byte(jr.NodeCert)},
		{l.NodeKey(), keyPEM},
		{l.ClusterKey(), []byte(jr.ClusterKey + "\n")},
		{l.JoinHash(), []byte(jr.JoinHash + "\n")},
		{l.path("keys", "join-token"), []byte(token + "\n")},
	})
	if err != nil {
		return err
	}
	return l.WriteNode(NodeFile{NodeID: o.NodeID, HTTPAddr: o.HTTPAddr, RaftAddr: o.RaftAddr,
		AdvertiseHTTP: o.AdvertiseHTTP, AdvertiseRaft: o.AdvertiseRaft, JoinAddr: jr.ClusterAddr})
}

type secretFile struct {
	path string
	data []byte
}

// writeSecrets writes each file atomically with mode 0600.
func writeSecrets(files []secretFile) error {
	for _, f := range files {
		if err := writeFileAtomic(f.path, f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func postJSON(ctx context.Context, client *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, data, err
}

var errWrongCluster = errors.New("server is not part of the cluster named by the join token (CA fingerprint mismatch)")

// pinnedTLS trusts exactly the CA whose certificate has the given SHA-256.
func pinnedTLS(fingerprint string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // #nosec G402 -- verified below: the CA pinned by its SHA-256 from the join token
		VerifyConnection: func(cs tls.ConnectionState) error {
			var ca *x509.Certificate
			for _, c := range cs.PeerCertificates {
				sum := sha256.Sum256(c.Raw)
				if hex.EncodeToString(sum[:]) == fingerprint {
					ca = c
				}
			}
			if ca == nil || len(cs.PeerCertificates) == 0 {
				return errWrongCluster
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool})
			return err
		},
	}
}

// joinHandler serves the token-authenticated first phase of a join.
func (n *Node) joinHandler(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
	var req joinRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(http.StatusBadRequest, "bad_request", "malformed join request")
		return
	}
	want, err := os.ReadFile(n.layout.JoinHash())
	if err != nil || subtle.ConstantTimeCompare([]byte(hashSecret(req.Secret)), bytes.TrimSpace(want)) != 1 {
		n.log.Warn("join refused: bad token", "remote", r.RemoteAddr)
		fail(http.StatusUnauthorized, "unauthorized", "join token is not valid for this cluster")
		return
	}
	if !nodeIDPattern.MatchString(req.NodeID) {
		fail(http.StatusUnprocessableEntity, "invalid", "node ID must be 1-32 lower-case letters, digits or hyphens")
		return
	}
	caKey, err1 := os.ReadFile(n.layout.CAKey())
	caCert, err2 := os.ReadFile(n.layout.CACert())
	ck, err3 := os.ReadFile(n.layout.ClusterKey())
	if err := errors.Join(err1, err2, err3); err != nil {
		n.log.Error("join: reading cluster secrets failed", "err", err)
		fail(http.StatusInternalServerError, "internal", "internal error")
		return
	}
	ca, err := raftcluster.LoadCA(caCert, caKey)
	if err != nil {
		fail(http.StatusInternalServerError, "internal", "internal error")
		return
	}
	cert, err := ca.SignNode([]byte(req.CSR), req.NodeID, req.Hosts)
	if err != nil {
		fail(http.StatusUnprocessableEntity, "invalid", "certificate request is not valid")
		return
	}
	n.log.Info("issued credentials to joining node", "joining_node", req.NodeID)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(joinResponse{
		CACert: string(caCert), CAKey: string(caKey), NodeCert: string(append(cert, caCert...)),
		ClusterKey: strings.TrimSpace(string(ck)), JoinHash: strings.TrimSpace(string(want)), ClusterAddr: n.nf.AdvertiseRaft,
	})
}

// completeJoin asks the cluster to add this node as a voter, retrying until
// it succeeds or ctx ends, then records it in node.json.
func (n *Node) completeJoin(ctx context.Context) {
	cl := raftcluster.NewClient(n.identity)
	for attempt := 0; ; attempt++ {
		err := cl.Join(ctx, n.nf.JoinAddr, n.nf.NodeID, n.nf.AdvertiseRaft)
		if err == nil {
			n.nf.Joined = true
			if err := n.layout.WriteNode(n.nf); err != nil {
				n.log.Error("recording join failed", "err", err)
			}
			n.log.Info("joined the cluster", "via", n.nf.JoinAddr)
			return
		}
		n.log.Warn("join attempt failed; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
