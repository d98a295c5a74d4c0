package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The load client sends chat turns for several children through the real
// HTTPS API while a fault scenario runs, and records the outcome of every
// attempt. The checker then reads every child's history from every node and
// holds the cluster to its promises: an acknowledged turn is kept exactly
// once, in acknowledgement order; a turn refused with a definite error was
// never written; a turn whose outcome is unknown is there at most once.

// outcome classifies one attempt from the client's side.
type outcome int

const (
	// acked: 200 with a turn id; the turn must be on every node exactly once.
	acked outcome = iota
	// rejected: a definite refusal (never sent, 4xx, 503 "cannot take
	// writes", 507); the turn must not be anywhere.
	rejected
	// ambiguous: the outcome is unknown (timeout, connection lost after the
	// request was sent, 503 "could not be confirmed", 5xx); at most once.
	ambiguous
)

func (o outcome) String() string {
	return [...]string{"acked", "rejected", "ambiguous"}[o]
}

// attempt is one chat message as the load client saw it.
type attempt struct {
	child, k   int
	msg        string
	hash       string // sha256 of msg, hex
	node       string // node that answered (or was tried last)
	start, end time.Time
	outcome    outcome
	status     int
	detail     string // error code/message or transport error
	turnID     string
	seq        int64
}

// loadMessage is the text of the load's k-th message for a child: unique per
// child, so the checker can tell which attempt a stored turn came from.
const loadMessage = "Hi Daisy, can we play fetch? Turn %d of pup %d."

// loadConfig shapes the load.
type loadConfig struct {
	children int
	rate     float64       // total attempts per second over all children
	timeout  time.Duration // client timeout per request
}

// defaultLoad is the load every fault scenario runs under: a few hundred
// chat turns per second (E2E_FAULT_RATE overrides the rate).
func defaultLoad(t testing.TB) loadConfig {
	cfg := loadConfig{children: 12, rate: 200, timeout: 10 * time.Second}
	if v := os.Getenv("E2E_FAULT_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			t.Fatalf("E2E_FAULT_RATE=%q is not a positive number", v)
		}
		cfg.rate = r
	}
	return cfg
}

// load is a running load client.
type load struct {
	c     *cluster
	cfg   loadConfig
	fams  []*family
	hc    *http.Client
	begin time.Time

	stop    chan struct{}
	stopped time.Time
	wg      sync.WaitGroup

	ackCount atomic.Int64
	withheld int // turns stored withheld (the policy failed closed), on the first node checked
	mu       sync.Mutex
	attempts [][]*attempt // per child, in sending order
}

// loadTransport is an HTTP client trusting the cluster CA, with enough idle
// connections for every child to keep one per node.
func loadTransport(t testing.TB, caFile string, timeout time.Duration) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("reading the cluster CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", caFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// startLoad creates cfg.children families (through setupVia) and starts one
// sender per child. Each child sticks to one node and moves to the next one
// after a failure; a message that was certainly never sent (connection
// refused) is tried on the next node at once, as a client with the list of
// nodes would.
func (c *cluster) startLoad(cfg loadConfig, setupVia *node) *load {
	c.t.Helper()
	l := &load{c: c, cfg: cfg, stop: make(chan struct{}), attempts: make([][]*attempt, cfg.children)}
	for i := 0; i < cfg.children; i++ {
		l.fams = append(l.fams, c.newFamily(setupVia, "", ""))
	}
	// Device tokens are checked locally: let every node apply the setup.
	c.converge(c.nodes)
	l.hc = loadTransport(c.t, c.caFile, cfg.timeout)
	l.begin = time.Now()
	interval := time.Duration(float64(cfg.children) / cfg.rate * float64(time.Second))
	for i := 0; i < cfg.children; i++ {
		l.wg.Add(1)
		go l.run(i, interval)
	}
	c.t.Cleanup(l.halt)
	return l
}

func (l *load) run(child int, interval time.Duration) {
	defer l.wg.Done()
	nodes := l.c.nodes
	cur := child % len(nodes)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		default:
		}
		msg := fmt.Sprintf(loadMessage, k, child)
		sum := sha256.Sum256([]byte(msg))
		a := &attempt{child: child, k: k, msg: msg, hash: hex.EncodeToString(sum[:]), start: time.Now()}
		for tries := 0; tries < len(nodes); tries++ {
			n := nodes[cur]
			sent := l.send(n, l.fams[child], a)
			if sent {
				break
			}
			cur = (cur + 1) % len(nodes) // never sent: the next node may take it
		}
		a.end = time.Now()
		if a.outcome != acked {
			cur = (cur + 1) % len(nodes)
		} else {
			l.ackCount.Add(1)
		}
		l.mu.Lock()
		l.attempts[child] = append(l.attempts[child], a)
		l.mu.Unlock()
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
	}
}

// send posts a's message through n and records the outcome in a. It
// reports whether the request may have reached the server.
func (l *load) send(n *node, f *family, a *attempt) bool {
	a.node = n.id
	body, _ := json.Marshal(map[string]string{"message": a.msg})
	var wrote atomic.Bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url("/v1/chat"), bytes.NewReader(body))
	if err != nil {
		a.outcome, a.detail = rejected, err.Error()
		return true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.childToken)
	res, err := l.hc.Do(req)
	if err != nil {
		a.detail = err.Error()
		if !wrote.Load() {
			a.outcome = rejected
			return false
		}
		a.outcome = ambiguous
		return true
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	a.status = res.StatusCode
	if err != nil {
		a.outcome, a.detail = ambiguous, "reading the response: "+err.Error()
		return true
	}
	if res.StatusCode == http.StatusOK {
		var b struct {
			Turn turn `json:"turn"`
		}
		if err := json.Unmarshal(data, &b); err != nil || b.Turn.ID == "" {
			a.outcome, a.detail = ambiguous, fmt.Sprintf("200 without a turn: %.200s", data)
			return true
		}
		a.outcome, a.turnID, a.seq = acked, b.Turn.ID, b.Turn.Seq
		return true
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	a.detail = strings.TrimSpace(e.Error.Code + ": " + e.Error.Message)
	switch {
	case res.StatusCode == http.StatusServiceUnavailable && strings.Contains(e.Error.Message, "could not be confirmed"):
		a.outcome = ambiguous
	case res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable && res.StatusCode != http.StatusInsufficientStorage:
		a.outcome = ambiguous // e.g. 500: nothing says it was not written
	default:
		a.outcome = rejected // 4xx, 503 "cannot take writes", 507
	}
	return true
}

// halt stops sending and waits for requests in flight. Safe to call twice.
func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
		l.stopped = time.Now()
	}
	l.wg.Wait()
}

// acks returns the number of acknowledged turns so far.
func (l *load) acks() int64 { return l.ackCount.Load() }

// waitAcks waits until at least n more turns than now were acknowledged.
func (l *load) waitAcks(n int64, timeout time.Duration, what string) {
	l.c.t.Helper()
	target := l.acks() + n
	waitFor(l.c.t, timeout, fmt.Sprintf("%d acknowledged turns (%s)", n, what), func() (bool, string) {
		got := l.acks()
		return got >= target, fmt.Sprintf("%d of %d acknowledged; recent failures: %s", got, target, l.recentFailures(3))
	})
}

func (l *load) recentFailures(max int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, as := range l.attempts {
		for i := len(as) - 1; i >= 0 && len(out) < max; i-- {
			if as[i].outcome != acked {
				out = append(out, fmt.Sprintf("%s via %s: %d %s", as[i].outcome, as[i].node, as[i].status, as[i].detail))
				break
			}
		}
	}
	return strings.Join(out, "; ")
}

// rawFailures lists up to max distinct failure details with the node and
// the time since the load started.
func (l *load) rawFailures(max int) string {
	seen := map[string]bool{}
	var out []string
	for _, a := range l.all() {
		if a.outcome == acked || seen[a.detail] || len(out) >= max {
			continue
		}
		seen[a.detail] = true
		out = append(out, fmt.Sprintf("[+%v via %s, %s after %v: %d %s]", a.start.Sub(l.begin).Round(time.Millisecond), a.node, a.outcome, a.end.Sub(a.start).Round(time.Millisecond), a.status, a.detail))
	}
	return strings.Join(out, " ")
}

// all returns every attempt (after halt).
func (l *load) all() []*attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*attempt
	for _, as := range l.attempts {
		out = append(out, as...)
	}
	return out
}

// loadReport summarises the client's view of a scenario.
type loadReport struct {
	attempts, acked, rejected, ambiguous int
	// gap is the longest window with no acknowledged write, from the start
	// of the load to its end: the scenario's write unavailability.
	gap                 time.Duration
	gapFrom             time.Time
	duration            time.Duration
	failuresByKind      map[string]int
	firstFail, lastFail time.Time
}

func (r loadReport) String() string {
	kinds := make([]string, 0, len(r.failuresByKind))
	for k, v := range r.failuresByKind {
		kinds = append(kinds, fmt.Sprintf("%dx %s", v, k))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d attempts in %v (%.0f/s): %d acknowledged, %d rejected, %d ambiguous; longest window without an acknowledged write %v; failures: [%s]",
		r.attempts, r.duration.Round(time.Millisecond), float64(r.attempts)/r.duration.Seconds(), r.acked, r.rejected, r.ambiguous,
		r.gap.Round(time.Millisecond), strings.Join(kinds, "; "))
}

func (r loadReport) failed() int { return r.rejected + r.ambiguous }

// report computes the client-side summary (after halt).
func (l *load) report() loadReport {
	r := loadReport{failuresByKind: map[string]int{}, duration: l.stopped.Sub(l.begin)}
	var ackTimes []time.Time
	for _, a := range l.all() {
		r.attempts++
		switch a.outcome {
		case acked:
			r.acked++
			ackTimes = append(ackTimes, a.end)
			continue
		case rejected:
			r.rejected++
		case ambiguous:
			r.ambiguous++
		}
		r.failuresByKind[failureKind(a)]++
		if r.firstFail.IsZero() || a.start.Before(r.firstFail) {
			r.firstFail = a.start
		}
		if a.end.After(r.lastFail) {
			r.lastFail = a.end
		}
	}
	sort.Slice(ackTimes, func(i, j int) bool { return ackTimes[i].Before(ackTimes[j]) })
	prev := l.begin
	for _, at := range append(ackTimes, l.stopped) {
		if d := at.Sub(prev); d > r.gap {
			r.gap, r.gapFrom = d, prev
		}
		prev = at
	}
	return r
}

// failureKind groups failures for the report without their variable parts.
func failureKind(a *attempt) string {
	d := a.detail
	switch {
	case strings.Contains(d, "connection refused"):
		d = "connection refused"
	case strings.Contains(d, "Client.Timeout"), strings.Contains(d, "deadline exceeded"):
		d = "client timeout"
	case strings.Contains(d, "EOF"), strings.Contains(d, "connection reset"):
		d = "connection lost"
	}
	return fmt.Sprintf("%s %d %s", a.outcome, a.status, d)
}

// check reads every child's history from each node in nodes (every node
// must have applied everything: call converge first) and verifies the
// promises above. mustBeAbsent, if not nil, marks attempts that must not be
// stored even if their outcome is ambiguous (e.g. sent to an isolated
// minority). It returns the number of turns each node holds.
func (l *load) check(nodes []*node, mustBeAbsent func(*attempt) bool) int {
	t := l.c.t
	t.Helper()
	all := l.all()
	byChild := make([]map[int]*attempt, len(l.fams))
	for i := range byChild {
		byChild[i] = map[int]*attempt{}
	}
	for _, a := range all {
		byChild[a.child][a.k] = a
	}
	var reference map[string]int64 // turn id -> seq on the first node
	total := 0
	for ni, n := range nodes {
		l.waitVisible(n)
		ids := map[string]int64{}
		problems := 0
		report := func(format string, args ...any) {
			problems++
			if problems <= 20 {
				t.Errorf(n.id+": "+format, args...)
			}
		}
		for child, f := range l.fams {
			hist := l.c.history(n, f, true) // newest first
			oldestFirst := make([]turn, len(hist))
			for i, tu := range hist {
				oldestFirst[len(hist)-1-i] = tu
				ids[tu.ID] = tu.Seq
			}
			problems, w := verifyChild(child, byChild[child], oldestFirst, mustBeAbsent)
			for _, p := range problems {
				report("%s", p)
			}
			if ni == 0 {
				l.withheld += w
			}
		}
		if problems > 20 {
			t.Errorf("%s: %d problems in all (first 20 shown)", n.id, problems)
		}
		if ni == 0 {
			reference, total = ids, len(ids)
			continue
		}
		if len(ids) != len(reference) {
			t.Errorf("%s holds %d turns, %s holds %d", n.id, len(ids), nodes[0].id, len(reference))
		}
		diff := 0
		for id, seq := range reference {
			if s, ok := ids[id]; !ok || s != seq {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("%s differs from %s in %d turns", n.id, nodes[0].id, diff)
		}
	}
	return total
}

// waitVisible waits until n's database shows, for every child, a turn at
// least as new as the child's last acknowledged one. `cluster status`
// reports Raft's applied index, which runs ahead of the state machine (it
// counts entries handed to it, not yet written), so after converge a node
// that is catching up may still be writing the last entries. A write that
// is really lost keeps this waiting until the deadline and the checker's
// report that follows names it.
func (l *load) waitVisible(n *node) {
	t := l.c.t
	t.Helper()
	lastAcked := make([]int64, len(l.fams))
	for _, a := range l.all() {
		if a.outcome == acked {
			lastAcked[a.child] = max(lastAcked[a.child], a.seq)
		}
	}
	deadline := time.Now().Add(catchUpTimeout)
	for child, f := range l.fams {
		for {
			r, err := l.c.api.get(n.url("/v1/children/"+f.childID+"/turns?limit=1"), f.parentToken)
			var body struct {
				Turns []turn `json:"turns"`
			}
			if err == nil && r.Status == 200 && json.Unmarshal(r.Body, &body) == nil &&
				(lastAcked[child] == 0 || (len(body.Turns) == 1 && body.Turns[0].Seq >= lastAcked[child])) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: child %d's last acknowledged turn (seq %d) not visible within %v (last answer: %v %v); checking anyway", n.id, child, lastAcked[child], catchUpTimeout, r, err)
				return
			}
			time.Sleep(pollInterval)
		}
	}
}

// verifyChild checks one child's stored history (oldest first) against the
// attempts the load made for that child (by k) and returns the problems.
//
// A turn whose safety check failed is stored with the withheld text instead
// of the message (the policy fails closed): it is matched to its attempt by
// turn id if acknowledged; otherwise it can only be an ambiguous attempt not
// found elsewhere, and there may be no more of them than of those.
func verifyChild(child int, attempts map[int]*attempt, hist []turn, mustBeAbsent func(*attempt) bool) (problems []string, withheld int) {
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	byID := map[string]*attempt{}
	for _, a := range attempts {
		if a.outcome == acked {
			byID[a.turnID] = a
		}
	}
	seen := map[int]int{}
	unattributed := 0
	var ackedOrder []*attempt // acknowledged attempts in stored (seq) order
	for _, tu := range hist {
		var k, pup int
		if tu.Message == withheldText {
			withheld++
			a := byID[tu.ID]
			if a == nil {
				unattributed++
				continue
			}
			tu.Message = a.msg // the checks below hold it to its attempt by id
		}
		if _, err := fmt.Sscanf(tu.Message, loadMessage, &k, &pup); err != nil || pup != child {
			report("child %d holds a turn the load never sent: %q", child, tu.Message)
			continue
		}
		a := attempts[k]
		if a == nil {
			report("child %d holds turn %d, never attempted", child, k)
			continue
		}
		sum := sha256.Sum256([]byte(tu.Message))
		if hex.EncodeToString(sum[:]) != a.hash {
			report("child %d turn %d stored with different content", child, k)
		}
		seen[k]++
		switch a.outcome {
		case acked:
			if tu.ID != a.turnID || tu.Seq != a.seq {
				report("child %d turn %d stored as %s seq %d, acknowledged as %s seq %d", child, k, tu.ID, tu.Seq, a.turnID, a.seq)
			}
			if seen[k] == 1 {
				ackedOrder = append(ackedOrder, a)
			}
		case rejected:
			report("child %d turn %d was refused with a definite error (%d %s via %s) but is stored", child, k, a.status, a.detail, a.node)
		}
		if mustBeAbsent != nil && a.outcome != acked && mustBeAbsent(a) {
			report("child %d turn %d (%s via %s, %d %s) must not be stored but is", child, k, a.outcome, a.node, a.status, a.detail)
		}
	}
	var dups, missing []int
	for k, cnt := range seen {
		if cnt > 1 {
			dups = append(dups, k)
		}
	}
	for k, a := range attempts {
		if a.outcome == acked && seen[k] == 0 {
			missing = append(missing, k)
		}
	}
	sort.Ints(dups)
	sort.Ints(missing)
	if unattributed > 0 {
		unseen := 0
		for k, a := range attempts {
			if a.outcome == ambiguous && seen[k] == 0 {
				unseen++
			}
		}
		if unattributed > unseen {
			report("child %d holds %d withheld turns matching no acknowledged attempt, but only %d ambiguous attempts are unaccounted for", child, unattributed, unseen)
		}
	}
	for _, k := range dups {
		report("child %d turn %d stored %d times", child, k, seen[k])
	}
	if len(missing) > 0 {
		report("child %d lost %d acknowledged turns: %v", child, len(missing), missing)
	}
	for i := 1; i < len(ackedOrder); i++ {
		if ackedOrder[i].k < ackedOrder[i-1].k {
			report("child %d history out of acknowledgement order: turn %d stored after turn %d", child, ackedOrder[i].k, ackedOrder[i-1].k)
			break
		}
	}
	return problems, withheld
}

// withheldText is what the node stores instead of a message the safety
// policy could not check (node/api/chat.go).
const withheldText = "[withheld: the safety check was unavailable]"

// finish halts the load, waits until nodes agree, runs the checker on every
// node and logs the scenario's numbers. It returns the client-side report.
func (l *load) finish(name string, mustBeAbsent func(*attempt) bool) loadReport {
	t := l.c.t
	t.Helper()
	l.halt()
	r := l.report()
	idx := l.c.converge(l.c.nodes)
	stored := l.check(l.c.nodes, mustBeAbsent)
	t.Logf("SCENARIO %s: %s; every node at index %d holds %d turns (%d withheld: safety check failed closed)", name, r, idx, stored, l.withheld)
	if raw := l.rawFailures(5); raw != "" {
		t.Logf("%s: failures as the client saw them (up to 5 distinct): %s", name, raw)
	}
	if r.acked == 0 {
		t.Fatalf("%s: no turn was acknowledged", name)
	}
	return r
}

// TestCheckerDetectsViolations feeds the checker histories that break each
// promise and checks it reports each one (and nothing for a correct one).
func TestCheckerDetectsViolations(t *testing.T) {
	const child = 3
	mk := func(k int, o outcome) *attempt {
		msg := fmt.Sprintf(loadMessage, k, child)
		sum := sha256.Sum256([]byte(msg))
		a := &attempt{child: child, k: k, msg: msg, hash: hex.EncodeToString(sum[:]), outcome: o, node: "n1"}
		if o == acked {
			a.turnID, a.seq = fmt.Sprintf("t%d", k), int64(10+k)
		}
		return a
	}
	attempts := map[int]*attempt{0: mk(0, acked), 1: mk(1, ambiguous), 2: mk(2, acked), 3: mk(3, rejected), 4: mk(4, acked)}
	stored := func(k int) turn {
		a := attempts[k]
		id, seq := a.turnID, a.seq
		if id == "" {
			id, seq = fmt.Sprintf("x%d", k), int64(10+k)
		}
		return turn{ID: id, Seq: seq, Message: a.msg}
	}
	good := []turn{stored(0), stored(1), stored(2), stored(4)}
	for _, tc := range []struct {
		name   string
		hist   []turn
		absent func(*attempt) bool
		want   string // substring of a problem; "" = no problem
	}{
		{"correct, ambiguous present", good, nil, ""},
		{"correct, ambiguous absent", []turn{stored(0), stored(2), stored(4)}, nil, ""},
		{"acknowledged turn lost", []turn{stored(0), stored(1), stored(4)}, nil, "lost 1 acknowledged turns: [2]"},
		{"acknowledged turn twice", []turn{stored(0), stored(2), stored(2), stored(4)}, nil, "turn 2 stored 2 times"},
		{"ambiguous turn twice", []turn{stored(0), stored(1), stored(1), stored(2), stored(4)}, nil, "turn 1 stored 2 times"},
		{"rejected turn stored", []turn{stored(0), stored(2), stored(3), stored(4)}, nil, "refused with a definite error"},
		{"out of acknowledgement order", []turn{stored(0), stored(4), stored(2)}, nil, "out of acknowledgement order"},
		{"stored under another id", []turn{stored(0), {ID: "other", Seq: 12, Message: attempts[2].msg}, stored(4)}, nil, "stored as other seq 12"},
		{"never sent", append([]turn{{ID: "z", Seq: 1, Message: "Daisy, is your disk full? Try 0."}}, good...), nil, "never sent"},
		{"another child's turn", append([]turn{{ID: "z", Seq: 1, Message: fmt.Sprintf(loadMessage, 0, child+1)}}, good...), nil, "never sent"},
		{"never attempted", append([]turn{{ID: "z", Seq: 1, Message: fmt.Sprintf(loadMessage, 99, child)}}, good...), nil, "never attempted"},
		{"must be absent", good, func(a *attempt) bool { return a.k == 1 }, "must not be stored"},
		{"must be absent but acknowledged", good, func(a *attempt) bool { return a.k == 2 }, ""},
		{"acknowledged turn withheld", []turn{stored(0), {ID: "t2", Seq: 12, Message: withheldText}, stored(4)}, nil, ""},
		{"ambiguous turn withheld", []turn{stored(0), {ID: "x1", Seq: 11, Message: withheldText}, stored(2), stored(4)}, nil, ""},
		{"withheld turn beyond the ambiguous ones", []turn{stored(0), {ID: "x1", Seq: 11, Message: withheldText}, {ID: "y", Seq: 13, Message: withheldText}, stored(2), stored(4)}, nil, "matching no acknowledged attempt"},
		{"withheld ambiguous turn also stored", []turn{stored(0), stored(1), {ID: "x1", Seq: 11, Message: withheldText}, stored(2), stored(4)}, nil, "matching no acknowledged attempt"},
		{"acknowledged turn withheld under another id", []turn{stored(0), {ID: "t9", Seq: 12, Message: withheldText}, stored(4)}, nil, "lost 1 acknowledged turns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, _ := verifyChild(child, attempts, tc.hist, tc.absent)
			if tc.want == "" {
				if len(problems) > 0 {
					t.Errorf("problems on a correct history: %v", problems)
				}
				return
			}
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("want a problem containing %q, got %v", tc.want, problems)
		})
	}
}

// TestLoadReportUnavailability checks the availability measure on a made-up
// timeline: the longest window without an acknowledged write, counted from
// the load's start to its stop.
func TestLoadReportUnavailability(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	mk := func(startMs, endMs int, o outcome) *attempt {
		return &attempt{start: at(startMs), end: at(endMs), outcome: o, detail: "x"}
	}
	for _, tc := range []struct {
		name     string
		attempts []*attempt
		stopMs   int
		gap      time.Duration
		acked    int
		failed   int
	}{
		{"steady", []*attempt{mk(0, 10, acked), mk(10, 20, acked), mk(20, 30, acked)}, 40, 10 * time.Millisecond, 3, 0},
		{"outage in the middle", []*attempt{mk(0, 10, acked), mk(10, 1000, ambiguous), mk(1000, 2500, rejected), mk(2500, 2600, acked)}, 2610, 2590 * time.Millisecond, 2, 2},
		{"slow start", []*attempt{mk(0, 700, acked), mk(700, 710, acked)}, 720, 700 * time.Millisecond, 2, 0},
		{"outage at the end", []*attempt{mk(0, 10, acked), mk(10, 900, rejected)}, 900, 890 * time.Millisecond, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &load{begin: t0, stopped: at(tc.stopMs), attempts: [][]*attempt{tc.attempts}}
			r := l.report()
			if r.gap != tc.gap || r.acked != tc.acked || r.failed() != tc.failed {
				t.Errorf("gap %v, %d acked, %d failed; want %v, %d, %d", r.gap, r.acked, r.failed(), tc.gap, tc.acked, tc.failed)
			}
		})
	}
}
