package sdk

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeInput(t *testing.T) {
	doc := `{"abi":1,"text":"héllo \"Daisy\" \u00e9\ud83d\udc36\n","direction":"in","age_tier":"5-8",
		"strictness":"strict","locale":"en-GB","extra":{"a":[1,2.5e3,true,null,{"b":"c"}]},
		"context":[{"direction":"in","text":"hi","x":1},{"direction":"out","text":"Woof!"}]}`
	in, err := DecodeInput([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Input{ABI: 1, Text: "héllo \"Daisy\" é🐶\n", Direction: "in", AgeTier: "5-8", Strictness: "strict",
		Locale: "en-GB", Context: []ContextTurn{{Direction: "in", Text: "hi"}, {Direction: "out", Text: "Woof!"}}}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("got %+v\nwant %+v", in, want)
	}
	for _, bad := range []string{
		``, `{`, `[]`, `{"abi":1,}`, `{"abi":1} x`, `{"abi":"1"}`, `{"abi":1.5}`, `{"abi":1,"text":"\x01"}`,
		`{"abi":1,"text":"\q"}`, `{"abi":1,"text":"abc`, `{"abi":1,"context":[{"text":1}]}`, `{"abi":01}`,
		`{"abi":1,"z":[1,]}`, `{"abi":1,"z":tru}`, `{"abi":1 "text":"x"}`,
	} {
		if _, err := DecodeInput([]byte(bad)); err == nil {
			t.Errorf("DecodeInput(%q) accepted invalid input", bad)
		}
	}
	if _, err := DecodeInput([]byte(`{"text":"x"}`)); !errors.Is(err, ErrUnsupportedABI) {
		t.Errorf("missing abi: %v", err)
	}
	if _, err := DecodeInput([]byte(`{"abi":2,"text":"x"}`)); !errors.Is(err, ErrUnsupportedABI) {
		t.Errorf("abi 2: %v", err)
	}
}

// decodeBoth checks decodeInput against encoding/json on a valid document.
func decodeBoth(t *testing.T, doc []byte) {
	t.Helper()
	var want Input
	if err := json.Unmarshal(doc, &want); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	var got Input
	if err := decodeInput(doc, &got); err != nil {
		t.Fatalf("decodeInput(%s): %v", doc, err)
	}
	if len(want.Context) == 0 && len(got.Context) == 0 {
		want.Context, got.Context = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeInput(%s)\n got %+v\nwant %+v", doc, got, want)
	}
}

func FuzzDecodeInputMatchesEncodingJSON(f *testing.F) {
	f.Add("I want to kill myself", "in", 1, "earlier", "ｆｕｃｋ \u2028 \x00 \xff")
	f.Fuzz(func(t *testing.T, text, dir string, abi int, ctxText, other string) {
		doc, err := json.Marshal(Input{ABI: abi, Text: text, Direction: dir, AgeTier: other, Locale: "en",
			Context: []ContextTurn{{Direction: "in", Text: ctxText}, {Direction: other, Text: text}}})
		if err != nil {
			t.Skip()
		}
		decodeBoth(t, doc)
	})
}

func FuzzDecodeInputRaw(f *testing.F) {
	f.Add([]byte(`{"abi":1,"text":"\ud83d\ude00","context":[{"text":"x"}]}`))
	f.Add([]byte(`{"abi":1,"text":"\ud800\u0041"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Input
		if err := decodeInput(b, &got); err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		// Same result as encoding/json when keys have the canonical case
		// (encoding/json also matches keys case-insensitively).
		var want Input
		if strings.Contains(strings.ToLower(string(b)), `"abi"`) && json.Unmarshal(b, &want) == nil && canonicalKeys(b) {
			if len(want.Context) == 0 && len(got.Context) == 0 {
				want.Context, got.Context = nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
			}
		}
	})
}

// canonicalKeys reports whether every object key in b is lower-case ASCII
// without escapes, and no key appears twice in the top-level object.
func canonicalKeys(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	seen := map[string]bool{}
	for k := range m {
		if strings.ToLower(k) != k || seen[k] {
			return false
		}
		seen[k] = true
	}
	return !strings.Contains(string(b), `\u00`) && strings.Count(string(b), `"`) < 40 &&
		!strings.ContainsAny(string(b), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

func TestAppendJSONRoundTrip(t *testing.T) {
	v := Verdict{
		Action: ActionRedact, Escalate: true, Severity: 2,
		Categories: []string{CategoryPIIDisclosure, CategoryProfanity},
		Spans:      []Span{{Start: 1, End: 5, Category: CategoryPIIDisclosure, Kind: "phone"}},
		Rules:      []string{"a\"b", "c\\d\n\x01", "é🐶", "bad\xffutf8"},
	}
	b := v.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON %s", b)
	}
	var got Verdict
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	v.Rules[3] = "bad\ufffdutf8"
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, v)
	}
	empty := (&Verdict{Action: ActionAllow}).AppendJSON(nil)
	if string(empty) != `{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}` {
		t.Fatalf("%s", empty)
	}
}

func TestHandle(t *testing.T) {
	h := func(in Input) Verdict {
		return Verdict{Action: ActionBlock, Categories: []string{CategoryProfanity}, Rules: []string{in.Text}}
	}
	out := Handle(h, []byte(`{"abi":1,"text":"x"}`), nil)
	if string(out) != `{"action":"block","escalate":false,"categories":["profanity"],"severity":0,"spans":[],"rules":["x"]}` {
		t.Fatalf("%s", out)
	}
	for _, bad := range []string{`nope`, `{"abi":7}`} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic (trap)", bad)
				}
			}()
			Handle(h, []byte(bad), nil)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("verdict without action must trap")
			}
		}()
		Handle(func(Input) Verdict { return Verdict{} }, []byte(`{"abi":1}`), nil)
	}()
}

func BenchmarkDecodeInput(b *testing.B) {
	doc := []byte(`{"abi":1,"text":"Hi Daisy! Can you tell me a joke about cats? I have 3 of them.","direction":"in","age_tier":"9-12","strictness":"standard","locale":"en","context":[{"direction":"in","text":"hello"},{"direction":"out","text":"Woof! Hi there!"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeInput(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeInputLong decodes long messages (about 1 KB of chat
// text, with a line break: the escape path) as the host encodes them:
// English, and a language with an accent every few letters.
func BenchmarkDecodeInputLong(b *testing.B) {
	for _, tc := range []struct{ name, a, b string }{
		{"english", "So today we went to the aquarium and I touched a starfish! ", "Then we had pancakes for dinner, which is the best. "},
		{"accents", "Ça va très bien, on a mangé des crêpes à la fête. ", "Über die Brücke gehen wir früh, schön grün. "},
	} {
		text := strings.Repeat(tc.a, 8) + "\n" + strings.Repeat(tc.b, 8)
		doc, err := json.Marshal(Input{ABI: 1, Text: text, Direction: "in", AgeTier: "9-12", Strictness: "standard", Locale: "en"})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeInput(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
