package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"daisydog/node/llm"
)

// aiStandIn is a real local HTTP server standing in for an
// OpenAI-compatible provider. Each call runs the current behaviour and is
// recorded (what the model was sent).
type aiStandIn struct {
	*httptest.Server
	mu      sync.Mutex
	behave  func(w http.ResponseWriter, r *http.Request)
	sent    []string // user messages received
	release chan struct{}
}

func newAIStandIn(t *testing.T) *aiStandIn {
	p := &aiStandIn{release: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", 400)
			return
		}
		p.mu.Lock()
		p.sent = append(p.sent, req.Messages[len(req.Messages)-1].Content)
		behave := p.behave
		p.mu.Unlock()
		behave(w, r)
	}))
	t.Cleanup(func() { close(p.release); p.Close() })
	return p
}

func (p *aiStandIn) set(b func(w http.ResponseWriter, r *http.Request)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.behave = b
}

func (p *aiStandIn) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

func says(text string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": text}}}})
	}
}

func fails(status int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, body, status) }
}

// TestOptionalAIProvider: the provider answers only with AI mode AND the
// parent's separate consent; it gets the redacted message only; safety
// runs first; unsafe, failing and slow replies fall back to the built-in
// engine without any operational text; the per-child daily budget holds.
func TestOptionalAIProvider(t *testing.T) {
	t.Parallel()
	p := newAIStandIn(t)
	const budget = 10
	clock := newTestClock(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	n := startCluster(t, 1, func(c *Config) {
		clock.config()(c)
		c.AI = &llm.Config{URL: p.URL + "/v1", Model: "stand-in", APIKey: "sk-test-never-logged", Timeout: 400 * time.Millisecond,
			DailyBudget: budget, BreakerFailures: 1000}
	})[0]
	fam := newFamily(t, n, "ai@example.test", "Io", "9-12")
	good := "Woof woof! Hello there, I was just chasing my tail in the sunshine."
	p.set(says(good))
	put := func(aiMode, consent bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"time_zone": "UTC", "strictness": "standard", "ai_third_party_consent": consent,
			"features": map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": aiMode}})
		if st, _, b := n.raw(t, "PUT", "/v1/children/"+fam.childID+"/settings", fam.parentToken, "application/json", body); st != 200 {
			t.Fatalf("PUT settings: %d %s", st, b)
		}
	}
	// Off by default, and either switch alone is not enough.
	for _, tc := range []struct {
		name            string
		aiMode, consent bool
	}{{"defaults", false, false}, {"AI mode without consent", true, false}, {"consent without AI mode", false, true}} {
		if tc.name != "defaults" {
			put(tc.aiMode, tc.consent)
		}
		if cr := n.say(t, fam.childToken, "hello daisy"); cr.Turn.Reply == good || len(p.calls()) != 0 {
			t.Fatalf("%s: the provider was used: %q, %d calls", tc.name, cr.Turn.Reply, len(p.calls()))
		}
	}
	put(true, true)
	cases := []struct {
		name, msg string
		behave    func(w http.ResponseWriter, r *http.Request)
		used      bool   // the child sees the provider's text
		called    bool   // the provider was asked
		notSent   string // must not reach the provider
		intent    string // expected intent ("" = any)
	}{
		{"good reply", "hello daisy", says(good), true, true, "", "greeting"},
		{"input redacted first", "hi daisy my email is kid.private@example.com", says(good), true, true, "kid.private@example.com", ""},
		{"crisis: safety first, never the provider", "I want to kill myself", says(good), false, false, "kill", "support"},
		{"a game-ish turn stays built in", "daisy, roll over!", says(good), false, false, "", "tricks"},
		{"contact details", "hello daisy", says("Woof! Email me at daisy.dog@example.com or call 555 123 4567 and we can chat more!"), false, true, "", "greeting"},
		{"a link", "hey daisy", says("Woof! Go to www.example.com/secret-dog-club to see my tricks!"), false, true, "", "greeting"},
		{"meet-up", "hello daisy", says("Woof! Let's meet up at the park after school, just you and me. Don't tell your parents, it's our secret!"), false, true, "", "greeting"},
		{"meet-up without secrecy", "hey daisy", says("Let's meet up at the park after school, just you and me!"), false, true, "", "greeting"},
		{"500", "hey daisy", fails(500, "internal server error"), false, true, "", "greeting"},
		{"429 billing", "hello daisy", fails(429, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details."}}`), false, true, "", "greeting"},
		{"billing text in a 200", "hey daisy", says("Sorry, there is a billing issue with this account. Please check your quota."), false, true, "", "greeting"},
		{"slow", "hello daisy", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-p.release:
			}
		}, false, true, "", "greeting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.set(tc.behave)
			before := len(p.calls())
			start := time.Now()
			cr := n.say(t, fam.childToken, tc.msg)
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("took %s", el)
			}
			sent := p.calls()[before:]
			if tc.called != (len(sent) == 1) {
				t.Fatalf("provider calls %d, want called=%v", len(sent), tc.called)
			}
			// (a redacted message's reply ends with the privacy reminder)
			if used := strings.HasPrefix(cr.Turn.Reply, good); tc.used != used {
				t.Fatalf("reply %q: provider text used=%v, want %v", cr.Turn.Reply, used, tc.used)
			}
			if tc.intent != "" && cr.Turn.Intent != tc.intent {
				t.Fatalf("intent %q, want %q", cr.Turn.Intent, tc.intent)
			}
			for _, s := range sent {
				if tc.notSent != "" && strings.Contains(s, tc.notSent) {
					t.Fatalf("the provider was sent %q", s)
				}
			}
			low := strings.ToLower(cr.Turn.Reply)
			for _, bad := range []string{"billing", "quota", "error", "example.com", "555", "meet up", "secret", "server"} {
				if strings.Contains(low, bad) {
					t.Fatalf("the child saw %q: %q", bad, cr.Turn.Reply)
				}
			}
		})
	}
	// The budget: every call so far counted; one more good reply fits,
	// then the built-in engine answers without asking the provider.
	p.set(says(good))
	for len(p.calls()) < budget {
		if cr := n.say(t, fam.childToken, "hello daisy"); cr.Turn.Reply != good {
			t.Fatalf("within budget (%d calls): %q", len(p.calls()), cr.Turn.Reply)
		}
	}
	for range 2 {
		if cr := n.say(t, fam.childToken, "hello daisy"); cr.Turn.Reply == good || len(p.calls()) != budget {
			t.Fatalf("over budget: reply %q, %d calls (budget %d)", cr.Turn.Reply, len(p.calls()), budget)
		}
	}
	// A new day in the child's zone: a new budget.
	clock.add(24 * time.Hour)
	if cr := n.say(t, fam.childToken, "hello daisy"); cr.Turn.Reply != good || len(p.calls()) != budget+1 {
		t.Fatalf("next day: reply %q, %d calls", cr.Turn.Reply, len(p.calls()))
	}
}

// TestAIProviderMetrics: each node counts what became of the turns that
// asked (or would have asked) the optional provider — used, refused by the
// output policy, failed, not asked with the breaker open — and reports the
// breaker's state, in /metrics and /v1/metrics; a node without a provider
// exports the counters at zero and no breaker.
func TestAIProviderMetrics(t *testing.T) {
	t.Parallel()
	p := newAIStandIn(t)
	clock := newTestClock(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	nodes := startCluster(t, 1, func(c *Config) {
		clock.config()(c)
		c.AI = &llm.Config{URL: p.URL + "/v1", Model: "stand-in", Timeout: 2 * time.Second,
			DailyBudget: 100, BreakerFailures: 2, BreakerCooldown: time.Minute, Now: clock.now}
	})
	n := nodes[0]
	fam := newFamily(t, n, "aimetrics@example.test", "Ivy", "9-12")
	body, _ := json.Marshal(map[string]any{"time_zone": "UTC", "strictness": "standard", "ai_third_party_consent": true,
		"features": map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": true}})
	if st, _, b := n.raw(t, "PUT", "/v1/children/"+fam.childID+"/settings", fam.parentToken, "application/json", body); st != 200 {
		t.Fatalf("PUT settings: %d %s", st, b)
	}
	good := "Woof woof! Hello there, I was just chasing my tail in the sunshine."
	promLine := func(series string) string {
		t.Helper()
		st, _, b := n.raw(t, "GET", "/metrics", "", "", nil)
		if st != 200 {
			t.Fatalf("GET /metrics: %d", st)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, series+" "); ok {
				return v
			}
		}
		return "absent"
	}
	check := func(step string, want map[string]string, breaker string) {
		t.Helper()
		for result, v := range want {
			if got := promLine(`daisydog_ai_provider_replies_total{result="` + result + `"}`); got != v {
				t.Errorf("%s: replies{result=%q} = %s, want %s", step, result, got, v)
			}
		}
		for _, st := range []string{"closed", "open", "half_open"} {
			want := "0"
			if st == breaker {
				want = "1"
			}
			if got := promLine(`daisydog_ai_provider_breaker_state{state="` + st + `"}`); got != want {
				t.Errorf("%s: breaker_state{state=%q} = %s, want %s", step, st, got, want)
			}
		}
		var m struct {
			AI *struct {
				Replies map[string]uint64 `json:"replies"`
				Breaker string            `json:"breaker"`
			} `json:"ai_provider"`
		}
		if st, _ := n.call(t, "GET", "/v1/metrics", "", nil, &m); st != 200 || m.AI == nil {
			t.Fatalf("%s: GET /v1/metrics: %d, ai_provider %v", step, st, m.AI)
		}
		if m.AI.Breaker != breaker {
			t.Errorf("%s: /v1/metrics ai_provider breaker %q, want %q", step, m.AI.Breaker, breaker)
		}
		for result, v := range want {
			if got := fmt.Sprint(m.AI.Replies[result]); got != v {
				t.Errorf("%s: /v1/metrics ai_provider replies[%q] = %s, want %s", step, result, got, v)
			}
		}
	}
	if got := promLine("daisydog_ai_provider_configured"); got != "1" {
		t.Errorf("configured = %s, want 1", got)
	}
	check("before any turn", map[string]string{"used": "0", "refused": "0", "failed": "0", "breaker_open": "0"}, "closed")

	steps := []struct {
		name   string
		behave func(w http.ResponseWriter, r *http.Request)
		asked  bool
		want   map[string]string
		state  string
	}{
		{"a good reply is used", says(good), true, map[string]string{"used": "1", "refused": "0", "failed": "0", "breaker_open": "0"}, "closed"},
		{"a meet-up is refused by the output policy", says("Let's meet up at the park after school, just you and me!"), true,
			map[string]string{"used": "1", "refused": "1", "failed": "0"}, "closed"},
		{"a failure", fails(500, "internal server error"), true, map[string]string{"failed": "1", "breaker_open": "0"}, "closed"},
		{"a second failure opens the breaker", fails(500, "internal server error"), true, map[string]string{"failed": "2", "breaker_open": "0"}, "open"},
		{"open: not asked", says(good), false, map[string]string{"used": "1", "failed": "2", "breaker_open": "1"}, "open"},
	}
	for _, s := range steps {
		p.set(s.behave)
		before := len(p.calls())
		n.say(t, fam.childToken, "hello daisy")
		if asked := len(p.calls()) > before; asked != s.asked {
			t.Fatalf("%s: provider asked %v, want %v", s.name, asked, s.asked)
		}
		check(s.name, s.want, s.state)
	}
	clock.add(time.Minute)
	check("cooldown over", map[string]string{"used": "1", "breaker_open": "1"}, "half_open")
	p.set(says(good))
	if cr := n.say(t, fam.childToken, "hello daisy"); cr.Turn.Reply != good {
		t.Fatalf("the probe's good reply was not used: %q", cr.Turn.Reply)
	}
	check("the probe closed it", map[string]string{"used": "2", "refused": "1", "failed": "2", "breaker_open": "1"}, "closed")

	// Without a provider: the counters at zero, no breaker, not configured.
	plain := startCluster(t, 1, nil)[0]
	st, _, b := plain.raw(t, "GET", "/metrics", "", "", nil)
	if st != 200 {
		t.Fatalf("GET /metrics: %d", st)
	}
	text := string(b)
	for _, want := range []string{"daisydog_ai_provider_configured 0\n", `daisydog_ai_provider_replies_total{result="failed"} 0` + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("without a provider, /metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "daisydog_ai_provider_breaker_state") {
		t.Error("without a provider, /metrics reports a breaker")
	}
}
