package api

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

// ipLimiter is a token bucket per client IP for unauthenticated routes
// (sign-up, login, refresh, device linking, join). Each refused request
// costs nothing downstream: no password hash, no replicated write.
//
// It is per node: a client spreading requests over three nodes gets three
// buckets. The cluster-wide limits below (replicated counters) and account
// lockout (replicated) are what hold across the cluster.
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

// Cluster-wide limits per client network. The per-node bucket above
// bounds the request rate each node accepts; these bound what one client
// gets from the whole cluster: every counted event is a replicated RateHit,
// and each node checks the replicated count (after a read-index, so hits
// recorded through the other nodes a moment ago count) before doing any
// work. A client spreading attempts over every node gets no more tries.
//
// Classes and what counts:
//   - signup, password_reset: every attempt (checked and counted atomically
//     in the state machine, so concurrent attempts cannot overshoot);
//   - login_failed, link_failed: failures, recorded after they happen. Up to
//     the in-flight requests of one client can pass the check before their
//     failures are counted; the per-node bucket (burst 20 per node) bounds
//     that overshoot.
//   - verify_mail: verification e-mails a parent asks for again (per parent).
const (
	rateSignUp      = "signup"
	rateReset       = "password_reset"
	rateLoginFailed = "login_failed"
	rateLinkFailed  = "link_failed"
	rateVerifyMail  = "verify_mail"
)

// RateLimits are the cluster-wide limits, in events per Period per client
// network (an IPv4 address, or an IPv6 /64). 0 takes the default; a
// negative value switches that class off. The defaults are generous enough
// for a school behind one NAT address.
type RateLimits struct {
	SignUp        int // default 20
	PasswordReset int // default 10
	FailedLogins  int // default 100
	FailedLinks   int // default 30
	VerifyMail    int // per parent; default 5
	Period        time.Duration
}

// DefaultRateLimits are the limits used when none are configured.
var DefaultRateLimits = RateLimits{SignUp: 20, PasswordReset: 10, FailedLogins: 100, FailedLinks: 30, VerifyMail: 5, Period: time.Hour}

// limitOf returns the limit for a class (0 = off) and the window period.
func (s *Server) limitOf(class string) (limit int64, period time.Duration) {
	l := s.ClusterLimits
	if l == (RateLimits{}) && s.AuthPerMinute < 0 {
		return 0, time.Hour // all per-client limits off (benchmarks, tests)
	}
	d := DefaultRateLimits
	pick := func(v, def int) int64 {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return int64(def)
		}
		return int64(v)
	}
	period = l.Period
	if period <= 0 {
		period = d.Period
	}
	switch class {
	case rateSignUp:
		return pick(l.SignUp, d.SignUp), period
	case rateReset:
		return pick(l.PasswordReset, d.PasswordReset), period
	case rateLoginFailed:
		return pick(l.FailedLogins, d.FailedLogins), period
	case rateLinkFailed:
		return pick(l.FailedLinks, d.FailedLinks), period
	case rateVerifyMail:
		return pick(l.VerifyMail, d.VerifyMail), period
	}
	return 0, period
}

// clientKey is the keyed hash of the client's network: the counters never
// hold an IP address. IPv6 clients are counted per /64 (one subscriber
// usually holds a whole /64).
func (s *Server) clientKey(r *http.Request) []byte {
	host := clientIP(r)
	if ip := net.ParseIP(host); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			host = v4.String()
		} else {
			host = ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
		}
	}
	return s.Vault.Keyring().SecretIndex("client-net", host)[:16]
}

func errRateLimited(waitMillis int64) *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "too many attempts from your network; try again later", RetryAfter: int((waitMillis + 999) / 1000)}
}

// rateCheck refuses (429 with Retry-After) when class is over its limit for
// key in the local replicated count. The caller has caught up with the
// leader (SyncRead) first.
func (s *Server) rateCheck(ctx context.Context, class string, key []byte) error {
	limit, period := s.limitOf(class)
	if limit == 0 {
		return nil
	}
	w, err := s.DB.RateCount(ctx, class, key, period.Milliseconds(), s.Now().UnixMilli())
	if err != nil {
		return err
	}
	if ok, wait := w.Allows(limit); !ok {
		return errRateLimited(wait)
	}
	return nil
}

// rateGate catches up with the leader (so hits recorded through other
// nodes count) and then applies rateCheck; nothing when class is off.
func (s *Server) rateGate(ctx context.Context, class string, key []byte) error {
	if limit, _ := s.limitOf(class); limit == 0 {
		return nil
	}
	if err := s.Repl.SyncRead(ctx); err != nil {
		return errUnavailable
	}
	return s.rateCheck(ctx, class, key)
}

// rateTake counts one attempt through Raft, refusing it when the class is
// already at its limit (decided by the state machine: exact under races).
func (s *Server) rateTake(ctx context.Context, class string, key []byte) error {
	limit, period := s.limitOf(class)
	if limit == 0 {
		return nil
	}
	var res storage.RateResult
	if _, err := s.replicate(ctx, &storage.RateHit{Class: class, Key: key, Period: period.Milliseconds(), Limit: limit, Now: s.Now().UnixMilli()}, &res); err != nil {
		return err
	}
	if !res.Allowed {
		return errRateLimited(res.RetryAfterMillis)
	}
	return nil
}

// rateRecord counts a failure that already happened.
func (s *Server) rateRecord(ctx context.Context, class string, key []byte) error {
	limit, period := s.limitOf(class)
	if limit == 0 {
		return nil
	}
	_, err := s.replicate(ctx, &storage.RateHit{Class: class, Key: key, Period: period.Milliseconds(), Now: s.Now().UnixMilli()}, nil)
	return err
}
