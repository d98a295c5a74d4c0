package node

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// The log archive: point-in-time recovery. A backup brings back the state
// of the moment it was taken; a mistake that replicated (a wrong deletion,
// a bug) is on every node at once. With --archive-dir a node also appends
// every command its state machine applies — with its log index and the
// time the leader appended it — to sealed segment files in that directory.
// `daisydog restore --from BACKUP --archive DIR --until TIME` then opens the
// backup and applies the archived commands that follow it, in log order,
// up to the last one appended at or before TIME: the state the cluster had
// at that moment.
//
// Each record is one applied batch: the applied index before it (from),
// its last index (to) and its commands. A node applies every command of
// (from, to], so the union of the batches' intervals, over one node's
// segments or several nodes', tells which stretches of the log the archive
// holds completely. A node that catches up by snapshot skips a stretch; a
// restore refuses to cross a stretch no archive holds (pass the archive
// of another node, or an earlier --until). Records are sealed with
// XChaCha20-Poly1305 under a key derived from the cluster key (like
// backups: the cluster key opens them, and the chat texts inside commands
// are sealed per family anyway). Writes are not synced one by one (a
// crash of the process loses nothing, the operating system has them; a
// power cut may lose the last second, which a restore reports as the end
// of that node's archive); a record cut short by a crash ends its segment.

// ArchiveConfig turns the log archive on.
type ArchiveConfig struct {
	Dir  string        // where segments go ("" = no archive); absolute
	Keep time.Duration // segments of this node last written longer ago are deleted
}

// Validate refuses a configuration that is wrong on its face.
func (c ArchiveConfig) Validate() error {
	if c.Dir == "" {
		return nil
	}
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("archive directory %q must be an absolute path", c.Dir)
	}
	if c.Keep < time.Hour {
		return fmt.Errorf("archive retention %v is shorter than an hour", c.Keep)
	}
	return nil
}

const (
	archiveSuffix     = ".ddar"
	archiveMagic      = "DDAR1\n"
	archiveAAD        = "daisydog/log-archive/v1"
	archiveSegmentMax = 64 << 20
	archiveSyncEvery  = time.Second
	archivePruneEvery = time.Hour
	// maxArchiveRecord bounds one record when reading (a batch of Raft
	// entries is far smaller).
	maxArchiveRecord = 256 << 20
)

// logArchive appends applied batches to this node's segments.
type logArchive struct {
	dir, prefix string // prefix: "daisydog-CLUSTER-NODE-"
	key         []byte
	keep        time.Duration
	log         *slog.Logger
	// syncEvery and pruneEvery pace run (archiveSyncEvery,
	// archivePruneEvery; tests shorten them).
	syncEvery, pruneEvery time.Duration

	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	size   int64
	dirty  bool
	failed bool // the last write failed (logged once until one succeeds)
}

// The cluster is named in segment names by the first 12 hex digits of the
// fingerprint of the CA it was made with (archiveID, carotation.go: a CA
// rotation does not change it; a restored cluster has a new CA, so its
// log, whose indexes start again at 1, never mixes with the old one's).

func openArchive(c ArchiveConfig, cluster, nodeID string, key []byte, log *slog.Logger) (*logArchive, error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("log archive: %w", err)
	}
	return &logArchive{dir: c.Dir, prefix: "daisydog-" + cluster + "-" + nodeID + "-", key: key, keep: c.Keep, log: log,
		syncEvery: archiveSyncEvery, pruneEvery: archivePruneEvery}, nil
}

// appendBatch records a batch the state machine applied: the applied index
// before it, its last index, and its commands (entries with data).
func (a *logArchive) appendBatch(from, to uint64, entries []raftcluster.Entry) {
	rec := encodeArchiveBatch(archiveBatch{From: from, To: to, Entries: entries})
	sealed, err := storage.Seal(a.key, rec, []byte(archiveAAD))
	if err == nil {
		err = a.write(sealed)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err != nil && !a.failed:
		a.failed = true
		a.log.Error("log archive: writing failed; point-in-time recovery will have a gap here", "from", from, "to", to, "err", err)
	case err == nil && a.failed:
		a.failed = false
		a.log.Info("log archive: writing again", "from", from)
	}
}

func (a *logArchive) write(sealed []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil || a.size >= archiveSegmentMax {
		if err := a.rotateLocked(); err != nil {
			return err
		}
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(sealed)))
	if _, err := a.w.Write(n[:]); err != nil {
		return err
	}
	if _, err := a.w.Write(sealed); err != nil {
		return err
	}
	// Hand the record to the operating system now: a crash of the
	// process then loses nothing.
	if err := a.w.Flush(); err != nil {
		return err
	}
	a.size += int64(4 + len(sealed))
	a.dirty = true
	return nil
}

// rotateLocked closes the current segment (synced) and starts a new one.
func (a *logArchive) rotateLocked() error {
	if err := a.closeLocked(); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		name := a.prefix + time.Now().UTC().Add(time.Duration(attempt)*time.Millisecond).Format("20060102T150405.000Z") + archiveSuffix
		f, err := os.OpenFile(filepath.Join(a.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && attempt < 1000 {
			continue
		}
		if err != nil {
			return err
		}
		a.f, a.w, a.size = f, bufio.NewWriterSize(f, 64<<10), 0
		if _, err := a.w.WriteString(archiveMagic); err != nil {
			return err
		}
		a.size = int64(len(archiveMagic))
		return nil
	}
}

func (a *logArchive) closeLocked() error {
	if a.f == nil {
		return nil
	}
	err := a.w.Flush()
	if serr := a.f.Sync(); err == nil {
		err = serr
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f, a.w, a.dirty = nil, nil, false
	return err
}

// sync makes what was written durable. The state machine's next batch does
// not wait for it: the file is synced outside the lock (a segment closed
// meanwhile was synced by closing it).
func (a *logArchive) sync() error {
	a.mu.Lock()
	f := a.f
	if f == nil || !a.dirty {
		a.mu.Unlock()
		return nil
	}
	a.dirty = false
	a.mu.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// close syncs and closes the current segment.
func (a *logArchive) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closeLocked()
}

// prune deletes this node's segments, other than the one being written,
// last modified before now - keep.
func (a *logArchive) prune(now time.Time) (int, error) {
	a.mu.Lock()
	current := ""
	if a.f != nil {
		current = a.f.Name()
	}
	a.mu.Unlock()
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, a.prefix) || !strings.HasSuffix(name, archiveSuffix) || filepath.Join(a.dir, name) == current {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(now.Add(-a.keep)) {
			continue
		}
		if err := os.Remove(filepath.Join(a.dir, name)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// run syncs every second and prunes every hour until ctx ends.
func (a *logArchive) run(ctx context.Context, now func() time.Time) {
	syncT := time.NewTicker(a.syncEvery)
	defer syncT.Stop()
	pruneT := time.NewTicker(a.pruneEvery)
	defer pruneT.Stop()
	for {
		select {
		case <-ctx.Done():
			return // Node.Close closes the archive once Raft stopped applying
		case <-syncT.C:
			if err := a.sync(); err != nil {
				a.log.Error("log archive: sync failed", "err", err)
			}
		case <-pruneT.C:
			if n, err := a.prune(now()); err != nil {
				a.log.Error("log archive: deleting old segments failed", "err", err)
			} else if n > 0 {
				a.log.Info("log archive: old segments deleted", "segments", n)
			}
		}
	}
}

// archiveBatch is one record: the state machine applied (From, To].
type archiveBatch struct {
	From, To uint64
	Entries  []raftcluster.Entry // the commands among them (Data set)
}

func encodeArchiveBatch(b archiveBatch) []byte {
	size := 20
	for _, e := range b.Entries {
		size += 20 + len(e.Data)
	}
	out := make([]byte, 0, size)
	out = binary.LittleEndian.AppendUint64(out, b.From)
	out = binary.LittleEndian.AppendUint64(out, b.To)
	n := 0
	for _, e := range b.Entries {
		if e.Data != nil {
			n++
		}
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	for _, e := range b.Entries {
		if e.Data == nil {
			continue
		}
		var at int64
		if !e.At.IsZero() {
			at = e.At.UnixNano()
		}
		out = binary.LittleEndian.AppendUint64(out, e.Index)
		out = binary.LittleEndian.AppendUint64(out, uint64(at))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e.Data)))
		out = append(out, e.Data...)
	}
	return out
}

var errArchiveRecord = errors.New("malformed log archive record")

func decodeArchiveBatch(b []byte) (archiveBatch, error) {
	if len(b) < 20 {
		return archiveBatch{}, errArchiveRecord
	}
	out := archiveBatch{From: binary.LittleEndian.Uint64(b), To: binary.LittleEndian.Uint64(b[8:])}
	n := binary.LittleEndian.Uint32(b[16:])
	b = b[20:]
	for i := uint32(0); i < n; i++ {
		if len(b) < 20 {
			return archiveBatch{}, errArchiveRecord
		}
		e := raftcluster.Entry{Index: binary.LittleEndian.Uint64(b)}
		if at := int64(binary.LittleEndian.Uint64(b[8:])); at != 0 {
			e.At = time.Unix(0, at).UTC()
		}
		size := binary.LittleEndian.Uint32(b[16:])
		b = b[20:]
		if uint64(len(b)) < uint64(size) {
			return archiveBatch{}, errArchiveRecord
		}
		e.Data = append([]byte{}, b[:size]...)
		b = b[size:]
		if e.Index <= out.From || e.Index > out.To {
			return archiveBatch{}, errArchiveRecord
		}
		out.Entries = append(out.Entries, e)
	}
	if len(b) != 0 || out.To < out.From {
		return archiveBatch{}, errArchiveRecord
	}
	return out, nil
}

// ErrArchiveKey: a segment does not open with the given cluster key.
var ErrArchiveKey = errors.New("the log archive does not open with this cluster key (wrong key, or a damaged segment)")

// readArchiveSegment reads one segment. A record cut short at the end (a
// crash while writing) ends it: torn reports that. A record that is whole
// but does not open is an error.
func readArchiveSegment(path string, key []byte) (batches []archiveBatch, torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	magic := make([]byte, len(archiveMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != archiveMagic {
		return nil, false, fmt.Errorf("%s: not a DaisyDog log archive segment", filepath.Base(path))
	}
	for {
		var n [4]byte
		if _, err := io.ReadFull(r, n[:]); err == io.EOF {
			return batches, false, nil
		} else if err != nil {
			return batches, true, nil
		}
		size := binary.LittleEndian.Uint32(n[:])
		if size > maxArchiveRecord {
			return batches, false, fmt.Errorf("%s: %w", filepath.Base(path), errArchiveRecord)
		}
		rec := make([]byte, size)
		if _, err := io.ReadFull(r, rec); err != nil {
			return batches, true, nil
		}
		plain, err := storage.Unseal(key, rec, []byte(archiveAAD))
		if err != nil {
			return batches, false, fmt.Errorf("%s: %w", filepath.Base(path), ErrArchiveKey)
		}
		b, err := decodeArchiveBatch(plain)
		if err != nil {
			return batches, false, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		batches = append(batches, b)
	}
}

// archiveSegments lists the segment files in dirs by the cluster their
// names give.
func archiveSegments(dirs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("log archive: %w", err)
		}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasPrefix(name, "daisydog-") || !strings.HasSuffix(name, archiveSuffix) {
				continue
			}
			parts := strings.SplitN(strings.TrimPrefix(name, "daisydog-"), "-", 2)
			if len(parts) != 2 || len(parts[0]) != 12 {
				continue
			}
			out[parts[0]] = append(out[parts[0]], filepath.Join(d, name))
		}
	}
	return out, nil
}

// replayPlan is what a point-in-time recovery applies after a backup.
type replayPlan struct {
	Entries []raftcluster.Entry // in log order, each appended at or before the target time
	// Reach is the last index up to which the archives hold the log
	// without a gap from the backup on; ReachAt the time of the last
	// command at or before it.
	Reach   uint64
	ReachAt time.Time
	// Passed: the archives hold a command appended after the target
	// time, so the plan brings back exactly the state of that moment.
	// Otherwise they end (or have a gap) before it: Gap says which.
	Passed bool
	Gap    bool
}

// planReplay chooses, from the batches of one cluster's archives, the
// commands to apply after a backup at index from, up to until.
func planReplay(batches []archiveBatch, from uint64, until time.Time) (replayPlan, error) {
	entries := map[uint64]raftcluster.Entry{}
	for _, b := range batches {
		for _, e := range b.Entries {
			if old, ok := entries[e.Index]; ok && old.Data != nil && e.Data != nil && string(old.Data) != string(e.Data) {
				return replayPlan{}, fmt.Errorf("log archive: two different commands at index %d: the archives mix clusters", e.Index)
			}
			entries[e.Index] = e
		}
	}
	sort.Slice(batches, func(i, j int) bool { return batches[i].From < batches[j].From })
	reach, moreAfter := from, false
	for _, b := range batches {
		if b.From > reach {
			moreAfter = true
			break
		}
		reach = max(reach, b.To)
	}
	var maxTo uint64
	for _, b := range batches {
		maxTo = max(maxTo, b.To)
	}
	if maxTo < from {
		return replayPlan{}, fmt.Errorf("log archive: it ends at index %d, before the backup's index %d: the backup is newer than the archive", maxTo, from)
	}
	idx := make([]uint64, 0, len(entries))
	for i := range entries {
		if i > from && i <= reach {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	p := replayPlan{Reach: reach, Gap: moreAfter}
	for _, i := range idx {
		e := entries[i]
		if e.At.After(until) {
			p.Passed = true
			break
		}
		p.Entries = append(p.Entries, e)
		p.ReachAt = e.At
	}
	if !p.Passed && p.Gap {
		at := "the backup"
		if !p.ReachAt.IsZero() {
			at = p.ReachAt.UTC().Format(time.RFC3339Nano)
		}
		return p, fmt.Errorf("log archive: no archive given holds the log after index %d (last command %s) although later segments exist: add the archive directory of another node, or recover to at most %s", reach, at, at)
	}
	return p, nil
}

// trimBatches drops what a recovery from a backup at index from to until
// cannot use, to bound the memory a restore needs: commands the backup
// already holds, and the data of commands appended after until (their
// index and time still mark where the target moment was passed).
func trimBatches(bs []archiveBatch, from uint64, until time.Time) []archiveBatch {
	for i := range bs {
		kept := bs[i].Entries[:0]
		for _, e := range bs[i].Entries {
			if e.Index <= from {
				continue
			}
			if e.At.After(until) {
				e.Data = nil
			}
			kept = append(kept, e)
		}
		bs[i].Entries = kept
	}
	return bs
}

// RecoveryInfo describes a point-in-time recovery.
type RecoveryInfo struct {
	BackupIndex uint64    // the backup's applied index
	Commands    int       // archived commands applied after it
	LastIndex   uint64    // the last one's index (the backup's when none)
	LastAt      time.Time // when the leader appended it (zero when none)
	// EndOfArchive: the archives end before --until; later writes, if
	// there were any, are not in them.
	EndOfArchive bool
}

// replayArchive applies to the database file db (a backup at applied
// index from, not yet prepared for a new cluster) the archived commands in
// dirs that follow it, up to until.
func replayArchive(ctx context.Context, db string, from uint64, dirs []string, key []byte, until time.Time) (RecoveryInfo, error) {
	info := RecoveryInfo{BackupIndex: from, LastIndex: from}
	segs, err := archiveSegments(dirs)
	if err != nil {
		return info, err
	}
	if len(segs) == 0 {
		return info, fmt.Errorf("log archive: no segments (daisydog-*%s) in %s", archiveSuffix, strings.Join(dirs, ", "))
	}
	var batches []archiveBatch
	var readErrs, opened []string
	for cluster, files := range segs {
		var bs []archiveBatch
		for _, f := range files {
			b, _, err := readArchiveSegment(f, key)
			if err != nil {
				if errors.Is(err, ErrArchiveKey) && len(segs) == 1 {
					return info, fmt.Errorf("log archive: %w", err)
				}
				readErrs = append(readErrs, err.Error())
				bs = nil
				break
			}
			bs = append(bs, trimBatches(b, from, until)...)
		}
		if bs == nil {
			continue
		}
		opened = append(opened, cluster)
		batches = bs
	}
	if len(opened) > 1 {
		// A restored cluster keeps the cluster key; its log starts again
		// at index 1 under a new CA, so its segments never mix with the
		// old cluster's — but they may share a directory.
		sort.Strings(opened)
		return info, fmt.Errorf("log archive: %s hold segments of %d clusters that open with this key (daisydog-%s-*): move aside those of the clusters the backup is not from", strings.Join(dirs, ", "), len(opened), strings.Join(opened, "-*, daisydog-"))
	}
	if batches == nil {
		return info, fmt.Errorf("log archive: no segment opens with this cluster key: %s", strings.Join(readErrs, "; "))
	}
	plan, err := planReplay(batches, from, until)
	if err != nil {
		return info, err
	}
	d, err := storage.Open(ctx, db)
	if err != nil {
		return info, err
	}
	const chunk = 256
	for i := 0; i < len(plan.Entries); i += chunk {
		part := plan.Entries[i:min(i+chunk, len(plan.Entries))]
		in := make([]storage.Entry, len(part))
		for k, e := range part {
			in[k] = storage.Entry{Index: e.Index, Data: e.Data}
		}
		// Commands the cluster refused then are refused again here (the
		// state machine is deterministic): only a failure to apply stops.
		if _, err := d.ApplyBatch(ctx, in); err != nil {
			d.Close()
			return info, fmt.Errorf("log archive: applying the commands after index %d: %w", info.LastIndex, err)
		}
		last := part[len(part)-1]
		info.Commands += len(part)
		info.LastIndex, info.LastAt = last.Index, last.At
	}
	info.EndOfArchive = !plan.Passed
	return info, d.Close()
}
