package storage

import (
	"errors"
	"fmt"
	"testing"
)

// TestNewerKindsAreTheHighestThisBinaryApplies: what a node advertises must
// be exactly what it can apply — each kind at its version decodes, the next
// version does not (an advertisement too high would let a leader propose an
// entry this node stops on).
func TestNewerKindsAreTheHighestThisBinaryApplies(t *testing.T) {
	kinds := NewerKinds()
	if len(kinds) == 0 {
		t.Fatal("no newer kinds: the retention command is newer than the baseline")
	}
	for kind, v := range kinds {
		for _, tc := range []struct {
			version int
			ok      bool
		}{{v, true}, {v + 1, false}} {
			_, err := Decode([]byte(fmt.Sprintf(`{"t":%q,"v":%d,"b":{}}`, kind, tc.version)))
			if got := !errors.Is(err, ErrUnsupported); got != tc.ok {
				t.Errorf("%s v%d: decode error %v, want applicable=%t", kind, tc.version, err, tc.ok)
			}
		}
	}
}
