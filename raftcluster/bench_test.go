package raftcluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReplicatedInsert measures this package's write path alone, as
// the comparator issue 6 names: durable single-row inserts into SQLite
// through a three-node Raft cluster (a bare rqlite cluster's ~5,500/s at
// C = 256 on this kind of machine). Three in-process nodes on loopback,
// mutual TLS 1.3 on the cluster port, the bbolt Raft log synced on every
// append, and on every node a real SQLite file with the production
// storage's settings (WAL, synchronous NORMAL) where each committed entry
// is one INSERT. C goroutines call Apply on the leader, as rqlite clients
// write to its leader; each op is one acknowledged (quorum-committed and
// leader-applied) insert of a 64-byte row.
//
// It reports inserts/s and the latency p50/p99 in ms. What a chat turn
// adds on top of this (HTTP and TLS to the client, the safety policy
// twice, Daisy's logic, a larger command and more rows) is the difference
// between this and `daisydog bench`. Run:
//
//	go test -run '^$' -bench BenchmarkReplicatedInsert -benchtime 20000x ./raftcluster
func BenchmarkReplicatedInsert(b *testing.B) {
	for _, c := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) { benchInsert(b, c) })
	}
}

func benchInsert(b *testing.B, clients int) {
	tc := newTestCluster(b, func(c *Config) { c.ApplyTimeout = 30 * time.Second })
	tc.pragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	tc.form("n1", "n2", "n3")
	leader := tc.mustLeader(10 * time.Second)
	row := make([]byte, 64)
	for i := range row {
		row[i] = 'a' + byte(i%26)
	}
	ctx := context.Background()
	// Warm the connections and the SQLite files.
	for range 100 {
		if _, err := leader.c.Apply(ctx, row); err != nil {
			b.Fatal(err)
		}
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, b.N)
		failed  atomic.Int64
		errOnce sync.Once
		firstEr error
	)
	b.ResetTimer()
	t0 := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/clients+1)
			for next.Add(1) <= int64(b.N) {
				s := time.Now()
				resp, err := leader.c.Apply(ctx, row)
				if err == nil && resp.Code != "" {
					err = fmt.Errorf("apply: code %q", resp.Code)
				}
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstEr = err })
					continue
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d inserts failed, first: %v", n, b.N, firstEr)
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "inserts/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
	// Every node holds every acknowledged row (the applied index is
	// the same everywhere once followers catch up).
	want, err := leader.sm.AppliedIndex(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range tc.nodes {
		eventually(b, 10*time.Second, n.id+" applied everything", func() error {
			got, err := n.sm.AppliedIndex(ctx)
			if err != nil {
				return err
			}
			if got < want {
				return fmt.Errorf("applied %d of %d", got, want)
			}
			return nil
		})
	}
}
