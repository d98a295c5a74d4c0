package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func reply(w http.ResponseWriter, text string) {
	json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": text}}}})
}

// provider is a real local HTTP server standing in for the provider; it
// records what it was sent.
type provider struct {
	*httptest.Server
	handle  atomic.Value // func(http.ResponseWriter, *http.Request)
	calls   atomic.Int64
	lastReq atomic.Value // chatRequest
	lastKey atomic.Value // string
}

func newProvider(t *testing.T) *provider {
	p := &provider{}
	p.handle.Store(func(w http.ResponseWriter, r *http.Request) { reply(w, "Woof! I love sunny days.") })
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		p.lastReq.Store(req)
		p.lastKey.Store(r.Header.Get("Authorization"))
		p.handle.Load().(func(http.ResponseWriter, *http.Request))(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) set(h func(http.ResponseWriter, *http.Request)) { p.handle.Store(h) }

func TestReplyPaths(t *testing.T) {
	p := newProvider(t)
	c, err := New(Config{URL: p.URL + "/v1/", Model: "tiny", APIKey: "sk-secret", Timeout: 300 * time.Millisecond, BreakerFailures: 100})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	for _, tc := range []struct {
		name    string
		handler func(http.ResponseWriter, *http.Request)
		want    string
		wantErr error
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) { reply(w, "  Woof!\n I love   sunny days. ") }, "Woof! I love sunny days.", nil},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, "", ErrProvider},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "internal", 500) }, "", ErrProvider},
		{"429 quota", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details"}}`, 429)
		}, "", ErrProvider},
		{"billing text in a 200", func(w http.ResponseWriter, r *http.Request) { reply(w, "There is a billing issue with this account.") }, "", ErrUnusable},
		{"out of character", func(w http.ResponseWriter, r *http.Request) { reply(w, "As an AI language model I cannot bark.") }, "", ErrUnusable},
		{"empty", func(w http.ResponseWriter, r *http.Request) { reply(w, "   ") }, "", ErrUnusable},
		{"meet-up", func(w http.ResponseWriter, r *http.Request) {
			reply(w, "Let's meet up at the park after school, just you and me!")
		}, "", ErrUnusable},
		{"come over", func(w http.ResponseWriter, r *http.Request) {
			reply(w, "Woof! You could come over to my house and play fetch.")
		}, "", ErrUnusable},
		{"e-mail", func(w http.ResponseWriter, r *http.Request) { reply(w, "Write to daisy@dogs.example anytime!") }, "", ErrUnusable},
		{"phone", func(w http.ResponseWriter, r *http.Request) { reply(w, "Call me at 555 123 4567!") }, "", ErrUnusable},
		{"link", func(w http.ResponseWriter, r *http.Request) { reply(w, "See my tricks on dogtricks.com!") }, "", ErrUnusable},
		{"ordinary dog talk stays", func(w http.ResponseWriter, r *http.Request) {
			reply(w, "I met a squirrel today! I love my home by the big tree.")
		}, "I met a squirrel today! I love my home by the big tree.", nil},
		{"too long", func(w http.ResponseWriter, r *http.Request) { reply(w, strings.Repeat("woof ", 200)) }, "", ErrUnusable},
		{"no choices", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"choices":[]}`)) }, "", ErrProvider},
		{"not json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`<html>`)) }, "", ErrProvider},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.set(tc.handler)
			start := time.Now()
			got, err := c.Reply(context.Background(), Prompt{Tier: "9-12", Message: "what do you like?"})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) || got != tc.want {
				t.Fatalf("Reply = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Fatalf("took %s: the timeout did not hold", el)
			}
			if err != nil && (strings.Contains(err.Error(), "sk-secret") || strings.Contains(err.Error(), "quota") || strings.Contains(err.Error(), "billing")) {
				t.Fatalf("error leaks provider text or key: %v", err)
			}
		})
	}
	// What the provider saw: the persona for the tier and the message, the key as a bearer token.
	req := p.lastReq.Load().(chatRequest)
	if req.Model != "tiny" || len(req.Messages) != 2 || req.Messages[0].Role != "system" || !strings.Contains(req.Messages[0].Content, "10-year-old") ||
		req.Messages[1].Content != "what do you like?" || req.Stream {
		t.Fatalf("request = %+v", req)
	}
	if k := p.lastKey.Load().(string); k != "Bearer sk-secret" {
		t.Fatalf("authorization = %q", k)
	}
	if s := c.cfg.String(); strings.Contains(s, "sk-secret") {
		t.Fatalf("config string leaks the key: %s", s)
	}
}

// TestBreakerOpensAndHalfOpens with an injected clock, through real calls.
func TestBreakerOpensAndHalfOpens(t *testing.T) {
	p := newProvider(t)
	clk := newFakeClock()
	c, err := New(Config{URL: p.URL + "/v1", Model: "m", BreakerFailures: 3, BreakerCooldown: 30 * time.Second, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	fail := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) }
	ok := func(w http.ResponseWriter, r *http.Request) { reply(w, "Woof!") }
	ask := func() error { _, err := c.Reply(context.Background(), Prompt{Tier: "5-8", Message: "hi"}); return err }
	steps := []struct {
		name      string
		handler   func(http.ResponseWriter, *http.Request)
		advance   time.Duration
		wantErr   error
		wantState string
		wantCalls int64 // provider calls so far
	}{
		{"failure 1", fail, 0, ErrProvider, Closed, 1},
		{"failure 2", fail, 0, ErrProvider, Closed, 2},
		{"failure 3 opens", fail, 0, ErrProvider, Open, 3},
		{"open: not called", ok, 0, ErrOpen, Open, 3},
		{"still open before the cooldown", ok, 29 * time.Second, ErrOpen, Open, 3},
		{"probe fails: open again", fail, time.Second, ErrProvider, Open, 4},
		{"open again: not called", ok, 10 * time.Second, ErrOpen, Open, 4},
		{"probe succeeds: closed", ok, 20 * time.Second, nil, Closed, 5},
		{"closed: called", ok, 0, nil, Closed, 6},
		{"one failure does not open", fail, 0, ErrProvider, Closed, 7},
		{"a success resets the count", ok, 0, nil, Closed, 8},
	}
	for _, st := range steps {
		clk.add(st.advance)
		p.set(st.handler)
		if err := ask(); !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
		}
		if got := c.Breaker().State(); got != st.wantState {
			t.Fatalf("%s: state %s, want %s", st.name, got, st.wantState)
		}
		if got := p.calls.Load(); got != st.wantCalls {
			t.Fatalf("%s: provider called %d times, want %d", st.name, got, st.wantCalls)
		}
	}
}

// TestBreakerOneProbeAtATime: while the half-open probe is in flight, other
// calls are refused; a call that started before the breaker opened does
// not decide for the probe.
func TestBreakerOneProbeAtATime(t *testing.T) {
	clk := newFakeClock()
	b := NewBreaker(1, time.Second, clk.now)
	early, ok := b.Allow()
	if !ok {
		t.Fatal("closed breaker refused")
	}
	fail, _ := b.Allow()
	fail(false)
	if b.State() != Open {
		t.Fatal("one failure with threshold 1 must open")
	}
	clk.add(time.Second)
	probe, ok := b.Allow()
	if !ok {
		t.Fatal("half-open breaker refused the probe")
	}
	if _, ok := b.Allow(); ok {
		t.Fatal("a second call during the probe was allowed")
	}
	early(true) // from before: ignored
	if _, ok := b.Allow(); ok {
		t.Fatal("an old call's success closed the breaker during the probe")
	}
	probe(true)
	if b.State() != Closed {
		t.Fatalf("state after a good probe: %s", b.State())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"good", Config{URL: "http://127.0.0.1:8080/v1", Model: "llama"}, true},
		{"https", Config{URL: "https://api.example.test/v1", Model: "m", APIKey: "k"}, true},
		{"no model", Config{URL: "http://127.0.0.1:8080/v1"}, false},
		{"relative URL", Config{URL: "/v1", Model: "m"}, false},
		{"other scheme", Config{URL: "file:///etc/passwd", Model: "m"}, false},
		{"credentials in URL", Config{URL: "https://user:pw@api.example.test/v1", Model: "m"}, false},
		{"huge timeout", Config{URL: "http://x.test", Model: "m", Timeout: time.Hour}, false},
		{"negative budget", Config{URL: "http://x.test", Model: "m", DailyBudget: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
