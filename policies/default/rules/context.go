package rules

import (
	"fmt"

	"daisydog/policies/sdk"
)

// Multi-turn risk. Grooming rarely arrives in one message: a stranger asks
// the child's age, then the school, then for a photo, then to keep it
// secret. Each step alone can look mild; together they are the pattern.
// riskStages are those steps; the policy counts the distinct stages seen
// in the child's recent messages (Input.Context, direction "in", plus the
// current one) and escalates when enough of them add up.

// RiskStage is one step of a grooming pattern.
type RiskStage struct {
	Name    string
	Phrases []string // pattern syntax of lexicon.go
}

var riskStages = []RiskStage{
	{"stranger", []string{
		"(online|internet|new|secret) (friend|boyfriend|girlfriend|buddy)",
		"(a|this|some|the) (man|guy|boy|girl|lady|woman|person|grown up|adult|stranger|teenager) (from|on|in|at) (my|the|a) (game|roblox|minecraft|fortnite|discord|chat|app|server|internet|park|bus)",
		"(someone|somebody|he|she) (i met|from) (online|the game|roblox|minecraft|fortnite|discord|tiktok|instagram|snapchat)",
		"(met|meet) (him|her|someone|somebody|a guy|a man) online",
	}},
	{"age", []string{
		"(asked|asks|asking|wanted to know|wants to know) (me|about) (how old i am|my age|if im|if i am|what grade)",
		"(asked|asks|asking) (how old i am|my age|what grade im in|what grade i am in)",
		"(he|she|they) (is|s) [like|about] (15|16|17|18|19|20|21|22|25|30|40) [years old]",
		"(im|i am|i'm) (8|9|10|11|12|13) (years old|yrs old|yo)",
	}},
	{"location", []string{
		"(asked|asks|asking|wanted to know|wants to know) [me|about] (where i live|my address|what school|which school|where i go to school|my school|what town|what city|where my house is)",
		"(told|tell|gave|give|sent|send) (him|her|them) (my address|where i live|my school|what school|my location|my number|my phone number)",
		"(my|the) (address|school|house) (to|for) (him|her|them)",
	}},
	{"photo", []string{
		"(photo|photos|picture|pictures|pic|pics|selfie|selfies|video of me|videos of me) (of me|of myself)",
		"(wants|wanted|asked|asks|asking|told me|tells me) [me] [to] (send|sending|take|taking|show|showing) [him|her|them] [a|some|my] (photo|photos|picture|pictures|pic|pics|selfie|selfies|video)",
		"(wants|wanted|asked|asks) [to] (video call|video chat|facetime|see me on camera|turn on my camera|webcam)",
		"(turn on|turned on) [my] (camera|webcam)",
	}},
	{"secrecy", []string{
		"(secret|our secret|our little secret|just between us|between you and me)",
		"(dont|don't|do not|never|not) (tell|telling|told) (anyone|anybody|my mom|my mum|my dad|my parents|your mom|your mum|your dad|your parents|mom|mum|dad)",
		"(delete|deleted|deleting|hide|hiding) [the|our|my] (messages|chat|chats|texts|pictures|photos)",
		"(mom|mum|dad|my parents|parents) (cant|can't|cannot|wont|won't|shouldnt|shouldn't) (know|find out|see)",
	}},
	{"move", []string{
		"(add|message|text|call|dm|chat with|talk to) (him|her|them|me) (on|in) (snapchat|snap|whatsapp|discord|telegram|kik|instagram|insta|tiktok|skype|private)",
		"(wants|wanted|asked) [me] [to] (move|switch|go|talk|chat) (to|on) (snapchat|snap|whatsapp|discord|telegram|kik|instagram|a private chat|private|another app|a different app)",
		"(his|her|their) (snapchat|snap|whatsapp|discord|number|phone number)",
	}},
	{"gift", []string{
		"(gift card|giftcard|robux|vbucks|v bucks|free skins|money|present|presents|gift|gifts|a new phone)",
	}},
	{"meet", []string{
		"(meet|meet up|meeting|hang out|come over|pick me up|picking me up|come to my house|come to his house|go to his house|visit me)",
	}},
	{"flattery", []string{
		"(mature|grown up) for (my|your) age",
		"(says|said|told me|tells me) (im|i'm|i am|that im|that i'm|that i am) (special|pretty|beautiful|cute|hot|sexy|mature|his girlfriend|his boyfriend)",
		"(he|she) (loves|love|likes) me (more than|like a)",
	}},
}

// riskThreshold is how many distinct stages in the recent turns make a
// grooming pattern; maxRiskTurns how many earlier child turns count.
const (
	riskThreshold = 3
	maxRiskTurns  = 10
)

// contactStages are the stages of which a pattern needs at least one: an
// unknown person, or someone reaching for the child's age, whereabouts,
// image or a private channel.
var contactStages = func() uint32 {
	var m uint32
	for i, st := range riskStages {
		switch st.Name {
		case "stranger", "age", "location", "photo", "move":
			m |= 1 << uint(i)
		}
	}
	return m
}()

// RuleGroomingPattern is the rule id reported for a multi-turn pattern.
const RuleGroomingPattern = "grooming.pattern"

func compileRisk() (*lexicon, error) {
	l := newLexicon()
	for i, st := range riskStages {
		for _, ph := range st.Phrases {
			if err := l.add(ph, int32(i)); err != nil {
				return nil, fmt.Errorf("risk stage %s: %w", st.Name, err)
			}
		}
	}
	l.normCache = nil
	l.freeze()
	return l, nil
}

// stages returns the bit set of risk stages text touches.
func (l *lexicon) stages(s *scratch, text string) uint32 {
	s.normalize(text)
	l.candidates(s)
	l.match(s)
	var m uint32
	for _, h := range s.hits {
		m |= 1 << uint(h.rule)
	}
	return m
}

// contextRisk reports whether the child's current message, together with
// their recent earlier messages, completes a grooming pattern. The current
// message must contribute a stage: an old pattern alone does not flag
// every later "hi".
func (p *Policy) contextRisk(in sdk.Input) bool {
	if len(in.Context) == 0 || p.risk == nil {
		return false
	}
	s := p.pool.Get().(*scratch)
	defer p.pool.Put(s)
	now := p.risk.stages(s, in.Text)
	if now == 0 {
		return false
	}
	seen := now
	n := 0
	for k := len(in.Context) - 1; k >= 0 && n < maxRiskTurns; k-- {
		t := in.Context[k]
		if t.Direction != sdk.DirectionIn {
			continue
		}
		n++
		seen |= p.risk.stages(s, t.Text)
	}
	if seen&contactStages == 0 {
		return false // a secret birthday present is not grooming
	}
	count := 0
	for ; seen != 0; seen &= seen - 1 {
		count++
	}
	return count >= riskThreshold
}
