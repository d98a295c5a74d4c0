package node

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Signing keys rotate on schedule through Raft; tokens signed with an older
// key keep working until they expire, and keys no live token can use are retired.
func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	nodes := startCluster(t, 2, func(c *Config) { c.Now = clock; c.KeyRotation = 24 * time.Hour })
	fam := newFamily(t, nodes[0], "rotate@example.test", "Kip", "9-12")
	keyIDs := func(n *testNode) []string {
		var jwks struct{ Keys []struct{ Kid string } }
		if st, _ := n.call(t, "GET", "/.well-known/jwks.json", "", nil, &jwks); st != 200 {
			t.Fatalf("jwks: %d", st)
		}
		var ids []string
		for _, k := range jwks.Keys {
			ids = append(ids, k.Kid)
		}
		return ids
	}
	first := keyIDs(nodes[0])
	if len(first) != 1 {
		t.Fatalf("keys at start: %v", first)
	}

	offset.Store(int64(25 * time.Hour)) // past one rotation period
	for _, n := range nodes {
		waitFor(t, 10*time.Second, "second key on "+n.nf.NodeID, func() error {
			if ids := keyIDs(n); len(ids) != 2 {
				return fmt.Errorf("keys %v", ids)
			}
			return nil
		})
	}
	// The child's device token was signed with the first key and is still valid.
	if st, _ := nodes[1].chat(t, fam.childToken, "hi"); st != 200 {
		t.Fatalf("token signed by the previous key: %d", st)
	}

	// Far enough ahead that no token of the first key can be alive: it is retired.
	offset.Store(int64(25*time.Hour + 24*time.Hour + 31*24*time.Hour + 2*time.Hour))
	for _, n := range nodes {
		waitFor(t, 10*time.Second, "first key retired on "+n.nf.NodeID, func() error {
			for _, id := range keyIDs(n) {
				if id == first[0] {
					return fmt.Errorf("first key %s still listed", id)
				}
			}
			return nil
		})
	}
	if st, _ := nodes[0].chat(t, fam.childToken, "hi"); st != 401 {
		t.Fatalf("token of a retired key: %d", st)
	}
}
