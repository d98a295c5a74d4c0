package api

import (
	"slices"
	"sync/atomic"

	"daisydog/policies/sdk"
)

// SafetyCounters count the safety outcome of every turn this node stored:
// the policy's action on the child's message and on Daisy's reply, the
// categories found in the message, escalations to the family's moderators
// and turns that failed closed. Counts only, by fixed names: no text, no
// ids. They are what a child-safety dashboard plots (a rise in
// fail_closed means a policy problem; a rise in self_harm a wave of
// children who need support).
type SafetyCounters struct {
	Turns, Escalated, FailClosed atomic.Uint64
	in, out                      [5]atomic.Uint64  // by sdk.Actions
	categories                   [16]atomic.Uint64 // by sdk.Categories
}

// countTurn records one stored turn.
func (c *SafetyCounters) countTurn(inAction, outAction string, inCategories []string, escalated, failClosed bool) {
	c.Turns.Add(1)
	if i := slices.Index(sdk.Actions, inAction); i >= 0 && i < len(c.in) {
		c.in[i].Add(1)
	}
	if i := slices.Index(sdk.Actions, outAction); i >= 0 && i < len(c.out) {
		c.out[i].Add(1)
	}
	for _, cat := range inCategories {
		if i := slices.Index(sdk.Categories, cat); i >= 0 && i < len(c.categories) {
			c.categories[i].Add(1)
		}
	}
	if escalated {
		c.Escalated.Add(1)
	}
	if failClosed {
		c.FailClosed.Add(1)
	}
}

// SafetySnapshot is the "safety" part of GET /v1/metrics.
type SafetySnapshot struct {
	Turns      uint64            `json:"turns"`
	In         map[string]uint64 `json:"message_actions"`
	Out        map[string]uint64 `json:"reply_actions"`
	Categories map[string]uint64 `json:"message_categories"`
	Escalated  uint64            `json:"escalated"`
	FailClosed uint64            `json:"fail_closed"`
}

func (c *SafetyCounters) snapshot() SafetySnapshot {
	s := SafetySnapshot{Turns: c.Turns.Load(), Escalated: c.Escalated.Load(), FailClosed: c.FailClosed.Load(),
		In: map[string]uint64{}, Out: map[string]uint64{}, Categories: map[string]uint64{}}
	for i, a := range sdk.Actions[:min(len(sdk.Actions), len(c.in))] {
		s.In[a], s.Out[a] = c.in[i].Load(), c.out[i].Load()
	}
	for i, cat := range sdk.Categories[:min(len(sdk.Categories), len(c.categories))] {
		s.Categories[cat] = c.categories[i].Load()
	}
	return s
}
