package api

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/storage"
)

// Chat limits.
const (
	maxMessageRunes = 1000
	contextTurns    = 4
	maxHistory      = 100
)

// withheldMessage is stored instead of a message the policy could not check.
const withheldMessage = "[withheld: the safety check was unavailable]"

type turnView struct {
	ID          string   `json:"id"`
	Seq         int64    `json:"seq"`
	CreatedAt   string   `json:"created_at"`
	Message     string   `json:"message"`
	Reply       string   `json:"reply"`
	Intent      string   `json:"intent"`
	Mood        string   `json:"mood,omitempty"`
	Suggestions []string `json:"suggestions,omitempty"`
	Safety      *safety  `json:"safety,omitempty"`
}

type safety struct {
	Action        string   `json:"action"`
	Categories    []string `json:"categories"`
	ReplyAction   string   `json:"reply_action,omitempty"`
	ReplyCats     []string `json:"reply_categories,omitempty"`
	Escalated     bool     `json:"escalated"`
	FailClosed    bool     `json:"fail_closed"`
	PolicyVersion string   `json:"policy_version"`
}

func (s *Server) evaluate(ctx context.Context, in policies.Input) (policies.Verdict, error) {
	if in.Strictness == "" {
		in.Strictness = "standard"
	}
	if in.Locale == "" {
		in.Locale = "en"
	}
	if !cacheable(in) {
		return s.evaluatePolicy(ctx, in)
	}
	k := verdictKey{version: s.policyFor(ctx).Version(), tier: in.AgeTier, strictness: in.Strictness, locale: in.Locale, text: in.Text}
	if v, ok := s.verdicts.get(k); ok {
		return v, nil
	}
	v, err := s.evaluatePolicy(ctx, in)
	if err == nil {
		s.verdicts.put(k, v)
	}
	return v, err
}

func (s *Server) evaluatePolicy(ctx context.Context, in policies.Input) (policies.Verdict, error) {
	t0 := time.Now()
	// Never shed here: a turn was admitted (or refused) as a whole before
	// it got this far (admission.go).
	release, err := s.slots.acquire(ctx, s.PolicyQueueTimeout, false)
	s.Metrics.PolicyWait.Since(t0)
	if err != nil {
		return policies.Verdict{}, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, s.PolicyTimeout)
	defer cancel()
	in.ABI = 1
	if in.Strictness == "" {
		in.Strictness = "standard"
	}
	if in.Locale == "" {
		in.Locale = "en"
	}
	defer s.Metrics.Policy.Since(time.Now())
	pol := s.policyFor(ctx)
	v, err := pol.Evaluate(ctx, in)
	if errors.Is(err, policies.ErrStarved) {
		// The machine did not run the policy in time; the policy did not
		// fail (its work budget was not spent). No verdict, so nothing
		// passes, but the request is refused as busy like a turn that
		// found no slot: no withheld message, no policy-failure event.
		s.Metrics.PolicyStarved.Add(1)
		s.log.Warn("policy evaluation starved of CPU; request refused as busy", "policy", pol.Version(), "err", err)
		return policies.Verdict{}, fmt.Errorf("%w: %w", errPolicyBusy, err)
	}
	return v, err
}

// turnPlan is everything decided about a turn before it is replicated.
type turnPlan struct {
	stored     string // the child's message as stored (redacted or withheld)
	reply      companion.Reply
	in, out    policies.Verdict
	failClosed bool
	escalate   bool
	version    string
	// answered: the companion (respond) produced the reply the child sees,
	// so its state changes may be kept.
	answered bool
	// busy: no policy slot in time (admission.go); the turn is refused.
	busy bool
	// gone: the client canceled the request while the policy was checking
	// it. Nothing was decided: no fail-closed turn, no safety event, no
	// alert, nothing stored (errClientGone).
	gone bool
}

// errClientGone answers a turn whose client canceled the request before
// the policy had decided it. Nobody reads the answer; 499 ("client closed
// request", as in nginx) keeps it out of the 5xx counts and the error log.
var errClientGone = &apiError{Status: 499, Code: "client_closed_request", Message: "the request was canceled; nothing was stored"}

// planTurn runs the safety pipeline: the child's message through the policy
// (at the parent's strictness), then — only when the policy allows or
// redacts it — respond for Daisy's answer (parental limits, companion
// state), or the fixed support/redirect/blocked replies; then the reply
// through the policy.
func (s *Server) planTurn(ctx context.Context, text, tier, strictness string, recent []policies.ContextTurn, respond func(text string) companion.Reply) turnPlan {
	pol := s.Policy()
	ctx = withPolicy(ctx, pol) // one policy for the whole turn, even across a swap
	p := turnPlan{stored: text, version: pol.Version()}
	pick := func(n int) int { return rand.IntN(max(n, 1)) }
	in, err := s.evaluate(ctx, policies.Input{Text: text, Direction: "in", AgeTier: tier, Strictness: strictness, Context: recent})
	if errors.Is(err, errPolicyBusy) {
		p.busy = true
		return p
	}
	if err != nil && ctx.Err() != nil {
		// The policy was stopped because the client left, not because it
		// failed: failing closed would store a withheld message and raise
		// a policy-failure event for a turn nobody will see.
		p.gone = true
		return p
	}
	if err != nil {
		s.log.Warn("policy failed on message; failing closed", "policy", p.version, "err", err)
		p.failClosed, p.escalate, p.stored = true, true, withheldMessage
		p.reply = s.Companion.FailClosed(tier)
		p.in = policies.Verdict{Action: "error", Categories: []string{}}
		p.out = policies.Verdict{Action: "skipped", Categories: []string{}}
		return p
	}
	p.in, p.escalate = in, in.Escalate
	// PII spans are removed before storage whatever the action (a grooming
	// message that also carries a phone number is stored without it).
	if len(in.Spans) > 0 {
		p.stored = policies.Redact(text, in.Spans)
	}
	switch in.Action {
	case "allow":
		p.reply, p.answered = respond(p.stored), true // the redacted text if the policy marked any span
	case "redact":
		p.reply, p.answered = respond(p.stored), true
		p.reply.Text += " " + s.Companion.RedactReminder(tier)
	case "support":
		p.reply = s.Companion.Support(tier, "en")
	case "redirect":
		p.reply = s.Companion.Redirect(tier, pick)
	default: // block and anything stricter
		p.reply = s.Companion.Blocked(tier, pick)
	}
	out, err := s.evaluate(ctx, policies.Input{Text: p.reply.Text, Direction: "out", AgeTier: tier, Strictness: strictness})
	if errors.Is(err, errPolicyBusy) {
		p.busy = true
		return p
	}
	if err != nil && ctx.Err() != nil {
		p.gone = true
		return p
	}
	if err != nil {
		s.log.Warn("policy failed on reply; failing closed", "policy", p.version, "err", err)
		p.failClosed, p.escalate, p.answered = true, true, false
		p.reply = s.Companion.FailClosed(tier)
		p.out = policies.Verdict{Action: "error", Categories: []string{}}
		return p
	}
	p.out = out
	if out.Action != "allow" && (in.Action == "allow" || in.Action == "redact") {
		// Daisy's own line was refused: never show it, steer somewhere safe.
		p.reply, p.answered = s.Companion.Redirect(tier, pick), false
	}
	return p
}

// daisyTurn is what the companion decided for one turn.
type daisyTurn struct {
	rested bool // parental limits: the child got the "time to rest" reply
	turn   *companion.Turn
	ai     bool // the optional provider was called (counts against its budget)
}

// turnEnv is what a companion step may use: the child, Daisy's stored
// data, the parental controls in the child's zone, the clock and Daisy's
// previous reply.
type turnEnv struct {
	eng   *companion.Engine // the catalogue in force for this turn
	child storage.ChildRow
	d     daisyData
	ctrl  companion.Controls
	loc   *time.Location
	now   time.Time
	prev  string
	pick  func(int) int
}

// companionStep turns an allowed (possibly redacted) message into Daisy's
// Turn. It runs only after the safety policy let the message through.
type companionStep func(s *Server, env turnEnv, msg string) companion.Turn

// chatStep is an ordinary chat message (routed to an active game by Respond).
func chatStep(s *Server, env turnEnv, msg string) companion.Turn {
	return env.eng.Respond(companion.Input{Text: msg, Tier: env.child.AgeTier, Prev: env.prev, Now: env.now,
		Daisy: env.d.rec.Daisy, Game: env.d.rec.Game, Controls: &env.ctrl}, env.pick)
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		Message string `json:"message"`
	}
	if err := decodeJSON(w, r, chatBody, &req); err != nil {
		return err
	}
	text, err := cleanText("message", req.Message, maxMessageRunes, true)
	if err != nil {
		return err
	}
	return s.runTurn(w, r, a, text, companion.FeatureChat, chatStep, true, false)
}

// maxTurnAttempts bounds how often one request re-reads Daisy's state and
// retries after another turn of the same child changed it first.
const maxTurnAttempts = 10

// errBusy: the child's turns kept colliding (many devices at once).
var errBusy = &apiError{Status: http.StatusConflict, Code: "busy", Message: "Daisy is answering another message; please send it again"}

// childLocks serialises the turns of one child on this node: a fixed set
// of stripes (no per-child map to grow or clean up), each a one-slot
// semaphore so that waiting respects the request's context.
type childLocks struct{ stripes [256]chan struct{} }

func newChildLocks() *childLocks {
	l := &childLocks{}
	for i := range l.stripes {
		l.stripes[i] = make(chan struct{}, 1)
	}
	return l
}

func (l *childLocks) lock(ctx context.Context, childID string) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(childID))
	c := l.stripes[h.Sum32()%uint32(len(l.stripes))]
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// staleState means another turn of the same child changed Daisy's state
// after this one read it; index is where that was detected.
type staleState struct{ index uint64 }

func (staleState) Error() string { return "companion state changed meanwhile" }

// runTurn is the whole turn pipeline shared by chat and games: safety
// policy on the message first; only an allowed or redacted message reaches
// the parental-controls check (feature f; outside hours or over the limit →
// the "time to rest" reply) and then step; the reply through the policy;
// Daisy's new state, usage and stats sealed and replicated with the turn.
//
// The state is read, changed and written as a compare-and-set on its
// version: when another turn of the same child landed in between, the
// command is refused, and the whole turn is planned again from the new
// state (bounded), so concurrent turns all land and none loses the
// other's changes. ai allows the optional provider for this kind of turn.
func (s *Server) runTurn(w http.ResponseWriter, r *http.Request, a storage.Actor, text string, f companion.Feature, step companionStep, ai, withGame bool) error {
	defer s.Metrics.Turn.Since(time.Now())
	ctx := r.Context()
	// Turn admission (admission.go): at most TurnSlots turns in progress
	// on this node; under sustained overload new turns are refused at once.
	t0 := time.Now()
	release, err := s.turns.acquire(ctx, s.TurnQueueTimeout, true)
	s.Metrics.TurnWait.Since(t0)
	if err != nil {
		s.Metrics.Shed.Add(1)
		return errOverloaded
	}
	defer release()
	child := childOf(r)
	dek, err := s.Vault.FamilyKey(ctx, child.FamilyID)
	if err != nil {
		return err
	}
	// Turns of one child through this node take turns; only turns through
	// different nodes can still collide (and retry).
	unlock, err := s.turnLocks.lock(ctx, child.ID)
	if err != nil {
		return err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		body, err := s.tryTurn(ctx, a, child, dek, text, f, step, ai, withGame)
		var stale staleState
		if !errors.As(err, &stale) {
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, body)
			return nil
		}
		if attempt >= maxTurnAttempts {
			s.log.Warn("chat turn kept colliding with others of the same child", "attempts", attempt)
			return errBusy
		}
		// Read the winner's state next: wait until this node applied it,
		// then back off a little (jittered) so colliding turns spread out.
		wctx, cancel := context.WithTimeout(ctx, readYourWritesWait)
		err = s.Repl.WaitApplied(wctx, stale.index)
		cancel()
		if err != nil {
			return errAmbiguous
		}
		t := time.NewTimer(time.Duration(rand.IntN(attempt*4)+1) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// tryTurn plans and replicates one turn from the state as read now; a
// staleState error means it must be planned again.
func (s *Server) tryTurn(ctx context.Context, a storage.Actor, child storage.ChildRow, dek []byte, text string, f companion.Feature, step companionStep, ai, withGame bool) (map[string]any, error) {
	recent, prevReply, err := s.recentContext(ctx, a, dek)
	if err != nil {
		return nil, err
	}
	d, err := s.loadDaisy(ctx, a, a.ID, dek)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	env := turnEnv{eng: s.engine(ctx), child: child, d: d, ctrl: d.settings.controls(), loc: d.settings.location(), now: now, prev: prevReply,
		pick: func(n int) int { return rand.IntN(max(n, 1)) }}
	var dt daisyTurn
	respond := func(msg string) companion.Reply {
		if ok, rest := env.eng.Allowed(env.ctrl, d.rec.Usage, child.AgeTier, now, env.loc, f); !ok {
			dt.rested = true
			return rest
		}
		t := step(s, env, msg)
		if f == companion.FeatureChat {
			t = s.packReply(ctx, env, t)
		}
		if ai {
			t, dt.ai = s.aiReply(ctx, env, msg, t)
		}
		dt.turn = &t
		return t.Reply
	}
	p := s.planTurn(ctx, text, child.AgeTier, env.ctrl.PolicyStrictness(), recent, respond)
	if p.busy {
		return nil, errOverloaded // nothing decided, nothing stored: the client retries
	}
	if p.gone {
		return nil, errClientGone
	}

	// Daisy's new state: her own answer's changes only when the child sees
	// that answer; usage whenever the child is within the allowed time.
	rec, changed := d.rec, false
	var outcome *companion.Outcome
	if p.answered && dt.turn != nil {
		rec.Daisy, rec.Game, outcome = dt.turn.Daisy, dt.turn.Game, dt.turn.Outcome
		for _, ev := range dt.turn.Events {
			rec.Stats, _ = companion.Award(rec.Stats, ev)
			if ev.Kind == companion.EventGameStart {
				rec.Usage = companion.TrackGame(rec.Usage, now, env.loc)
			}
		}
		changed = true
	}
	if dt.ai {
		rec.Usage, changed = companion.TrackAI(rec.Usage, now, env.loc), true
	}
	if companion.Check(env.ctrl, d.rec.Usage, now, env.loc, companion.FeatureChat).OK {
		rec.Usage = companion.Track(rec.Usage, now, env.loc)
		rec.Stats, _ = companion.Award(rec.Stats, companion.Visit(now, env.loc))
		changed = true
	}
	mood := p.reply.Mood
	if p.answered && dt.turn != nil {
		mood = companion.MoodAt(rec.Daisy, now)
	}
	var game *companion.GameView
	if rec.Game != nil {
		gv := rec.Game.View(now)
		game = &gv
		if rec.Game.Phase == companion.PhaseOver {
			rec.Game = nil // over: shown once, then deleted
		}
	}

	turnID := newTimeOrderedID("tu_", now)
	msgSealed, err := storage.Seal(dek, []byte(p.stored), storage.FieldAAD(storage.FieldMessage, turnID))
	if err != nil {
		return nil, err
	}
	replySealed, err := storage.Seal(dek, []byte(p.reply.Text), storage.FieldAAD(storage.FieldReply, turnID))
	if err != nil {
		return nil, err
	}
	nowMs := now.UnixMilli()
	cmd := &storage.ChatTurn{
		TurnID: turnID, ChildID: child.ID, DeviceID: a.DeviceID, CreatedAt: nowMs,
		MessageSealed: msgSealed, ReplySealed: replySealed, Intent: p.reply.Intent,
		InAction: p.in.Action, InCategories: nonNil(p.in.Categories), OutAction: p.out.Action, OutCategories: nonNil(p.out.Categories),
		Escalate: p.escalate, FailClosed: p.failClosed, PolicyVersion: p.version,
	}
	if changed {
		if cmd.Companion, err = sealDaisy(dek, child.ID, rec); err != nil {
			return nil, err
		}
		base := d.version
		cmd.StateBase = &base
	}
	if p.escalate || p.failClosed {
		cmd.EventID = newID("ev_")
	}
	var res storage.TurnResult
	resp, err := s.apply(ctx, cmd, &res)
	if err != nil {
		if resp.Code == CodeConflict {
			return nil, staleState{index: resp.Index}
		}
		if err == errNotFound {
			return nil, errUnauthorized // the device was revoked meanwhile
		}
		return nil, err
	}
	s.Metrics.Safety.countTurn(p.in.Action, p.out.Action, p.in.Categories, p.escalate, p.failClosed)
	// Parents hear about what the policy escalated in the child's message.
	// A turn escalated only because the policy failed (p.escalate with no
	// verdict on the message) is for the moderators and operators (its
	// policy_failure event): the parents would read a warning about
	// something their child never wrote, e.g. each time an overloaded node
	// times out an evaluation.
	if p.in.Escalate {
		s.alertParents(ctx, a, child, dek, p.in.Categories, now, resp.Index)
	}
	body := map[string]any{"turn": turnView{
		ID: turnID, Seq: res.Seq, CreatedAt: millis(nowMs), Message: p.stored, Reply: p.reply.Text,
		Intent: p.reply.Intent, Mood: mood, Suggestions: p.reply.Suggestions,
		Safety: &safety{Action: p.in.Action, Categories: nonNil(p.in.Categories), Escalated: p.escalate, FailClosed: p.failClosed, PolicyVersion: p.version},
	}}
	if withGame {
		body["game"] = game
		if outcome != nil {
			body["outcome"] = outcome
		}
	}
	return body, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// recentContext returns the last few turns (oldest first) for multi-turn
// policy patterns, and Daisy's previous reply (so she does not repeat it).
func (s *Server) recentContext(ctx context.Context, a storage.Actor, dek []byte) ([]policies.ContextTurn, string, error) {
	rows, err := s.DB.Turns(ctx, a, a.ID, 0, contextTurns)
	if err != nil {
		return nil, "", err
	}
	var out []policies.ContextTurn
	prev := ""
	for i := len(rows) - 1; i >= 0; i-- {
		t := rows[i]
		msg, err := storage.Unseal(dek, t.MessageSealed, storage.FieldAAD(storage.FieldMessage, t.ID))
		if err != nil {
			return nil, "", err
		}
		reply, err := storage.Unseal(dek, t.ReplySealed, storage.FieldAAD(storage.FieldReply, t.ID))
		if err != nil {
			return nil, "", err
		}
		out = append(out, policies.ContextTurn{Direction: "in", Text: string(msg)}, policies.ContextTurn{Direction: "out", Text: string(reply)})
		prev = string(reply)
	}
	return out, prev, nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, a storage.Actor, childID string, full bool) error {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistory {
			return errInvalid("limit must be a number from 1 to 100")
		}
		limit = n
	}
	var before int64
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return errInvalid("before must be a positive turn number")
		}
		before = n
	}
	var rows []storage.TurnRow
	err := s.fresh(r.Context(), func() (err error) {
		rows, err = s.DB.Turns(r.Context(), a, childID, before, limit)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	out := make([]turnView, 0, len(rows))
	var dek []byte
	if len(rows) > 0 {
		if dek, err = s.Vault.FamilyKey(r.Context(), a.FamilyID); err != nil {
			return err
		}
	}
	for _, t := range rows {
		msg, err := storage.Unseal(dek, t.MessageSealed, storage.FieldAAD(storage.FieldMessage, t.ID))
		if err != nil {
			return err
		}
		reply, err := storage.Unseal(dek, t.ReplySealed, storage.FieldAAD(storage.FieldReply, t.ID))
		if err != nil {
			return err
		}
		v := turnView{ID: t.ID, Seq: t.Seq, CreatedAt: millis(t.CreatedAt), Message: string(msg), Reply: string(reply), Intent: t.Intent}
		if full {
			v.Safety = &safety{Action: t.InAction, Categories: t.InCategories, ReplyAction: t.OutAction, ReplyCats: t.OutCategories,
				Escalated: t.Escalate, FailClosed: t.FailClosed, PolicyVersion: t.PolicyVersion}
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"turns": out})
	return nil
}

func (s *Server) chatHistory(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	return s.history(w, r, a, a.ID, false)
}

func (s *Server) childTurns(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	return s.history(w, r, a, p.ByName("id"), true)
}
