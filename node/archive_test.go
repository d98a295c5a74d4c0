package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// TestPointInTimeRecovery: a child is deleted by mistake; the backup of
// the night before plus the log archive bring back the family as it was
// just before the deletion, with every chat turn of that morning — and,
// asked for a later moment, the state after it.
func TestPointInTimeRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	archive := filepath.Join(t.TempDir(), "archive")
	n := startCluster(t, 1, func(c *Config) { c.Archive = ArchiveConfig{Dir: archive, Keep: 24 * time.Hour} })[0]
	const email, password = "pitr@example.test", "correct horse battery staple"
	fam := newFamily(t, n, email, "Clover", "9-12")
	if st, _ := n.chat(t, fam.childToken, "before the backup"); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	backup := filepath.Join(t.TempDir(), "night.backup")
	if _, err := Backup(ctx, Layout{Dir: n.dir}, backup); err != nil {
		t.Fatal(err)
	}
	morning := []string{"good morning daisy", "can you do a trick", "I ate pancakes"}
	for _, m := range morning {
		if st, _ := n.chat(t, fam.childToken, m); st != 200 {
			t.Fatalf("chat %q: %d", m, st)
		}
	}
	beforeMistake := time.Now()
	if st, _ := n.call(t, "DELETE", "/v1/children/"+fam.childID, fam.parentToken, nil, nil); st != 204 {
		t.Fatalf("delete the child: %d", st)
	}
	afterMistake := time.Now()
	key, err := Layout{Dir: n.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(archive, "daisydog-*"+archiveSuffix))
	if len(segs) != 1 {
		t.Fatalf("archive segments: %v", segs)
	}
	if raw, _ := os.ReadFile(segs[0]); bytes.Contains(raw, []byte("pancakes")) || bytes.Contains(raw, []byte("pitr@example")) {
		t.Fatal("the archive is not sealed")
	}

	// turnsAfterRestore restores to until into a new one-node cluster and
	// returns how many turns the parent sees for the child (-1: no child).
	turnsAfterRestore := func(t *testing.T, until time.Time) (int, RecoveryInfo) {
		dir := filepath.Join(t.TempDir(), "restored")
		_, info, err := RestoreToPoint(ctx, Layout{Dir: dir}, nodeAddrs(t, "r1"), backup, key, []string{archive}, until)
		if err != nil {
			t.Fatalf("restore to %v: %v", until, err)
		}
		r := startTestNode(t, dir, nil)
		waitFor(t, 30*time.Second, "restored node ready", func() error { return r.ready(ctx) })
		var login struct {
			AccessToken string `json:"access_token"`
		}
		if st, _ := r.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); st != 200 {
			t.Fatalf("parent login on the restored cluster: %d", st)
		}
		var hist struct{ Turns []struct{ Message string } }
		st, _ := r.call(t, "GET", "/v1/children/"+fam.childID+"/turns", login.AccessToken, nil, &hist)
		switch st {
		case 404:
			return -1, info
		case 200:
			if len(hist.Turns) > 0 && hist.Turns[0].Message != morning[len(morning)-1] {
				t.Fatalf("newest turn %q, want %q", hist.Turns[0].Message, morning[len(morning)-1])
			}
			return len(hist.Turns), info
		}
		t.Fatalf("history on the restored cluster: %d", st)
		return 0, info
	}

	t.Run("just before the mistake", func(t *testing.T) {
		got, info := turnsAfterRestore(t, beforeMistake)
		if got != 1+len(morning) {
			t.Fatalf("turns %d, want %d (the backup's one and the morning's)", got, 1+len(morning))
		}
		if info.Commands < len(morning) || info.EndOfArchive || info.LastAt.After(beforeMistake) {
			t.Fatalf("recovery %+v", info)
		}
	})
	t.Run("after the mistake", func(t *testing.T) {
		if got, info := turnsAfterRestore(t, afterMistake); got != -1 || info.LastAt.After(afterMistake) {
			t.Fatalf("turns %d (%+v), want the child deleted", got, info)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		wrong := append([]byte{}, key...)
		wrong[0] ^= 1
		empty := t.TempDir()
		// The archive beside that of another cluster under the same key
		// (a restored cluster keeps it).
		mixed := t.TempDir()
		raw, err := os.ReadFile(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mixed, filepath.Base(segs[0])), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		kr, err := storage.NewKeyring(key)
		if err != nil {
			t.Fatal(err)
		}
		other, err := openArchive(ArchiveConfig{Dir: mixed, Keep: time.Hour}, "ffffffffffff", "r1", kr.ArchiveKey(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		other.appendBatch(0, 1, []raftcluster.Entry{{Index: 1, Data: []byte("x"), At: time.Now()}})
		if err := other.close(); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			key  []byte
			dirs []string
			want string
		}{
			{"wrong key", wrong, []string{archive}, "does not open with this cluster key"},
			{"no segments", key, []string{empty}, "no segments"},
			{"missing directory", key, []string{filepath.Join(empty, "nope")}, "no such file"},
			{"two clusters", key, []string{mixed}, "hold segments of 2 clusters that open with this key (daisydog-"},
		} {
			dir := filepath.Join(t.TempDir(), "r")
			_, _, err := RestoreToPoint(ctx, Layout{Dir: dir}, nodeAddrs(t, "r1"), backup, tc.key, tc.dirs, afterMistake)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			}
			if exists(dir) {
				t.Errorf("%s: %s left behind", tc.name, dir)
			}
		}
	})
}

// TestArchiveSegments: records round-trip through a segment; a record cut
// short by a crash ends the segment; a damaged record or another key is an
// error; a node resumes with a new segment; old segments are pruned.
func TestArchiveSegments(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openArchive(ArchiveConfig{Dir: dir, Keep: time.Hour}, "0123456789ab", "n1", key, log)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a.appendBatch(0, 3, []raftcluster.Entry{{Index: 1, Data: []byte("one"), At: at}, {Index: 2}, {Index: 3, Data: []byte("three"), At: at.Add(time.Second)}})
	a.appendBatch(3, 4, []raftcluster.Entry{{Index: 4, Data: []byte("four"), At: at.Add(2 * time.Second)}})
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "daisydog-0123456789ab-n1-*"+archiveSuffix))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	got, torn, err := readArchiveSegment(segs[0], key)
	if err != nil || torn || len(got) != 2 {
		t.Fatalf("read: %d batches, torn %v, %v", len(got), torn, err)
	}
	if b := got[0]; b.From != 0 || b.To != 3 || len(b.Entries) != 2 || string(b.Entries[1].Data) != "three" || !b.Entries[1].At.Equal(at.Add(time.Second)) {
		t.Fatalf("first batch %+v", b)
	}

	raw, _ := os.ReadFile(segs[0])
	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), "daisydog-0123456789ab-n1-x"+archiveSuffix)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got, torn, err := readArchiveSegment(write(raw[:len(raw)-3]), key); err != nil || !torn || len(got) != 1 {
		t.Fatalf("torn tail: %d batches, torn %v, %v", len(got), torn, err)
	}
	bad := append([]byte{}, raw...)
	bad[len(archiveMagic)+10] ^= 1
	if _, _, err := readArchiveSegment(write(bad), key); !errors.Is(err, ErrArchiveKey) {
		t.Fatalf("damaged record: %v", err)
	}
	if _, _, err := readArchiveSegment(write(raw), bytes.Repeat([]byte{8}, 32)); !errors.Is(err, ErrArchiveKey) {
		t.Fatalf("other key: %v", err)
	}
	if _, _, err := readArchiveSegment(write([]byte("shopping list")), key); err == nil || !strings.Contains(err.Error(), "not a DaisyDog log archive") {
		t.Fatalf("not a segment: %v", err)
	}
	// A record length beyond any record the archive writes (a damaged
	// length field) is refused, not allocated.
	huge := append([]byte(archiveMagic), 0xff, 0xff, 0xff, 0x7f)
	if _, _, err := readArchiveSegment(write(huge), key); !errors.Is(err, errArchiveRecord) {
		t.Fatalf("absurd record length: %v", err)
	}
	if _, _, err := readArchiveSegment(filepath.Join(t.TempDir(), "none"+archiveSuffix), key); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing segment: %v", err)
	}

	// Writing again starts a new segment; pruning keeps the current one
	// and this node's recent ones, and never touches other nodes'.
	a.appendBatch(4, 5, []raftcluster.Entry{{Index: 5, Data: []byte("five"), At: at.Add(3 * time.Second)}})
	other := filepath.Join(dir, "daisydog-0123456789ab-n2-20261127T000000.000Z"+archiveSuffix)
	if err := os.WriteFile(other, []byte(archiveMagic), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{segs[0], other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.prune(time.Now()); err != nil || n != 1 || exists(segs[0]) || !exists(other) {
		t.Fatalf("prune: %d %v (old segment kept: %v, other node's kept: %v)", n, err, exists(segs[0]), exists(other))
	}
	if err := a.sync(); err != nil {
		t.Fatal(err)
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "daisydog-0123456789ab-n1-*"+archiveSuffix))
	if len(left) != 1 {
		t.Fatalf("segments left %v", left)
	}
	if got, _, err := readArchiveSegment(left[0], key); err != nil || len(got) != 1 || got[0].From != 4 {
		t.Fatalf("new segment: %+v %v", got, err)
	}
}

// TestPlanReplay: which archived commands a recovery applies, from the
// intervals the archives hold completely.
func TestPlanReplay(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	e := func(i uint64) raftcluster.Entry {
		return raftcluster.Entry{Index: i, Data: []byte{byte(i)}, At: t0.Add(time.Duration(i) * time.Minute)}
	}
	b := func(from, to uint64, idx ...uint64) archiveBatch {
		out := archiveBatch{From: from, To: to}
		for _, i := range idx {
			out.Entries = append(out.Entries, e(i))
		}
		return out
	}
	at := func(i uint64) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	cases := []struct {
		name    string
		batches []archiveBatch
		from    uint64
		until   time.Time
		want    []uint64
		passed  bool
		err     string
	}{
		{"stops at the first command after until", []archiveBatch{b(0, 3, 1, 3), b(3, 6, 5, 6)}, 0, at(5), []uint64{1, 3, 5}, true, ""},
		{"starts after the backup, mid-batch", []archiveBatch{b(0, 3, 1, 2, 3), b(3, 6, 5, 6)}, 2, at(9), []uint64{3, 5, 6}, false, ""},
		{"two nodes' archives fill each other's gap", []archiveBatch{b(0, 3, 1, 3), b(8, 9, 9), b(2, 8, 3, 4, 7)}, 0, at(9), []uint64{1, 3, 4, 7, 9}, false, ""},
		{"a gap before until", []archiveBatch{b(0, 3, 1, 3), b(6, 9, 7)}, 0, at(8), nil, false, "no archive given holds the log after index 3"},
		{"a gap after until is no matter", []archiveBatch{b(0, 3, 1, 3), b(6, 9, 7)}, 0, at(2), []uint64{1}, true, ""},
		{"the archive begins after the backup", []archiveBatch{b(5, 9, 7)}, 2, at(9), nil, false, "after index 2"},
		{"the backup is newer than the archive", []archiveBatch{b(0, 3, 1)}, 5, at(9), nil, false, "the backup is newer than the archive"},
		{"nothing after the backup yet", []archiveBatch{b(0, 3, 1, 3)}, 3, at(9), nil, false, ""},
		{"archives of two clusters", []archiveBatch{b(0, 3, 1), {From: 0, To: 1, Entries: []raftcluster.Entry{{Index: 1, Data: []byte("x")}}}}, 0, at(9), nil, false, "mix clusters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planReplay(tc.batches, tc.from, tc.until)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, e := range p.Entries {
				got = append(got, e.Index)
			}
			if !slices.Equal(got, tc.want) || p.Passed != tc.passed {
				t.Fatalf("entries %v passed %v, want %v passed %v", got, p.Passed, tc.want, tc.passed)
			}
		})
	}
}

// TestPointInTimeRecoveryAcrossNodes: a follower that was down while the
// log was compacted catches up by snapshot, so its own archive misses that
// stretch; a recovery from its archive alone is refused, and with the
// other nodes' archives it brings back every turn.
func TestPointInTimeRecoveryAcrossNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	archiveOf := func(dataDir string) string {
		return filepath.Join(filepath.Dir(dataDir), "archive-"+filepath.Base(dataDir))
	}
	mod := func(c *Config) {
		c.SnapshotThreshold = 40
		c.TrailingLogs = 10
		c.SnapshotInterval = 200 * time.Millisecond
		c.Archive = ArchiveConfig{Dir: archiveOf(c.DataDir), Keep: 24 * time.Hour}
	}
	nodes := startCluster(t, 3, mod)
	leader, followers := leaderOf(t, nodes)
	const email, password = "pitr-nodes@example.test", "correct horse battery staple"
	fam := newFamily(t, leader, email, "Juniper", "9-12")
	backup := filepath.Join(t.TempDir(), "night.backup")
	if _, err := Backup(ctx, Layout{Dir: leader.dir}, backup); err != nil {
		t.Fatal(err)
	}
	key, err := Layout{Dir: leader.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	late := followers[0]
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = late.Cluster().WaitApplied(wctx, leader.Cluster().Status().AppliedIndex) // its archive reaches past the backup
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	late.stop(t)
	lateApplied := late.Cluster().Status().AppliedIndex // all it applied before it stopped

	// Enough entries to snapshot and trim the log past the stopped follower.
	const turns = 60
	for i := 0; i < turns; i++ {
		if st, _ := leader.chat(t, fam.childToken, fmt.Sprintf("turn number %d", i)); st != 200 {
			t.Fatalf("chat %d: %d", i, st)
		}
	}
	// The leader's log no longer holds what the follower needs next: a
	// snapshot beyond it (plus the 10 trailing entries kept), and then
	// another one, so that the first one's log compaction — which Raft
	// does after it reports the snapshot — has surely finished.
	var first uint64
	waitFor(t, 30*time.Second, "a leader snapshot past the stopped follower", func() error {
		if first = leader.Cluster().Status().LastSnapshotIndex; first <= lateApplied+20 {
			return fmt.Errorf("last snapshot at %d, follower at %d", first, lateApplied)
		}
		return nil
	})
	extra := 0
	waitFor(t, 60*time.Second, "a second leader snapshot", func() error {
		if got := leader.Cluster().Status().LastSnapshotIndex; got > first {
			return nil
		}
		if st, _ := leader.chat(t, fam.childToken, fmt.Sprintf("more turns %d", extra)); st != 200 {
			t.Fatalf("chat: %d", st)
		}
		extra++
		return fmt.Errorf("still at %d after %d more turns", first, extra)
	})
	restarted := startTestNode(t, late.dir, mod)
	// Turns after its return: its archive continues after the snapshot.
	for i := 0; i < 3; i++ {
		if st, _ := leader.chat(t, fam.childToken, fmt.Sprintf("after the return %d", i)); st != 200 {
			t.Fatalf("chat: %d", st)
		}
	}
	total := turns + extra + 3
	until := time.Now()
	applied := leader.Cluster().Status().AppliedIndex
	wctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	err = restarted.Cluster().WaitApplied(wctx, applied)
	cancel()
	if err != nil {
		t.Fatalf("the restarted follower did not catch up: %v", err)
	}

	_, _, err = RestoreToPoint(ctx, Layout{Dir: filepath.Join(t.TempDir(), "r")}, nodeAddrs(t, "r1"), backup, key, []string{archiveOf(late.dir)}, until)
	if err == nil || !strings.Contains(err.Error(), "no archive given holds the log after index") {
		t.Fatalf("recovery from the follower's archive alone: %v, want a gap", err)
	}
	var dirs []string
	for _, n := range nodes {
		dirs = append(dirs, archiveOf(n.dir))
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, info, err := RestoreToPoint(ctx, Layout{Dir: dir}, nodeAddrs(t, "r1"), backup, key, dirs, until); err != nil || info.Commands < total {
		t.Fatalf("recovery from every archive: %+v %v", info, err)
	}
	r := startTestNode(t, dir, nil)
	waitFor(t, 30*time.Second, "restored node ready", func() error { return r.ready(ctx) })
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := r.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	// The newest 100 turns (the most one page holds) are the old cluster's.
	type history struct {
		Turns []struct {
			ID      string
			Seq     int64
			Message string
		}
	}
	var got, want history
	if st, _ := r.call(t, "GET", "/v1/children/"+fam.childID+"/turns?limit=100", login.AccessToken, nil, &got); st != 200 {
		t.Fatalf("history on the restored cluster: %d", st)
	}
	if st, _ := leader.call(t, "GET", "/v1/children/"+fam.childID+"/turns?limit=100", fam.parentToken, nil, &want); st != 200 {
		t.Fatalf("history on the old cluster: %d", st)
	}
	if len(got.Turns) != min(total, 100) || fmt.Sprint(got) != fmt.Sprint(want) || got.Turns[0].Seq != int64(total) {
		t.Fatalf("restored history (%d turns, newest seq %v) differs from the old cluster's (%d turns of %d)", len(got.Turns), got.Turns[0].Seq, len(want.Turns), total)
	}
}

// TestArchiveKeepsGoing: a write that fails (the directory is gone) is
// logged once and leaves a gap, the next one after it is back writes again;
// left to itself the archive syncs and deletes this node's old segments.
func TestArchiveKeepsGoing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	key := bytes.Repeat([]byte{7}, 32)
	var logs syncBuffer
	a, err := openArchive(ArchiveConfig{Dir: dir, Keep: time.Hour}, "0123456789ab", "n1", key, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	a.appendBatch(0, 1, []raftcluster.Entry{{Index: 1, Data: []byte("one")}})
	a.appendBatch(1, 2, []raftcluster.Entry{{Index: 2, Data: []byte("two")}})
	if got := strings.Count(logs.String(), "writing failed"); got != 1 {
		t.Fatalf("%d failure lines, want one:\n%s", got, logs.String())
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	a.appendBatch(2, 3, []raftcluster.Entry{{Index: 3, Data: []byte("three")}})
	if !strings.Contains(logs.String(), "writing again") {
		t.Fatalf("no recovery line:\n%s", logs.String())
	}

	old := filepath.Join(dir, "daisydog-0123456789ab-n1-20261101T000000.000Z"+archiveSuffix)
	if err := os.WriteFile(old, []byte(archiveMagic), 0o600); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	a.syncEvery, a.pruneEvery = 5*time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.run(ctx, time.Now) }()
	waitFor(t, 10*time.Second, "the old segment to be pruned", func() error {
		if exists(old) {
			return errors.New("still there")
		}
		return nil
	})
	cancel()
	<-done
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "daisydog-0123456789ab-n1-*"+archiveSuffix))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	got, torn, err := readArchiveSegment(segs[0], key)
	if err != nil || torn || len(got) != 1 || got[0].From != 2 {
		t.Fatalf("after the gap: %+v torn %v %v", got, torn, err)
	}
}

// TestArchiveConfigAndRecords: configurations refused on their face, and
// records that do not decode.
func TestArchiveConfigAndRecords(t *testing.T) {
	for _, tc := range []struct {
		c    ArchiveConfig
		want string
	}{
		{ArchiveConfig{}, ""},
		{ArchiveConfig{Dir: "/archive", Keep: time.Hour}, ""},
		{ArchiveConfig{Dir: "archive", Keep: time.Hour}, "must be an absolute path"},
		{ArchiveConfig{Dir: "/archive", Keep: time.Minute}, "shorter than an hour"},
	} {
		err := tc.c.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
	good := encodeArchiveBatch(archiveBatch{From: 4, To: 6, Entries: []raftcluster.Entry{{Index: 5, Data: []byte("five")}}})
	if b, err := decodeArchiveBatch(good); err != nil || b.From != 4 || len(b.Entries) != 1 || !b.Entries[0].At.IsZero() {
		t.Fatalf("good record: %+v %v", b, err)
	}
	outside := encodeArchiveBatch(archiveBatch{From: 4, To: 6, Entries: []raftcluster.Entry{{Index: 9, Data: []byte("nine")}}})
	backwards := encodeArchiveBatch(archiveBatch{From: 6, To: 4})
	for name, rec := range map[string][]byte{
		"short":                 good[:10],
		"entry cut short":       good[:len(good)-2],
		"trailing bytes":        append(append([]byte{}, good...), 0),
		"entry outside batch":   outside,
		"ends before it starts": backwards,
		"entry header cut":      good[:25],
	} {
		if _, err := decodeArchiveBatch(rec); !errors.Is(err, errArchiveRecord) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestReplayArchiveRefusals: files that are not segments are left alone;
// when no segment of any cluster opens with the key, the refusal says so
// and names them.
func TestReplayArchiveRefusals(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, cluster := range []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb"} {
		a, err := openArchive(ArchiveConfig{Dir: dir, Keep: time.Hour}, cluster, "n1", k1, log)
		if err != nil {
			t.Fatal(err)
		}
		a.appendBatch(0, 1, []raftcluster.Entry{{Index: 1, Data: []byte("one"), At: time.Now()}})
		if err := a.close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"notes.txt", "daisydog-short-n1-x" + archiveSuffix, "daisydog-cccccccccccc-n1-x.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a segment"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := archiveSegments([]string{dir})
	if err != nil || len(segs) != 2 || len(segs["aaaaaaaaaaaa"]) != 1 || len(segs["bbbbbbbbbbbb"]) != 1 {
		t.Fatalf("segments %v %v", segs, err)
	}
	db := filepath.Join(t.TempDir(), "db")
	_, err = replayArchive(context.Background(), db, 0, []string{dir}, k2, time.Now())
	if err == nil || !strings.Contains(err.Error(), "no segment opens with this cluster key") || !strings.Contains(err.Error(), "daisydog-aaaaaaaaaaaa-n1-") {
		t.Fatalf("another key: %v", err)
	}
	if exists(db) {
		t.Fatal("a refused replay created the database")
	}
}
