package node

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout names the files of a data directory.
type Layout struct{ Dir string }

func (l Layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.Dir}, parts...)...)
}

// Paths within the data directory.
func (l Layout) NodeFile() string   { return l.path("node.json") }
func (l Layout) CACert() string     { return l.path("tls", "ca.crt") }
func (l Layout) CAKey() string      { return l.path("tls", "ca.key") }
func (l Layout) NodeCert() string   { return l.path("tls", "node.crt") }
func (l Layout) NodeKey() string    { return l.path("tls", "node.key") }
func (l Layout) ClusterKey() string { return l.path("keys", "cluster.key") }
func (l Layout) JoinHash() string   { return l.path("keys", "join-token.sha256") }
func (l Layout) RaftDir() string    { return l.path("raft") }
func (l Layout) DBFile() string     { return l.path("db", "daisydog.db") }
func (l Layout) CacheDir() string   { return l.path("cache", "wasm") }

// NodeFile is node.json: this server's identity and addresses.
type NodeFile struct {
	NodeID        string `json:"node_id"`
	HTTPAddr      string `json:"http_addr"`      // HTTPS API listen address
	RaftAddr      string `json:"raft_addr"`      // cluster port listen address
	AdvertiseRaft string `json:"advertise_raft"` // cluster address peers dial
	AdvertiseHTTP string `json:"advertise_http"` // API address clients use
	Bootstrap     bool   `json:"bootstrap"`      // this node formed the cluster
	JoinAddr      string `json:"join_addr,omitempty"`
	Joined        bool   `json:"joined"` // the cluster accepted this node as a voter
}

// Initialized reports whether the data directory holds a node.
func (l Layout) Initialized() bool {
	_, err := os.Stat(l.NodeFile())
	return err == nil
}

// ReadNode loads node.json.
func (l Layout) ReadNode() (NodeFile, error) {
	var n NodeFile
	b, err := os.ReadFile(l.NodeFile())
	if errors.Is(err, os.ErrNotExist) {
		return n, fmt.Errorf("no node in %s: run 'daisydog init' or 'daisydog join' first", l.Dir)
	}
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return n, fmt.Errorf("%s: %w", l.NodeFile(), err)
	}
	return n, nil
}

// WriteNode saves node.json atomically.
func (l Layout) WriteNode(n NodeFile) error {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(l.NodeFile(), append(b, '\n'), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	// The bytes reach the disk before the name does, and the name before
	// the caller goes on: a crash leaves the old file or the new one, whole
	// (these are the node's identity and secrets), never an empty one.
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		err = d.Sync()
		_ = d.Close()
		if err != nil {
			return fmt.Errorf("write %s: sync directory: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// ReadClusterKey loads the 32-byte cluster key.
func (l Layout) ReadClusterKey() ([]byte, error) {
	b, err := os.ReadFile(l.ClusterKey())
	if err != nil {
		return nil, fmt.Errorf("cluster key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, errors.New("cluster key file is corrupt")
	}
	return k, nil
}
