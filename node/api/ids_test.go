package api

import (
	"regexp"
	"testing"
	"time"
)

func TestTimeOrderedIDs(t *testing.T) {
	format := regexp.MustCompile(`^tu_[0-9a-f]{32}$`)
	start := time.UnixMilli(1_790_000_000_000)
	const n = 2000
	ids := make([]string, n)
	seen := map[string]bool{}
	for i := range ids {
		// Several IDs share each millisecond: order between them is random,
		// order across milliseconds follows the time.
		now := start.Add(time.Duration(i/4) * time.Millisecond)
		id := newTimeOrderedID("tu_", now)
		if !format.MatchString(id) {
			t.Fatalf("id %q does not have newID's format", id)
		}
		if seen[id] {
			t.Fatalf("id %q issued twice", id)
		}
		seen[id] = true
		ids[i] = id
	}
	for i := 4; i < n; i++ {
		if ids[i-4] >= ids[i] {
			t.Fatalf("id %d (%s) sorts before id %d (%s), which is a millisecond older", i, ids[i], i-4, ids[i-4])
		}
	}
	// The time prefix is the millisecond, big-endian.
	if got, want := newTimeOrderedID("tu_", start)[3:15], "01a0c4506c00"; got != want {
		t.Fatalf("time prefix %s, want %s (1790000000000 ms)", got, want)
	}
	// The random part differs between two IDs of the same millisecond.
	a, b := newTimeOrderedID("tu_", start), newTimeOrderedID("tu_", start)
	if a[15:] == b[15:] {
		t.Fatalf("two IDs of the same millisecond share their random part: %s %s", a, b)
	}
}
