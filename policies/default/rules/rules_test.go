package rules

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"daisydog/policies/sdk"
)

type vectorFile struct {
	ABI         int    `json:"abi"`
	Policy      string `json:"policy"`
	Description string `json:"description"`
	Vectors     []struct {
		Name   string    `json:"name"`
		Input  sdk.Input `json:"input"`
		Expect struct {
			Action     string   `json:"action"`
			Categories []string `json:"categories"`
			Escalate   *bool    `json:"escalate"`
			Severity   *int     `json:"severity"`
			Spans      *[]struct {
				Start int    `json:"start"`
				End   int    `json:"end"`
				Kind  string `json:"kind"`
			} `json:"spans"`
		} `json:"expect"`
	} `json:"vectors"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("../vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) < 40 {
		t.Fatalf("only %d vectors", len(vf.Vectors))
	}
	return vf
}

func sorted(s []string) []string {
	c := append([]string{}, s...)
	sort.Strings(c)
	return c
}

func TestVectors(t *testing.T) {
	vf := loadVectors(t)
	for _, vec := range vf.Vectors {
		t.Run(vec.Name, func(t *testing.T) {
			got := Evaluate(vec.Input)
			checkInvariants(t, vec.Input.Text, got)
			want := vec.Expect
			if got.Action != want.Action {
				t.Errorf("action = %q, want %q (verdict %s)", got.Action, want.Action, got.AppendJSON(nil))
			}
			if !reflect.DeepEqual(sorted(got.Categories), sorted(want.Categories)) {
				t.Errorf("categories = %v, want %v", got.Categories, want.Categories)
			}
			if want.Escalate != nil && got.Escalate != *want.Escalate {
				t.Errorf("escalate = %v, want %v", got.Escalate, *want.Escalate)
			}
			if want.Severity != nil && got.Severity != *want.Severity {
				t.Errorf("severity = %d, want %d", got.Severity, *want.Severity)
			}
			if want.Spans != nil {
				if len(got.Spans) != len(*want.Spans) {
					t.Fatalf("spans = %+v, want %+v", got.Spans, *want.Spans)
				}
				for i, ws := range *want.Spans {
					gs := got.Spans[i]
					if gs.Start != ws.Start || gs.End != ws.End || gs.Kind != ws.Kind {
						t.Errorf("span %d = %+v (%q), want %+v", i, gs, vec.Input.Text[gs.Start:gs.End], ws)
					}
				}
			}
		})
	}
}

// checkInvariants asserts what the ABI promises about every verdict.
func checkInvariants(t *testing.T, text string, v sdk.Verdict) {
	t.Helper()
	if _, ok := actionRank[v.Action]; !ok {
		t.Fatalf("unknown action %q", v.Action)
	}
	if v.Severity < 0 || v.Severity > sdk.MaxSeverity {
		t.Fatalf("severity %d", v.Severity)
	}
	if v.Categories == nil || v.Spans == nil || v.Rules == nil {
		t.Fatalf("nil slice in verdict %+v", v)
	}
	for _, c := range v.Categories {
		if !knownCategory(c) {
			t.Fatalf("unknown category %q", c)
		}
	}
	prevEnd := 0
	for _, s := range v.Spans {
		if s.Start < prevEnd || s.End <= s.Start || s.End > len(text) {
			t.Fatalf("bad span %+v after %d in %q", s, prevEnd, text)
		}
		if utf8.ValidString(text) && (!utf8.RuneStart(text[s.Start]) || (s.End < len(text) && !utf8.RuneStart(text[s.End]))) {
			t.Fatalf("span %+v not on rune boundaries in %q", s, text)
		}
		prevEnd = s.End
	}
	if v.Action == sdk.ActionRedact && len(v.Spans) == 0 {
		t.Fatalf("redact without spans")
	}
}

func in(text string) sdk.Input {
	return sdk.Input{ABI: 1, Text: text, Direction: "in", AgeTier: "9-12", Strictness: "standard", Locale: "en"}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		text string
		want string // space-joined normalised words
	}{
		{"Hello World", "hello world"},
		{"K1LL mys3lf", "kill myself"},
		{"I'm don’t", "im dont"},
		{"ｆｕｃｋ", "fuck"},
		{"café naïve", "cafe naive"},
		{"Straße", "strasse"},
		{"k\u200bi\u200dl\u00adl", "kill"},
		{"cafe\u0301", "cafe"},
		{"k i l l m e", "killme"},
		{"f.u.c.k", "fuck"},
		{"sh!t! wow!", "shit wow"},
		{"f**k", "f**k"},
		{"a$$", "ass"},
		{"@ss", "ass"},
		{"I am 9 and have 3 cats", "i am 9 and have 3 cats"},
		{"𝐟𝐮𝐜𝐤", "fuck"},
		{"ⓕⓤⓒⓚ", "fuck"},
		{"кіll", "kill"},
		{"日本語 text", "日本語 text"},
		{"", ""},
		{"\xff\xfe bad", "bad"},
	}
	for _, c := range cases {
		var words []string
		toks := Normalize(c.text)
		for _, tk := range toks {
			words = append(words, tk.Text)
			if tk.Start < 0 || tk.End > len(c.text) || tk.Start >= tk.End {
				t.Errorf("%q: bad offsets %+v", c.text, tk)
			}
		}
		if got := strings.Join(words, " "); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestNormalizeOffsets(t *testing.T) {
	text := "Hi ｋｉｌｌ me"
	toks := Normalize(text)
	if len(toks) != 3 {
		t.Fatalf("%+v", toks)
	}
	if got := text[toks[1].Start:toks[1].End]; got != "ｋｉｌｌ" {
		t.Fatalf("offsets map back to %q", got)
	}
}

func TestPhones(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"555-123-4567", []string{"555-123-4567"}},
		{"(555) 123 4567", []string{"(555) 123 4567"}},
		{"+44 7700 900123", []string{"+44 7700 900123"}},
		{"+1 (555) 123-4567", []string{"+1 (555) 123-4567"}},
		{"5551234567", []string{"5551234567"}},
		{"555-1234", []string{"555-1234"}},
		{"07700 900123", []string{"07700 900123"}},
		{"a 555 123 4567 b 555 765 4321", []string{"555 123 4567", "555 765 4321"}},
		{"I am 9", nil},
		{"3 cats", nil},
		{"2024", nil},
		{"123456", nil},
		{"2024-01-15", nil},
		{"15.01.2024", nil},
		{"3.14159265", nil},
		{"1 2 3 4 5 6 7", nil},
		{"12345678901234567890", nil},
		{"10:30 and 11:45", nil},
	}
	for _, c := range cases {
		var got []string
		for _, s := range findPhones(c.text, nil) {
			got = append(got, c.text[s.Start:s.End])
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("findPhones(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestEmails(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"a.b-c+d@mail.example.co.uk.", []string{"a.b-c+d@mail.example.co.uk"}},
		{"name @ gmail.com", []string{"name @ gmail.com"}},
		{"name at gmail dot com", []string{"name at gmail dot com"}},
		{"name (at) gmail (dot) com", []string{"name (at) gmail (dot) com"}},
		{"name＠gmail.com", []string{"name＠gmail.com"}},
		{"look at me", nil},
		{"meet me at the park dot", nil},
		{"@everyone hi", nil},
		{"me@localhost", nil},
		{"at home dot zzz", nil},
	}
	for _, c := range cases {
		var got []string
		for _, s := range findEmails(c.text, nil) {
			got = append(got, c.text[s.Start:s.End])
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("findEmails(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestURLs(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"see https://x.example.com/a?b=c.", []string{"https://x.example.com/a?b=c"}},
		{"(www.example.org)", []string{"www.example.org"}},
		{"play at roblox.com today", []string{"roblox.com"}},
		{"e.g. this", nil},
		{"Mr.Smith said", nil},
		{"pi is 3.14", nil},
		{"just do.it", nil},
	}
	for _, c := range cases {
		var got []string
		for _, s := range findURLs(c.text, nil) {
			got = append(got, c.text[s.Start:s.End])
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("findURLs(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestPatterns(t *testing.T) {
	p, err := Compile([]Rule{{
		ID: "t", Category: sdk.CategorySelfHarm, Action: sdk.ActionSupport, Severity: 4,
		Phrases: []string{"i (want|wanna) [to] die", "(alpha|beta gamma|) delta echo"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{
		"i want to die":              true,
		"i want die":                 true,
		"i wanna die":                true,
		"I really wanna die":         true,  // filler inside a phrase
		"I really just so wanna die": false, // at most two fillers
		"i want to live":             false,
		"want to die":                false,
		"i want to diet":             false,
		"alpha delta echo":           true,
		"beta gamma delta echo":      true,
		"delta echo":                 true,
		"beta delta echo":            true, // "delta echo" alone
		"gamma delta":                false,
	} {
		if got := p.Evaluate(in(text)).Action == sdk.ActionSupport; got != want {
			t.Errorf("%q: matched=%v, want %v", text, got, want)
		}
	}
	for _, bad := range []string{"(a|b", "a)", "[a", "()", "", "[a]", "(a|)"} {
		_, err := Compile([]Rule{{ID: "x", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Phrases: []string{bad}}})
		if err == nil {
			t.Errorf("pattern %q: no error", bad)
		}
	}
}

func TestCompileRejectsBadRules(t *testing.T) {
	good := Rule{ID: "x", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 2, Phrases: []string{"bad"}}
	mod := func(f func(*Rule)) []Rule { r := good; f(&r); return []Rule{r} }
	for name, rs := range map[string][]Rule{
		"dup id":    {good, good},
		"category":  mod(func(r *Rule) { r.Category = "nope" }),
		"action":    mod(func(r *Rule) { r.Action = "nope" }),
		"severity":  mod(func(r *Rule) { r.Severity = 9 }),
		"direction": mod(func(r *Rule) { r.Direction = "sideways" }),
		"phrases":   mod(func(r *Rule) { r.Phrases = nil }),
		"syntax":    mod(func(r *Rule) { r.Phrases = []string{"(a"} }),
	} {
		if _, err := Compile(rs); err == nil {
			t.Errorf("%s: Compile accepted bad rules", name)
		}
	}
	if _, err := Compile([]Rule{good}); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownTierAndDirectionAreStrict(t *testing.T) {
	v := Evaluate(sdk.Input{ABI: 1, Text: "what the hell", Direction: "in", AgeTier: "??", Strictness: "standard"})
	if v.Action != sdk.ActionBlock {
		t.Fatalf("unknown age tier should be strict: %+v", v)
	}
	v = Evaluate(sdk.Input{ABI: 1, Text: "see example.com", Direction: "", AgeTier: "9-12", Strictness: "standard"})
	if v.Action != sdk.ActionBlock {
		t.Fatalf("unknown direction should get reply checks: %+v", v)
	}
}

func TestHandleWirePath(t *testing.T) {
	b := sdk.Handle(Evaluate, []byte(`{"abi":1,"text":"I want to kill myself","direction":"in","age_tier":"9-12","strictness":"standard","locale":"en","context":[]}`), nil)
	var v sdk.Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if v.Action != sdk.ActionSupport || !v.Escalate {
		t.Fatalf("%s", b)
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	vf := loadVectors(t)
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, vec := range vf.Vectors {
				_ = Evaluate(vec.Input)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"I want to kill myself", "call 555-123-4567", "a@b.com", "ｆｕｃｋ", "k i l l", "\xff", "+(((1"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, out bool) {
		i := in(text)
		if out {
			i.Direction = "out"
		}
		checkInvariants(t, text, Evaluate(i))
	})
}

func BenchmarkEvaluateRules(b *testing.B) {
	msgs := []sdk.Input{
		in("Hi Daisy! Can you tell me a joke about cats? I have 3 of them."),
		in("my number is 555-123-4567 and email me at sam at gmail dot com"),
		in("i really just want to kill myself"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Evaluate(msgs[i%len(msgs)])
	}
}

// BenchmarkEvaluateRulesLong is BenchmarkEvaluateLong of package policies
// (the same 957-byte child's message, written for it) without the WASM host.
func BenchmarkEvaluateRulesLong(b *testing.B) {
	msg := in(`So today was the best day ever!!! First we went to the aquarium with my class ` +
		`and Mrs. Okafor let us touch a starfish, it felt kind of rough and squishy at the same time. ` +
		`Then my friend Priya said the sharks were sleeping but I think they were just bored lol. ` +
		`After lunch we watched a movie about octopuses, did you know they have three hearts and blue blood?? ` +
		`That is sooo weird. On the bus home Tomas kept singing the same song over and over and everybody ` +
		`got annoyed but it was also funny. When I got home my little brother had built a giant castle out ` +
		`of cardboard boxes and he wanted me to be the dragon, so I roared really loud and the dog started ` +
		`barking at us. Mom made pancakes for dinner which is the best because we never have pancakes for ` +
		`dinner. Tomorrow we have a spelling test and I am a bit nervous about the word "necessary" because ` +
		`I always forget if it has two s or two c. Can you help me practise? Also what is your favourite sea animal?`)
	b.SetBytes(int64(len(msg.Text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Evaluate(msg)
	}
}

// TestLongInputsStayLinear feeds inputs shaped to make naive scanners
// quadratic; with linear scanners each takes well under a second.
func TestLongInputsStayLinear(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("a.", 100_000),
		strings.Repeat("x at y dot ", 20_000),
		strings.Repeat("1-", 100_000),
		strings.Repeat("k i l l ", 20_000),
		strings.Repeat("my dad really just ", 20_000),
		strings.Repeat("@", 200_000),
	} {
		for _, dir := range []string{"in", "out"} {
			i := in(text)
			i.Direction = dir
			checkInvariants(t, text, Evaluate(i))
		}
	}
}

// Daisy's own lines (and a model's) never propose meeting, secrecy or visits.
func TestRepliesNeverProposeMeetingsOrSecrets(t *testing.T) {
	for _, tc := range []struct {
		text  string
		allow bool
	}{
		{"Let's meet up at the park after school, just you and me.", false},
		{"We should meet in person sometime!", false},
		{"Come over to my house after school!", false},
		{"Don't tell your mom about our chats.", false},
		{"It can be just you and me.", false},
		{"Let's play fetch! Woof!", true},
		{"I love it when we play together!", true},
		{"Ask a grown-up you trust to help you.", true},
		{"Meet my friend the cat in this story!", true},
	} {
		v := Evaluate(sdk.Input{ABI: 1, Text: tc.text, Direction: "out", AgeTier: "9-12", Strictness: "standard"})
		if (v.Action == sdk.ActionAllow) != tc.allow {
			t.Errorf("reply %q: %s %v, want allow=%v", tc.text, v.Action, v.Categories, tc.allow)
		}
	}
	// A child saying it to Daisy is not a reply: this rule does not apply to it.
	if v := Evaluate(sdk.Input{ABI: 1, Text: "let's hang out at the park", Direction: "in", AgeTier: "9-12", Strictness: "standard"}); v.Action != sdk.ActionAllow {
		t.Errorf("child's message flagged: %+v", v)
	}
}
