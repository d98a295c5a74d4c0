package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultDiskReserve is the free space below which a node refuses new
// writes: enough left for the entries other nodes already committed (which
// this node must still store and apply) and for a snapshot's bookkeeping.
const DefaultDiskReserve = 64 << 20

// diskGuard refuses API writes while the file system holding the data
// directory is nearly full. A node that accepted a write it cannot store
// would only time out later; refusing at once tells the client to use
// another node. Reads keep working.
type diskGuard struct {
	dir     string
	reserve uint64
	// free returns the bytes available to this process on dir's file system.
	free func(dir string) (uint64, error)
	log  *slog.Logger
	low  atomic.Bool // last state, to log transitions once
	// report (if not nil) receives every check (the node's disk gauges).
	report func(free, reserve uint64, low bool)
}

func newDiskGuard(dir string, reserve uint64, log *slog.Logger) *diskGuard {
	if reserve == 0 {
		reserve = DefaultDiskReserve
	}
	return &diskGuard{dir: dir, reserve: reserve, free: freeBytes, log: log}
}

// freeBytes asks the kernel for the space unprivileged writers may use.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// Low reports whether free space is under the reserve. It asks the kernel
// each time (one statfs, about a microsecond), so it recovers the moment
// space is freed. If the file system cannot be asked, it says not low: the
// write then fails or succeeds on its own merits.
func (g *diskGuard) Low() bool {
	free, err := g.free(g.dir)
	if err != nil {
		return false
	}
	low := free < g.reserve
	if g.report != nil {
		g.report(free, g.reserve, low)
	}
	if was := g.low.Swap(low); was != low {
		if low {
			g.log.Warn("data disk nearly full: refusing writes", "free_bytes", free, "reserve_bytes", g.reserve)
		} else {
			g.log.Info("data disk has space again: accepting writes", "free_bytes", free)
		}
	}
	return low
}

// watch checks the disk every interval until ctx ends. onChange (if not
// nil) is called with the new state each time the disk goes low or has
// space again: the node stops or resumes campaigning in elections. onLow is
// called every time the disk is found low, but at most once per quiet
// period: the node hands its leadership over, and if every node's disk is
// low, leadership must not bounce between them.
func (g *diskGuard) watch(ctx context.Context, interval, quiet time.Duration, onLow func(), onChange func(low bool)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	wasLow := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		low := g.Low()
		if low != wasLow && onChange != nil {
			onChange(low)
		}
		wasLow = low
		if low && time.Since(last) >= quiet {
			last = time.Now()
			onLow()
		}
	}
}

// Wrap refuses requests that change state (every method but GET, HEAD and
// OPTIONS) with 507 insufficient_storage while the disk is low, in the API's
// error envelope.
func (g *diskGuard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if g.Low() {
				writeInsufficientStorage(w)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func writeInsufficientStorage(w http.ResponseWriter) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code = "insufficient_storage"
	body.Error.Message = "this server is out of disk space and cannot take writes; use another server or retry later"
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusInsufficientStorage)
	_ = json.NewEncoder(w).Encode(body)
}

// sqliteCode is implemented by the SQLite driver's errors.
type sqliteCode interface{ Code() int }

// sqliteFull is SQLITE_FULL, the primary result code for "database or disk
// is full" (extended codes keep it in the low byte).
const sqliteFull = 13

// isDiskFull reports whether err says the disk (or the database) is full:
// ENOSPC or EDQUOT from the kernel, or SQLITE_FULL from SQLite.
func isDiskFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	var sc sqliteCode
	if errors.As(err, &sc) && sc.Code()&0xff == sqliteFull {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "no space left on device")
}
