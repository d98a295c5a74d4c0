package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// syncBuffer is a log sink safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mountTmpfs mounts a tmpfs of size on a new directory, or skips the test
// where that is not allowed (it needs root on Linux).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root on Linux): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file into dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{64 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return path
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMachineWaitsForDiskSpace applies committed entries to a real SQLite
// database on a file system that is full: the machine must neither fail nor
// exit but wait, apply them once space returns, and give up only when the
// node closes.
func TestMachineWaitsForDiskSpace(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "4m")
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(dir, "daisydog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logs := &syncBuffer{}
	stop := make(chan struct{})
	m := &machine{db: db, keysChanged: make(chan struct{}, 1), stop: stop, log: slog.New(slog.NewTextHandler(logs, nil))}

	// An entry bigger than any space SQLite kept from earlier writes.
	entry := func(idx uint64, kid string) raftcluster.Entry {
		data, err := storage.Encode(&storage.PutSigningKey{Kid: kid, PublicKey: bytes.Repeat([]byte{1}, 32), PrivateSealed: bytes.Repeat([]byte{7}, 1<<20), CreatedAt: 1})
		if err != nil {
			t.Fatal(err)
		}
		return raftcluster.Entry{Index: idx, Data: data}
	}
	type result struct {
		res []raftcluster.Response
		err error
	}
	apply := func(e raftcluster.Entry) chan result {
		ch := make(chan result, 1)
		go func() {
			res, err := m.ApplyBatch(ctx, []raftcluster.Entry{e})
			ch <- result{res, err}
		}()
		return ch
	}

	filler := fill(t, dir)
	done := apply(entry(1, "k1"))
	waitUntil(t, "the machine to report the full disk", func() bool { return strings.Contains(logs.String(), "disk full: waiting for space") })
	select {
	case r := <-done:
		t.Fatalf("ApplyBatch returned on a full disk: %v %v", r.res, r.err)
	default:
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.res) != 1 || r.res[0].Code != "" {
			t.Fatalf("after space returned: %+v %v", r.res, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ApplyBatch did not finish within 10s of space returning")
	}
	if idx, err := m.AppliedIndex(ctx); err != nil || idx != 1 {
		t.Fatalf("applied index %d (%v), want 1", idx, err)
	}

	// Closing ends the wait with the disk-full error (the entry not applied).
	logs2 := logs.String()
	filler = fill(t, dir)
	done = apply(entry(2, "k2"))
	waitUntil(t, "the machine to report the full disk again", func() bool {
		return strings.Count(logs.String(), "disk full: waiting for space") > strings.Count(logs2, "disk full: waiting for space")
	})
	close(stop)
	select {
	case r := <-done:
		if r.err == nil || !isDiskFull(r.err) {
			t.Fatalf("after close on a full disk: %+v %v, want the disk-full error", r.res, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ApplyBatch did not return within 10s of the node closing")
	}
	if idx, err := m.AppliedIndex(ctx); err != nil || idx != 1 {
		t.Fatalf("applied index %d (%v) after the refused entry, want 1", idx, err)
	}
	os.Remove(filler)
}
