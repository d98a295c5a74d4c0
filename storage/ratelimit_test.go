package storage

import (
	"testing"
)

func TestRateWindowAllows(t *testing.T) {
	const p = 1000
	tests := []struct {
		name      string
		w         RateWindow
		limit     int64
		ok        bool
		wait      int64
		retryFits bool
	}{
		{"empty", RateWindow{Period: p}, 3, true, 0, false},
		{"under", RateWindow{Current: 2, Period: p}, 3, true, 0, false},
		{"at limit in this window", RateWindow{Current: 3, Elapsed: 100, Period: p}, 3, false, 900 + 1, true},
		{"previous window weighs in", RateWindow{Current: 1, Previous: 4, Elapsed: 250, Period: p}, 3, false, 251, true},
		{"previous window mostly past", RateWindow{Current: 1, Previous: 4, Elapsed: 600, Period: p}, 3, true, 0, false},
		{"no limit", RateWindow{Current: 1e6, Period: p}, 0, true, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, wait := tc.w.Allows(tc.limit)
			if ok != tc.ok || wait != tc.wait {
				t.Fatalf("Allows = %v, %d; want %v, %d", ok, wait, tc.ok, tc.wait)
			}
			if !tc.retryFits {
				return
			}
			// After waiting, a hit fits; a millisecond earlier it does not.
			at := func(d int64) RateWindow {
				w := tc.w
				if w.Elapsed+d >= p {
					return RateWindow{Previous: w.Current, Elapsed: w.Elapsed + d - p, Period: p}
				}
				w.Elapsed += d
				return w
			}
			if ok, _ := at(wait).Allows(tc.limit); !ok {
				t.Fatalf("still refused after the wait")
			}
			if ok, _ := at(wait - 1).Allows(tc.limit); ok {
				t.Fatalf("allowed a millisecond before the wait ended: wait is too long")
			}
		})
	}
}

func TestRateHitCountsLimitsAndPrunes(t *testing.T) {
	f := newFixture(t)
	const hour = 3_600_000
	t0 := int64(1_700_000_000_000) - int64(1_700_000_000_000)%hour // a window start
	ipA, ipB := f.keys.SecretIndex("ip", "192.0.2.1"), f.keys.SecretIndex("ip", "192.0.2.2")
	hit := func(key []byte, limit, now int64) RateResult {
		t.Helper()
		return f.must(&RateHit{Class: "signup", Key: key, Period: hour, Limit: limit, Now: now}).(RateResult)
	}
	for i := 0; i < 3; i++ {
		if r := hit(ipA, 3, t0+int64(i)); !r.Allowed {
			t.Fatalf("hit %d refused", i)
		}
	}
	r := hit(ipA, 3, t0+10)
	if r.Allowed || r.RetryAfterMillis <= 0 {
		t.Fatalf("4th hit: %+v", r)
	}
	if r := hit(ipB, 3, t0+10); !r.Allowed {
		t.Fatal("another IP is limited")
	}
	if r := f.must(&RateHit{Class: "reset", Key: ipA, Period: hour, Limit: 3, Now: t0 + 10}).(RateResult); !r.Allowed {
		t.Fatal("another class is limited")
	}
	w, err := f.db.RateCount(f.ctx, "signup", ipA, hour, t0+10)
	if err != nil || w.Current != 3 || w.Previous != 0 {
		t.Fatalf("count: %+v %v", w, err)
	}
	// Recording failures (no limit) always counts.
	for i := 0; i < 5; i++ {
		hit(ipB, 0, t0+20)
	}
	if w, _ := f.db.RateCount(f.ctx, "signup", ipB, hour, t0+20); w.Current != 6 {
		t.Fatalf("recorded failures: %+v", w)
	}
	// Next window: the previous one still weighs in, then fades.
	if w, _ := f.db.RateCount(f.ctx, "signup", ipA, hour, t0+hour+5); w.Current != 0 || w.Previous != 3 {
		t.Fatalf("next window: %+v", w)
	}
	if r := hit(ipA, 3, t0+hour+hour/2); !r.Allowed {
		t.Fatalf("half a window later: %+v", r)
	}
	if n := f.count("SELECT COUNT(*) FROM rate_hits"); n != 4 {
		t.Fatalf("%d rows", n)
	}
	// Two windows on, everything from the first window is pruned.
	hit(ipA, 3, t0+2*hour)
	if n := f.count("SELECT COUNT(*) FROM rate_hits WHERE window_start=?", t0); n != 0 {
		t.Fatalf("%d expired rows not pruned", n)
	}
	if r := f.apply(&RateHit{Class: "", Key: ipA, Period: hour, Now: t0})[0]; r.Err == nil {
		t.Fatal("malformed hit accepted")
	}
}
