package api

import (
	"math"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMetricsAccess(t *testing.T) {
	s := &Server{Deps: Deps{MetricsToken: "operator-token-0123456789"}}
	for _, tc := range []struct {
		name, remote, auth string
		want               bool
	}{
		{"loopback v4", "127.0.0.1:5000", "", true},
		{"loopback v6", "[::1]:5000", "", true},
		{"remote", "192.0.2.7:5000", "", false},
		{"remote with token", "192.0.2.7:5000", "Bearer operator-token-0123456789", true},
		{"remote with wrong token", "192.0.2.7:5000", "Bearer operator-token-0123456780", false},
		{"loopback with wrong token", "127.0.0.1:5000", "Bearer nope", false},
		{"garbage address", "nonsense", "", false},
	} {
		r := httptest.NewRequest("GET", "/v1/metrics", nil)
		r.RemoteAddr = tc.remote
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := s.metricsAllowed(r); got != tc.want {
			t.Errorf("%s: allowed = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Without a configured token a bearer header grants nothing beyond loopback.
	s.MetricsToken = ""
	r := httptest.NewRequest("GET", "/v1/metrics", nil)
	r.RemoteAddr = "192.0.2.7:5000"
	r.Header.Set("Authorization", "Bearer ")
	if s.metricsAllowed(r) {
		t.Error("empty token configured: remote client allowed")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 0; i < 90; i++ {
		h.Observe(3 * time.Millisecond) // bucket (2ms, 5ms]
	}
	for i := 0; i < 10; i++ {
		h.Observe(300 * time.Millisecond) // bucket (200ms, 500ms]
	}
	s := h.Snapshot()
	if s.Count != 100 || math.Abs(s.MeanMs-32.7) > 0.01 || s.MaxMs != 300 {
		t.Fatalf("count %d mean %.3f max %.3f", s.Count, s.MeanMs, s.MaxMs)
	}
	if s.P50Ms <= 2 || s.P50Ms > 5 {
		t.Errorf("p50 = %.3f, want within (2, 5]", s.P50Ms)
	}
	if s.P99Ms <= 200 || s.P99Ms > 500 {
		t.Errorf("p99 = %.3f, want within (200, 500]", s.P99Ms)
	}
	h.Observe(time.Minute)
	if s := h.Snapshot(); s.Buckets[len(s.Buckets)-1].Count != 1 || s.Buckets[len(s.Buckets)-1].LeMs != -1 {
		t.Errorf("overflow bucket = %+v", s.Buckets[len(s.Buckets)-1])
	}
	if BucketQuantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}
