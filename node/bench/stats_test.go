package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func msList(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Millisecond))
	}
	return out
}

func TestSummarize(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // unsorted on purpose
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", msList(7), Latency{P50: 7, P95: 7, P99: 7, Max: 7, Mean: 7}},
		{"two", msList(10, 2), Latency{P50: 2, P95: 10, P99: 10, Max: 10, Mean: 6}},
		{"1..100", msList(hundred...), Latency{P50: 50, P95: 95, P99: 99, Max: 100, Mean: 50.5}},
		{"outlier", msList(1, 1, 1, 1, 1, 1, 1, 1, 1, 1000), Latency{P50: 1, P95: 1000, P99: 1000, Max: 1000, Mean: 100.9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.in)
			if abs(got.P50-tt.want.P50) > 1e-9 || abs(got.P95-tt.want.P95) > 1e-9 || abs(got.P99-tt.want.P99) > 1e-9 ||
				abs(got.Max-tt.want.Max) > 1e-9 || abs(got.Mean-tt.want.Mean) > 1e-9 {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeOrderedRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 500; n += 37 {
		lat := make([]time.Duration, n)
		for i := range lat {
			lat[i] = time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		}
		l := summarize(lat)
		if !(l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max && l.Mean <= l.Max) {
			t.Fatalf("n=%d: %+v", n, l)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestNicknameAndPassword(t *testing.T) {
	seen := map[string]bool{}
	for i := range MaxChildren {
		n := nickname(i)
		if !nickRe.MatchString(n) || !strings.HasPrefix(n, "Pup") {
			t.Fatalf("nickname(%d) = %q", i, n)
		}
		if seen[n] {
			t.Fatalf("nickname(%d) = %q repeats", i, n)
		}
		seen[n] = true
	}
	if nickname(0) != "PupA" || nickname(26) != "PupAa" {
		t.Errorf("nickname(0)=%q nickname(26)=%q", nickname(0), nickname(26))
	}
	for range 50 {
		p := randomPassword(20)
		if len(p) != 20 || !strings.ContainsAny(p, "0123456789") || p == strings.ToLower(p) || p == strings.ToUpper(p) {
			t.Fatalf("weak password shape %q", p)
		}
	}
	for i, want := range []string{"13-17", "13-17", "13-17", "13-17"} {
		if ageTier(i) != want {
			t.Errorf("ageTier(%d) = %q", i, ageTier(i))
		}
	}
}

func TestRetryWait(t *testing.T) {
	tests := []struct {
		header  string
		attempt int
		want    time.Duration
	}{
		{"0", 0, minRetryWait},
		{"1", 0, time.Second},
		{"3600", 0, maxRetryWait},
		{"", 0, 200 * time.Millisecond},
		{"", 2, 800 * time.Millisecond},
		{"", 10, maxRetryWait},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 1, 400 * time.Millisecond},
		{"-5", 0, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := retryWait(tt.header, tt.attempt); got != tt.want {
			t.Errorf("retryWait(%q,%d) = %s, want %s", tt.header, tt.attempt, got, tt.want)
		}
	}
}

func TestCPUCost(t *testing.T) {
	tests := []struct {
		name              string
		s                 Summary
		client            time.Duration
		wantNil           bool
		server, clientPer float64
		busy              float64
	}{
		{"no server metrics", Summary{Turns: 10, DurationSec: 1}, time.Second, true, 0, 0, 0},
		{"no requests", Summary{DurationSec: 1, Server: &ServerSplit{CPUSec: 1}}, time.Second, true, 0, 0, 0},
		// 1,000 requests (900 ok, 100 refused) in 2 s; the nodes used 1.5 s
		// of CPU, the client 0.5 s: 1.5 ms + 0.5 ms per request.
		{"errors count as requests", Summary{Turns: 900, Errors: 100, DurationSec: 2, Server: &ServerSplit{CPUSec: 1.5}},
			500 * time.Millisecond, false, 1.5, 0.5, 2.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cpuCost(tc.s, tc.client)
			if tc.wantNil {
				if c != nil {
					t.Fatalf("got %+v, want nil", c)
				}
				return
			}
			if c == nil {
				t.Fatal("got nil")
			}
			near := func(what string, got, want float64) {
				if math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			near("server ms/request", c.ServerMsPerRequest, tc.server)
			near("client ms/request", c.ClientMsPerRequest, tc.clientPer)
			near("ceiling", c.CeilingPerSec, float64(c.Cores)*1000/(tc.server+tc.clientPer))
			near("busy share", c.BusyShare*float64(c.Cores), tc.busy/tc.s.DurationSec)
		})
	}
}
