package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

type codeErr int

func (c codeErr) Error() string { return fmt.Sprintf("sqlite error %d", int(c)) }
func (c codeErr) Code() int     { return int(c) }

func TestIsDiskFull(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"ENOSPC wrapped", fmt.Errorf("write wal: %w", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}), true},
		{"EDQUOT", fmt.Errorf("x: %w", syscall.EDQUOT), true},
		{"SQLITE_FULL", fmt.Errorf("storage: apply: %w", codeErr(13)), true},
		{"SQLITE_FULL extended", codeErr(13 | 1<<8), true},
		{"SQLITE_IOERR", codeErr(10), false},
		{"SQLITE_BUSY", codeErr(5), false},
		{"driver message", errors.New("database or disk is full (13)"), true},
		{"kernel message", errors.New("write /data/x: no space left on device"), true},
		{"other", errors.New("constraint failed"), false},
		{"EIO", fmt.Errorf("x: %w", syscall.EIO), false},
	} {
		if got := isDiskFull(tc.err); got != tc.want {
			t.Errorf("%s: isDiskFull(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestDiskGuardRefusesWritesWhileLow(t *testing.T) {
	t.Parallel()
	var free atomic.Uint64
	var statErr atomic.Bool
	g := newDiskGuard(t.TempDir(), 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.free = func(string) (uint64, error) {
		if statErr.Load() {
			return 0, errors.New("statfs failed")
		}
		return free.Load(), nil
	}
	var reached atomic.Int64
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	do := func(method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/v1/chat", strings.NewReader("{}")))
		return rec
	}
	for _, tc := range []struct {
		name    string
		free    uint64
		statErr bool
		method  string
		want    int
	}{
		{"space: POST passes", 5000, false, "POST", 200},
		{"low: POST refused", 999, false, "POST", 507},
		{"low: DELETE refused", 10, false, "DELETE", 507},
		{"low: PUT refused", 0, false, "PUT", 507},
		{"low: GET passes", 0, false, "GET", 200},
		{"low: HEAD passes", 0, false, "HEAD", 200},
		{"exactly the reserve: POST passes", 1000, false, "POST", 200},
		{"space back: POST passes", 1 << 30, false, "POST", 200},
		{"statfs fails: POST passes", 0, true, "POST", 200},
	} {
		free.Store(tc.free)
		statErr.Store(tc.statErr)
		before := reached.Load()
		rec := do(tc.method)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.want)
		}
		if passed := reached.Load() > before; passed != (tc.want == 200) {
			t.Errorf("%s: handler reached = %v", tc.name, passed)
		}
		if tc.want == 507 {
			body := rec.Body.String()
			if !strings.Contains(body, `"code":"insufficient_storage"`) || !strings.Contains(body, "disk space") {
				t.Errorf("%s: body %s, want the error envelope with insufficient_storage", tc.name, body)
			}
			if rec.Header().Get("Retry-After") == "" {
				t.Errorf("%s: 507 without Retry-After", tc.name)
			}
		}
	}
}

func TestFreeBytesOnRealFileSystem(t *testing.T) {
	t.Parallel()
	n, err := freeBytes(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("free bytes of the test's temp dir = 0")
	}
	if _, err := freeBytes("/nonexistent/dir/for/statfs"); err == nil {
		t.Errorf("statfs of a missing directory succeeded")
	}
}

func TestDiskGuardWatchCallsOnLowOncePerQuietPeriod(t *testing.T) {
	t.Parallel()
	var free atomic.Uint64
	g := newDiskGuard(t.TempDir(), 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.free = func(string) (uint64, error) { return free.Load(), nil }
	free.Store(5000)
	calls := make(chan struct{}, 16)
	changes := make(chan bool, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.watch(ctx, time.Millisecond, time.Hour, func() { calls <- struct{}{} }, func(low bool) { changes <- low })
	}()
	// Plenty of space: for 50 ms (about 50 ticks) no call.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case <-calls:
			t.Fatal("onLow called while the disk has space")
		default:
		}
		runtime.Gosched()
	}
	free.Store(10)
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("onLow not called within 5s of the disk going low")
	}
	if low := <-changes; !low {
		t.Fatal("onChange(false) when the disk went low")
	}
	// Still low, but within the quiet period: no second call.
	deadline = time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case <-calls:
			t.Fatal("onLow called twice within the quiet period")
		default:
		}
		runtime.Gosched()
	}
	if len(changes) != 0 {
		t.Fatalf("onChange called again while the disk stayed low")
	}
	free.Store(5000)
	select {
	case low := <-changes:
		if low {
			t.Fatal("onChange(true) when space returned")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("onChange not called within 5s of space returning")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not return after its context ended")
	}
}
