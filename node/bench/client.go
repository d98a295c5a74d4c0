package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	maxBody          = 1 << 20 // bytes of a response body we read
	setupAttempts    = 5       // tries per setup request on 503/429
	maxRetryWait     = 5 * time.Second
	minRetryWait     = 50 * time.Millisecond
	setupParallel    = 8   // concurrent child creations during setup (at least)
	maxSetupParallel = 48  // … and at most, for large families
	maxOpenLoopConns = 256 // connections per target in the open loop
	errTimeout       = "timeout"
	errTransport     = "transport"
	errBadResponse   = "bad_response"
	errFailClosed    = "fail_closed"
	errUnfinished    = "unfinished"
	contentTypeJSON  = "application/json"
)

// client is the one shared HTTP client plus the round-robin target cursor.
type client struct {
	http    *http.Client
	targets []string
	next    atomic.Uint64
	timeout time.Duration
}

func newClient(cfg Config) (*client, error) {
	// #nosec G402 -- the benchmark client skips verification only with --insecure (development)
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.Insecure, //nolint:gosec // opt-in dev flag
		// Apps resume TLS sessions when they reconnect; so does the bench
		// (a full handshake per reconnect would measure the handshake).
		ClientSessionCache: tls.NewLRUClientSessionCache(4096)}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("bench: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bench: CA file %s holds no PEM certificates", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	perHost := cfg.Concurrency + setupWorkers(cfg.Children)
	if cfg.OpenLoop {
		// Children think for seconds between turns: far fewer are in
		// flight than exist. Keep enough idle connections that no request
		// pays a new TLS handshake, without holding one per child.
		perHost = min(cfg.Children, maxOpenLoopConns) + setupWorkers(cfg.Children)
	}
	maxConns := 0 // closed loop: one connection per client, like devices
	if cfg.OpenLoop {
		// Thousands of children starting within seconds would otherwise
		// open thousands of TLS connections at once and measure only the
		// handshake storm; a request waits for a pooled connection instead
		// (that wait counts in its latency).
		maxConns = perHost
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConns:          perHost * len(cfg.Targets),
		MaxIdleConnsPerHost:   perHost,
		IdleConnTimeout:       90 * time.Second,
		MaxConnsPerHost:       maxConns,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		ExpectContinueTimeout: time.Second,
		// HTTP/1.1 on purpose: C clients stand for C devices, each with its
		// own connection, not C streams multiplexed on one.
		ForceAttemptHTTP2: false,
	}
	targets := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		targets[i] = strings.TrimRight(t, "/")
	}
	return &client{
		http: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		targets: targets,
		timeout: cfg.RequestTimeout,
	}, nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

// target returns the next base URL, round-robin.
func (c *client) target() string {
	return c.targets[(c.next.Add(1)-1)%uint64(len(c.targets))]
}

// response is what one request produced.
type response struct {
	status     int
	body       []byte
	retryAfter string
}

// do sends one POST with a per-request timeout. body is encoded JSON; nil
// sends no body and no Content-Type.
func (c *client) do(ctx context.Context, path, token string, body []byte) (response, error) {
	return c.doMethod(ctx, http.MethodPost, path, token, body)
}

// doMethod is do with any method, against the next target.
func (c *client) doMethod(ctx context.Context, method, path, token string, body []byte) (response, error) {
	return c.doAt(ctx, c.target(), method, path, token, body)
}

// doAt sends one request to base (a target URL).
func (c *client) doAt(ctx context.Context, base, method, path, token string, body []byte) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentTypeJSON)
	}
	req.Header.Set("Accept", contentTypeJSON)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	// drain a little more so the connection can be reused
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, body: b, retryAfter: resp.Header.Get("Retry-After")}, nil
}

// classify names a failed request for ErrorsByStatus.
func classify(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errTimeout
	}
	return errTransport
}

// apiError renders a non-2xx response as an error without echoing much of
// the body (the API's {"error":{"code","message"}} shape when present).
func apiError(op string, r response) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) == nil && e.Error.Code != "" {
		msg := e.Error.Message
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return fmt.Errorf("bench: %s: HTTP %d %s: %s", op, r.status, e.Error.Code, msg)
	}
	return fmt.Errorf("bench: %s: HTTP %d", op, r.status)
}

// setupCall posts body to path, retrying a few times on 503 (and 429) with
// Retry-After honoured up to maxRetryWait, and decodes a 2xx body into out.
func (c *client) setupCall(ctx context.Context, op, path, token string, body, out any) error {
	var enc []byte
	if body != nil {
		var err error
		if enc, err = json.Marshal(body); err != nil {
			return fmt.Errorf("bench: %s: %w", op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		r, err := c.do(ctx, path, token, enc)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("bench: %s: %w", op, err)
		}
		if r.status >= 200 && r.status < 300 {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(r.body, out); err != nil {
				return fmt.Errorf("bench: %s: decode response: %w", op, err)
			}
			return nil
		}
		retryable := r.status == http.StatusServiceUnavailable || r.status == http.StatusTooManyRequests
		if !retryable || attempt+1 >= setupAttempts {
			return apiError(op, r)
		}
		t := time.NewTimer(retryWait(r.retryAfter, attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryWait is Retry-After (seconds) capped to maxRetryWait, or exponential
// backoff from 200ms when the header is absent or unparsable.
func retryWait(header string, attempt int) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(header)); err == nil && s >= 0 {
		return min(max(time.Duration(s)*time.Second, minRetryWait), maxRetryWait)
	}
	return min(200*time.Millisecond<<attempt, maxRetryWait)
}
