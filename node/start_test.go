package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A node whose data directory is damaged — a file missing or corrupt — or
// whose configuration is impossible refuses to start, and says what is
// wrong, before it listens or talks to anyone.
func TestStartRefusesADamagedDataDirectory(t *testing.T) {
	t.Parallel()
	garbage := []byte("not what belongs here")
	for _, tc := range []struct {
		name   string
		damage func(l Layout)
		config func(c *Config)
		want   string
	}{
		{"no node", func(l Layout) { os.Remove(l.NodeFile()) }, nil, "run 'daisydog init'"},
		{"node certificate missing", func(l Layout) { os.Remove(l.NodeCert()) }, nil, "reading TLS files"},
		{"node certificate corrupt", func(l Layout) { os.WriteFile(l.NodeCert(), garbage, 0o600) }, nil, "node certificate"},
		{"CA certificate corrupt", func(l Layout) { os.WriteFile(l.CACert(), garbage, 0o600) }, nil, "CA certificate is not PEM"},
		{"cluster key missing", func(l Layout) { os.Remove(l.ClusterKey()) }, nil, "cluster key"},
		{"cluster key corrupt", func(l Layout) { os.WriteFile(l.ClusterKey(), []byte("abcd\n"), 0o600) }, nil, "cluster key file is corrupt"},
		{"database corrupt", func(l Layout) {
			os.MkdirAll(filepath.Dir(l.DBFile()), 0o700)
			os.WriteFile(l.DBFile(), []byte(strings.Repeat("not a database ", 400)), 0o600)
		}, nil, "database"},
		{"a policy module that is no WebAssembly", nil, func(c *Config) { c.PolicyModule = garbage }, "policy"},
		{"an impossible retention chunk", nil, func(c *Config) { c.RetentionChunk = -1 }, "retention chunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "n1")
			l := Layout{Dir: dir}
			if _, err := Init(l, nodeAddrs(t, "n1")); err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				tc.damage(l)
			}
			cfg := Config{DataDir: dir, Logger: testLogger(t), Argon2: fastArgon, NoPolicyWarm: true, PolicyCacheDir: sharedPolicyCache,
				OnFatal: func(err error) { t.Errorf("fatal: %v", err) }}
			if tc.config != nil {
				tc.config(&cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			releaseNodeAddrs(dir)
			n, err := Start(ctx, cfg)
			if err == nil {
				n.Close(ctx)
				t.Fatal("started")
			}
			t.Logf("refused: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}
}
