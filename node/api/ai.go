package api

import (
	"context"
	"errors"

	"daisydog/node/companion"
	"daisydog/node/llm"
	"daisydog/policies"
)

// AIProvider is the optional model provider (see node/llm).
type AIProvider interface {
	Reply(ctx context.Context, p llm.Prompt) (string, error)
	// DailyBudget is how many calls one child may cause per local day.
	DailyBudget() int
}

// breakerStater is a provider with a circuit breaker (llm.Client): its
// state is reported in the metrics.
type breakerStater interface {
	BreakerState() string
}

// aiIntents are the open-ended turns the provider may answer. Everything
// with rules or state (food, tricks, games, stories, jokes, facts), and
// feelings (fixed, reviewed support lines), stays with the built-in engine.
var aiIntents = map[string]bool{companion.IntentDefault: true, companion.IntentGreeting: true, companion.IntentCompliment: true}

// aiReply may replace the text of the built-in turn t with the optional
// provider's reply. It runs only inside the turn pipeline, after the
// safety policy allowed (or redacted) the message: msg is that redacted
// message, and the provider learns nothing else about the child. It needs
// the operator's provider, the parent's AI-mode toggle AND the separate
// third-party consent, an open-ended intent, no game in play, and budget
// left today. The reply must pass the output policy at the parent's
// strictness; anything else (unsafe, slow, failing, over budget, breaker
// open) keeps the built-in reply, silently. called reports whether the
// provider was asked (it counts against the child's budget).
func (s *Server) aiReply(ctx context.Context, env turnEnv, msg string, t companion.Turn) (_ companion.Turn, called bool) {
	if s.AI == nil || !env.ctrl.AIMode || !env.d.settings.AIThirdPartyConsent || !aiIntents[t.Reply.Intent] {
		return t, false
	}
	if t.Game != nil && t.Game.Active(env.now) {
		return t, false
	}
	if companion.UsageAt(env.d.rec.Usage, env.now, env.loc).AICalls >= s.AI.DailyBudget() {
		return t, false
	}
	text, err := s.AI.Reply(ctx, llm.Prompt{Tier: env.child.AgeTier, Message: msg})
	if errors.Is(err, llm.ErrOpen) {
		s.Metrics.AI.BreakerOpen.Add(1)
		return t, false // not asked: costs nothing
	}
	if errors.Is(err, llm.ErrUnusable) {
		// Delivered, but out of character (operational text, contact
		// details, a meet-up): Daisy's own checks refused it.
		s.Metrics.AI.Refused.Add(1)
		s.log.Info("ai provider reply refused as unusable; built-in reply instead", "err", err)
		return t, true
	}
	if err != nil {
		s.Metrics.AI.Failed.Add(1)
		// Never the message, never the provider's text: only the kind of failure.
		s.log.Warn("ai provider reply not used; built-in reply instead", "err", err)
		return t, true
	}
	v, err := s.evaluate(ctx, policies.Input{Text: text, Direction: "out", AgeTier: env.child.AgeTier, Strictness: env.ctrl.PolicyStrictness()})
	if err != nil || v.Action != "allow" {
		s.Metrics.AI.Refused.Add(1)
		s.log.Info("ai provider reply refused by the output policy; built-in reply instead", "action", v.Action, "categories", v.Categories)
		return t, true
	}
	s.Metrics.AI.Used.Add(1)
	t.Reply.Text = text
	return t, true
}
