package api

import (
	"net"

	"github.com/julienschmidt/httprouter"

	"net/http"
	"sync"
	"time"
)

// ipLimiter is a token bucket per client IP for unauthenticated routes
// (sign-up, login, refresh, device linking, join). Each refused request
// costs nothing downstream: no password hash, no replicated write.
//
// It is per node: a client spreading requests over three nodes gets three
// buckets. Account lockout (replicated) is what holds across the cluster.
type ipLimiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(perMinute, burst int, now func() time.Time) *ipLimiter {
	return &ipLimiter{rate: float64(perMinute) / 60, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for ip; when empty it returns how long until one is back.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled completely (bounded memory).
func (l *ipLimiter) sweep(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
	l.swept = now
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limited wraps a handler with the per-IP limit.
func (s *Server) limited(h handler) handler {
	if s.limiter == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
		if ok, wait := s.limiter.allow(clientIP(r)); !ok {
			return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: "too many requests; slow down", RetryAfter: int(wait/time.Second) + 1}
		}
		return h(w, r, p)
	}
}
