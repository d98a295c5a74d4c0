package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// scriptedPolicy answers each direction with a fixed verdict or error and
// records every input it was given.
type scriptedPolicy struct {
	mu      sync.Mutex
	in, out policies.Verdict
	outErr  error
	seen    []policies.Input
}

func (p *scriptedPolicy) Evaluate(_ context.Context, in policies.Input) (policies.Verdict, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, in)
	if in.Direction == "out" {
		return p.out, p.outErr
	}
	return p.in, nil
}
func (*scriptedPolicy) Version() string { return "scripted@test" }

func scriptedServer(p *scriptedPolicy) *Server {
	return New(Deps{Policy: func() Evaluator { return p }, Companion: companion.New(), Logger: discardLogger()})
}

// The policy always gets the ABI version and, when the caller left them
// out, the standard strictness and English; given values pass unchanged.
func TestEvaluatePolicyFillsDefaults(t *testing.T) {
	p := &scriptedPolicy{in: policies.Verdict{Action: "allow"}}
	s := scriptedServer(p)
	cases := []struct{ strictness, locale, wantStrictness, wantLocale string }{
		{"", "", "standard", "en"},
		{"strict", "de", "strict", "de"},
	}
	for _, c := range cases {
		if _, err := s.evaluatePolicy(context.Background(), policies.Input{Text: "hi", Direction: "in", AgeTier: "9-12", Strictness: c.strictness, Locale: c.locale}); err != nil {
			t.Fatal(err)
		}
		got := p.seen[len(p.seen)-1]
		if got.ABI != 1 || got.Strictness != c.wantStrictness || got.Locale != c.wantLocale {
			t.Errorf("strictness %q locale %q reached the policy as abi %d %q %q", c.strictness, c.locale, got.ABI, got.Strictness, got.Locale)
		}
	}
}

// The reply verdict can still overrule Daisy: a refused reply to an
// allowed message becomes a redirect (not the refused text); a policy
// failure on the reply fails the turn closed and escalates it. A refused
// reply to a message that already got a fixed reply keeps that reply.
func TestPlanTurnReplyVerdict(t *testing.T) {
	eng := companion.New()
	redirects := map[string]bool{}
	for i := 0; i < 50; i++ {
		redirects[eng.Redirect("9-12", func(n int) int { return i % n }).Text] = true
	}
	allow := policies.Verdict{Action: "allow", Categories: []string{}}
	block := policies.Verdict{Action: "block", Categories: []string{"harassment"}}
	cases := []struct {
		name             string
		in, out          policies.Verdict
		outErr           error
		failClosed       bool
		escalate         bool
		answered         bool
		outAction        string
		reply            func(string) bool
		respondWasCalled bool
	}{
		{"reply allowed", allow, allow, nil, false, false, true, "allow", func(r string) bool { return r == "Woof! Hello!" }, true},
		{"reply refused becomes a redirect", allow, block, nil, false, false, false, "block", func(r string) bool { return redirects[r] }, true},
		{"reply check fails closed", allow, allow, errors.New("wasm trap"), true, true, false, "error",
			func(r string) bool { return r == eng.FailClosed("9-12").Text }, true},
		{"fixed reply kept when refused", policies.Verdict{Action: "redirect", Categories: []string{"grooming"}, Escalate: true}, block, nil, false, true, false, "block",
			func(r string) bool { return redirects[r] }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &scriptedPolicy{in: c.in, out: c.out, outErr: c.outErr}
			s := scriptedServer(p)
			called := false
			plan := s.planTurn(context.Background(), "hello daisy", "9-12", "standard", nil, func(string) companion.Reply {
				called = true
				return companion.Reply{Text: "Woof! Hello!"}
			})
			if plan.failClosed != c.failClosed || plan.escalate != c.escalate || plan.answered != c.answered || plan.busy ||
				plan.out.Action != c.outAction || !c.reply(plan.reply.Text) || called != c.respondWasCalled {
				t.Fatalf("plan: failClosed %v escalate %v answered %v busy %v out %q reply %q respond called %v",
					plan.failClosed, plan.escalate, plan.answered, plan.busy, plan.out.Action, plan.reply.Text, called)
			}
			if len(p.seen) != 2 || p.seen[1].Direction != "out" || p.seen[1].Text == "" {
				t.Fatalf("policy saw %+v, want the message then the reply", p.seen)
			}
		})
	}
}

// A request whose context ends while it waits for a policy slot or for
// the child's turn lock gives up at once instead of waiting out its timeout.
func TestWaitingEndsWithTheRequest(t *testing.T) {
	q := newSlotQueue(1)
	release, err := q.acquire(context.Background(), time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t0 := time.Now()
	if _, err := q.acquire(ctx, time.Minute, false); !errors.Is(err, errPolicyBusy) {
		t.Fatalf("acquire with a cancelled context: %v, want errPolicyBusy", err)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Fatalf("acquire waited %v after the request ended", d)
	}

	locks := newChildLocks()
	unlock, err := locks.lock(context.Background(), "ch_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := locks.lock(ctx, "ch_1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("second lock of the same child with a cancelled context: %v", err)
	}
	unlock()
	unlock2, err := locks.lock(context.Background(), "ch_1")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	h.Observe(-5 * time.Millisecond) // a clock step back counts as 0
	s := h.Snapshot()
	if s.Count != 1 || s.Buckets[0].Count != 1 || s.MaxMs != 0 || s.MeanMs != 0 {
		t.Fatalf("negative duration recorded as %+v", s)
	}
	b := []Bucket{{LeMs: 1, Count: 0}, {LeMs: 2, Count: 5}, {LeMs: -1, Count: 5}}
	cases := []struct {
		q, want float64
	}{
		{0.5, 2},   // rank 5: the top of the (1, 2] bucket
		{0.3, 1.6}, // rank 3 of 5 in (1, 2]
		{0.9, 2},   // in the open bucket: its lower bound
		{1.5, 2},   // beyond every count: the last finite bound
	}
	for _, c := range cases {
		if got := BucketQuantile(b, c.q); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("BucketQuantile(q=%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestVerdictCacheStatsWithoutCache(t *testing.T) {
	var c *verdictCache
	if st := c.stats(); st != nil {
		t.Fatalf("nil cache stats %v", st)
	}
	c = newVerdictCache(4)
	c.put(verdictKey{text: "a"}, policies.Verdict{Action: "allow"})
	c.get(verdictKey{text: "a"})
	c.get(verdictKey{text: "b"})
	if st := c.stats(); st["hits"] != 1 || st["misses"] != 1 || st["entries"] != 1 {
		t.Fatalf("stats %v", st)
	}
}

// A body that fails while being read is a 400, not a 500.
func TestDecodeJSONReadFailure(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/x", iotest.ErrReader(errors.New("connection reset")))
	r.Header.Set("Content-Type", "application/json")
	var dst struct{ Name string }
	err := decodeJSON(httptest.NewRecorder(), r, smallBody, &dst)
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Message != "could not read request body" {
		t.Fatalf("decode of a failing body: %v", err)
	}
}

// fakeRepl answers Apply and WaitApplied with fixed outcomes (the
// outcomes a real cluster gives only under faults).
type fakeRepl struct {
	resp     raftcluster.Response
	applyErr error
	waitErr  error
	syncErr  error
}

func (f fakeRepl) Apply(context.Context, []byte) (raftcluster.Response, error) {
	return f.resp, f.applyErr
}
func (f fakeRepl) WaitApplied(context.Context, uint64) error { return f.waitErr }
func (f fakeRepl) SyncRead(context.Context) error            { return f.syncErr }

// Every outcome of consensus maps to the API answer the docs promise:
// no leader → 503 retry, unknown outcome → 503 check first, deterministic
// refusals → 409/404, anything else → an internal error naming the command.
func TestReplicateOutcomes(t *testing.T) {
	okData, _ := json.Marshal(storage.EmailTokenResult{Status: storage.TokenOK, ParentID: "pa_1"})
	cases := []struct {
		name      string
		repl      fakeRepl
		status    int // of the apiError; 0: not an apiError
		errSubstr string
		parent    string
	}{
		{"committed and applied", fakeRepl{resp: raftcluster.Response{Index: 7, Data: okData}}, -1, "", "pa_1"},
		{"no leader", fakeRepl{applyErr: fmt.Errorf("apply: %w", raftcluster.ErrUnavailable)}, 503, "cannot take writes", ""},
		{"outcome unknown", fakeRepl{applyErr: fmt.Errorf("apply: %w", raftcluster.ErrAmbiguous)}, 503, "check before retrying", ""},
		{"a member not upgraded yet", fakeRepl{applyErr: fmt.Errorf("apply: %w: node n3 does not apply x v1", raftcluster.ErrNotUpgraded)}, 503, "retry once the upgrade is finished", ""},
		{"other failure", fakeRepl{applyErr: errors.New("disk on fire")}, 0, "replicate login_failure: disk on fire", ""},
		{"conflict", fakeRepl{resp: raftcluster.Response{Code: CodeConflict}}, 409, "already exists", ""},
		{"not found", fakeRepl{resp: raftcluster.Response{Code: CodeNotFound}}, 404, "not found", ""},
		{"rejected", fakeRepl{resp: raftcluster.Response{Code: CodeRejected}}, 0, "rejected: rejected", ""},
		{"not applied here in time", fakeRepl{resp: raftcluster.Response{Index: 9}, waitErr: context.DeadlineExceeded}, 503, "check before retrying", ""},
		{"result does not decode", fakeRepl{resp: raftcluster.Response{Index: 9, Data: []byte("{")}}, 0, "decode result", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{Deps: Deps{Repl: c.repl, Metrics: NewMetrics()}}
			var out storage.EmailTokenResult
			idx, err := s.replicate(context.Background(), &storage.LoginFailure{EmailIndex: []byte("x"), Now: 1}, &out)
			var ae *apiError
			switch {
			case c.status == -1:
				if err != nil || idx != 7 || out.ParentID != c.parent {
					t.Fatalf("replicate = %d, %v, out %+v", idx, err, out)
				}
			case c.status == 0:
				if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), c.errSubstr) {
					t.Fatalf("replicate error %v, want a plain error about %q", err, c.errSubstr)
				}
			default:
				if !errors.As(err, &ae) || ae.Status != c.status || !strings.Contains(ae.Message, c.errSubstr) {
					t.Fatalf("replicate error %v, want %d about %q", err, c.status, c.errSubstr)
				}
			}
		})
	}
}

// A per-client limit that is off costs nothing: no read-index, no count
// read, no replicated hit (the server here has no cluster or database at
// all, so any of those would fail the test).
func TestRateLimitsOffTouchNothing(t *testing.T) {
	s := &Server{Deps: Deps{AuthPerMinute: -1, AccountDeps: AccountDeps{ClusterLimits: RateLimits{SignUp: -1, PasswordReset: -1, FailedLogins: -1, FailedLinks: -1, VerifyMail: -1}}}}
	key := []byte("client-net")
	for _, class := range []string{rateSignUp, rateReset, rateLoginFailed, rateLinkFailed, rateVerifyMail} {
		if err := s.rateGate(context.Background(), class, key); err != nil {
			t.Errorf("%s: rateGate = %v", class, err)
		}
		if err := s.rateCheck(context.Background(), class, key); err != nil {
			t.Errorf("%s: rateCheck = %v", class, err)
		}
		if err := s.rateTake(context.Background(), class, key); err != nil {
			t.Errorf("%s: rateTake = %v", class, err)
		}
		if err := s.rateRecord(context.Background(), class, key); err != nil {
			t.Errorf("%s: rateRecord = %v", class, err)
		}
	}
}

// fresh reads locally; only a "not found" makes it catch up with the
// leader and read once more. When catching up fails, the local answer
// stands (it is not turned into an outage).
func TestFreshReadsAgainOnlyAfterCatchingUp(t *testing.T) {
	disk := errors.New("disk")
	cases := []struct {
		name    string
		syncErr error
		first   error
		reads   int
		want    error
	}{
		{"found locally", nil, nil, 1, nil},
		{"other error is final", nil, disk, 1, disk},
		{"not found, caught up, found", nil, storage.ErrNotFound, 2, nil},
		{"not found, cannot catch up", raftcluster.ErrUnavailable, storage.ErrNotFound, 1, storage.ErrNotFound},
	}
	for _, c := range cases {
		s := &Server{Deps: Deps{Repl: fakeRepl{syncErr: c.syncErr}}}
		reads := 0
		err := s.fresh(context.Background(), func() error {
			reads++
			if reads == 1 {
				return c.first
			}
			return nil
		})
		if reads != c.reads || err != c.want {
			t.Errorf("%s: %d reads, err %v; want %d reads, err %v", c.name, reads, err, c.reads, c.want)
		}
	}
}

// engine serves the built-in catalogue until one is stored, then the
// stored one (rebuilt once per revision); a stored catalogue that does not
// build keeps the last good Engine. Real SQLite, commands applied as the
// state machine applies them.
func TestEngineFollowsTheStoredCatalogue(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &Server{Deps: Deps{DB: db, Companion: companion.New(), Repl: fakeRepl{}}, log: discardLogger()}
	if e := s.engine(ctx); e != s.Companion {
		t.Fatal("before seeding, the engine is not the built-in one")
	}
	// Admins edit the default catalogue until one is stored.
	if cur, err := s.currentCatalog(ctx); err != nil || len(cur.Jokes) != len(companion.DefaultCatalog().Jokes) {
		t.Fatalf("current catalogue before seeding: %d jokes, %v", len(cur.Jokes), err)
	}
	cut := &Server{Deps: Deps{DB: db, Repl: fakeRepl{syncErr: raftcluster.ErrUnavailable}}, log: discardLogger()}
	if _, err := cut.currentCatalog(ctx); err != errUnavailable {
		t.Fatalf("current catalogue without the leader: %v, want errUnavailable", err)
	}
	index := uint64(0)
	apply := func(c storage.Command) {
		t.Helper()
		index++
		if _, err := db.Apply(ctx, index, c); err != nil {
			t.Fatalf("apply %s: %v", c.Kind(), err)
		}
	}
	seed, err := SeedCatalogCommand(1)
	if err != nil {
		t.Fatal(err)
	}
	apply(seed)
	seeded := s.engine(ctx)
	if seeded == s.Companion || s.engine(ctx) != seeded {
		t.Fatal("the seeded catalogue is not served, or rebuilt on every call")
	}
	got, def := seeded.Catalog(), companion.DefaultCatalog()
	if len(got.Jokes) != len(def.Jokes) || len(got.Facts) != len(def.Facts) || len(got.Stories) != len(def.Stories) ||
		len(got.Tricks) != len(def.Tricks) || len(got.Games) != len(def.Games) {
		t.Fatal("the seeded engine serves another catalogue")
	}
	ids := map[string]bool{}
	for _, j := range got.Jokes {
		ids[j.ID] = true
	}
	for _, j := range def.Jokes {
		if !ids[j.ID] {
			t.Fatalf("seeded engine lacks joke %s", j.ID)
		}
	}

	joke := companion.Joke{ID: "api-engine-joke", Text: "What do you call a sleepy puppy? A nap-rador!"}
	doc, _ := json.Marshal(joke)
	apply(&storage.PutCatalogItem{Item: storage.CatalogItem{Kind: kindJoke, ID: joke.ID, Doc: doc, UpdatedAt: 2}, Create: true})
	withJoke := s.engine(ctx)
	found := false
	for _, j := range withJoke.Catalog().Jokes {
		found = found || j == joke
	}
	if withJoke == seeded || !found {
		t.Fatal("an added joke did not reach the engine")
	}

	// Broken stored items (a bug elsewhere): the last good engine stays.
	apply(&storage.PutCatalogItem{Item: storage.CatalogItem{Kind: kindJoke, ID: "broken-doc", Doc: []byte("{"), UpdatedAt: 3}, Create: true})
	if s.engine(ctx) != withJoke {
		t.Fatal("an undecodable stored item replaced the engine")
	}
	empty, _ := json.Marshal(companion.Joke{ID: "broken-doc"})
	apply(&storage.PutCatalogItem{Item: storage.CatalogItem{Kind: kindJoke, ID: "broken-doc", Doc: empty, UpdatedAt: 4}})
	if s.engine(ctx) != withJoke {
		t.Fatal("a catalogue that does not validate replaced the engine")
	}
	// Once seeded, admins edit the stored catalogue.
	cur, err := s.currentCatalog(ctx)
	found = false
	for _, j := range cur.Jokes {
		found = found || j == joke
	}
	if err != nil || !found {
		t.Fatalf("current catalogue after seeding lacks the added joke (%v)", err)
	}
	// A failing read keeps the current engine too.
	db.Close()
	if s.engine(ctx) != withJoke {
		t.Fatal("a failing catalogue read replaced the engine")
	}
}
