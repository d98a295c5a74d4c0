package companion

import "strings"

// helpNumbers is what Support tells a child to call for a region.
type helpNumbers struct {
	emergency string // police / ambulance
	crisis    string // 24/7 call-or-text crisis line, "" if none we are sure of
}

// regionHelp maps an ISO 3166-1 region code to its numbers. Unknown regions
// get the generic "your local emergency number" wording instead of a guess.
func regionHelp() map[string]helpNumbers {
	m := map[string]helpNumbers{
		"US": {emergency: "911", crisis: "988"},
		"CA": {emergency: "911", crisis: "988"},
		"GB": {emergency: "999"},
		"AU": {emergency: "000"},
		"NZ": {emergency: "111"},
		"IN": {emergency: "112"},
	}
	// 112 is the single emergency number across the EU/EEA and Switzerland.
	for _, r := range []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE",
		"GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES",
		"SE", "IS", "LI", "NO", "CH"} {
		m[r] = helpNumbers{emergency: "112"}
	}
	return m
}

// localeRegion extracts the region subtag of a BCP 47-ish locale: "en-US",
// "en_gb", "fr-FR" → "US", "GB", "FR". "UK" is accepted for "GB". A locale
// without a two-letter region ("en", "es-419", "") yields "".
func localeRegion(locale string) string {
	parts := strings.FieldsFunc(locale, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == '@' })
	for i, p := range parts {
		if i == 0 || len(p) != 2 {
			continue
		}
		r := strings.ToUpper(p)
		if r[0] < 'A' || r[0] > 'Z' || r[1] < 'A' || r[1] > 'Z' {
			continue
		}
		if r == "UK" {
			r = "GB"
		}
		return r
	}
	return ""
}

// supportText is a template per tier: body, danger sentence (with %s for the
// "call …" phrase) and crisis-line sentence (with %s for the number).
type supportText struct {
	body, danger, crisis string
}

// supportTexts: warm, calm, no exclamation marks, no jokes. Every tier says
// the child matters, to talk to a trusted adult now, and what to do in danger.
func supportTexts() map[string]supportText {
	return map[string]supportText{
		Tier5to8: {
			body:   "I'm really glad you told me. You matter so much, and you don't have to deal with this alone. Please go and tell a grown-up you trust right now, like a parent, a teacher or the school counsellor.",
			danger: "If you are in danger or someone is hurting you, %s right away.",
			crisis: "You can also call or text %s to talk to a kind helper, any time.",
		},
		Tier9to12: {
			body:   "Thank you for telling me. You matter, and what you're feeling matters. Please talk to a grown-up you trust right now — a parent, a teacher or your school counsellor. You don't have to handle this on your own.",
			danger: "If you are in danger or might hurt yourself, %s now.",
			crisis: "You can also call or text %s any time to talk to someone who can help.",
		},
		Tier13to17: {
			body:   "Thank you for telling me — that took courage. You matter, and you deserve support. Please reach out to an adult you trust right now, like a parent, a teacher or your school counsellor; you don't have to carry this alone.",
			danger: "If you're in danger or thinking about hurting yourself, %s now.",
			crisis: "You can also call or text %s any time, day or night, to reach a crisis line.",
		},
	}
}
