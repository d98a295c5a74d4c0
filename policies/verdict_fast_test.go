package policies

import (
	"reflect"
	"testing"

	"daisydog/policies/sdk"
)

// sdkVerdicts are verdicts as the SDK writes them, for the tests and
// the fuzz corpus.
func sdkVerdicts() [][]byte {
	vs := []sdk.Verdict{
		{Action: sdk.ActionAllow},
		{Action: sdk.ActionBlock, Escalate: true, Categories: []string{"profanity", "hate"}, Severity: 3, Rules: []string{"profanity.word", "hate.slur@2"}},
		{Action: sdk.ActionRedact, Categories: []string{"pii_disclosure"}, Severity: 1,
			Spans: []Span{{Start: 0, End: 5, Category: "pii_disclosure", Kind: "phone"}, {Start: 7, End: 9, Category: "pii_disclosure", Kind: "email"}},
			Rules: []string{"pii.phone", "pii.email"}},
		{Action: sdk.ActionSupport, Escalate: true, Categories: []string{"self_harm"}, Severity: 4, Rules: []string{"crisis \"quoted\" \\ rule"}},
		{Action: sdk.ActionRedirect, Categories: []string{"grooming"}, Severity: 2, Rules: []string{"grooming.secret", "ünïcode rule"}},
	}
	var out [][]byte
	for _, v := range vs {
		out = append(out, v.AppendJSON(nil))
	}
	return out
}

func TestFastVerdictDecoder(t *testing.T) {
	text := "0123456789"
	for _, b := range sdkVerdicts() {
		fast, ok := decodeVerdictFast(b)
		slow, err := decodeVerdictJSON(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		wantFast := !reflect.DeepEqual(slow.Rules, []string{"crisis \"quoted\" \\ rule"}) // escapes take the slow path
		if ok != wantFast {
			t.Errorf("%s: fast path taken = %v, want %v", b, ok, wantFast)
		}
		if ok && !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s:\nfast %+v\nslow %+v", b, fast, slow)
		}
		if _, err := decodeVerdict(b, text); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	// Forms the fast path leaves to encoding/json, which accepts or
	// refuses them.
	for _, tc := range []struct {
		in   string
		want bool // decodeVerdict accepts it
	}{
		{`{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]} `, true},
		{`{ "action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}`, true},
		{`{"escalate":false,"action":"allow","categories":[],"severity":0,"spans":[],"rules":[]}`, true},
		{`{"action":"allow"}`, true},
		{`{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[],"x":1}`, false},
		{`{"action":"maybe","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}`, false},
		{`{"action":"allow","escalate":false,"categories":["nope"],"severity":0,"spans":[],"rules":[]}`, false},
		{`{"action":"allow","escalate":false,"categories":[],"severity":01,"spans":[],"rules":[]}`, false},
		{`{"action":"allow","escalate":false,"categories":[],"severity":9,"spans":[],"rules":[]}`, false},
		{`{"action":"allow","escalate":false,"categories":[],"severity":1.0,"spans":[],"rules":[]}`, false},
		{`{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":["\u0041"]}`, true},
		{`{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}{}`, false},
		{"{\"action\":\"allow\",\"escalate\":false,\"categories\":[],\"severity\":0,\"spans\":[],\"rules\":[\"\xff\"]}", true},
	} {
		_, err := decodeVerdict([]byte(tc.in), text)
		if (err == nil) != tc.want {
			t.Errorf("%s: err = %v, want accepted %v", tc.in, err, tc.want)
		}
	}
}

// FuzzFastVerdictAgreesWithJSON: whenever the fast decoder accepts bytes,
// encoding/json decodes them to the same verdict.
func FuzzFastVerdictAgreesWithJSON(f *testing.F) {
	for _, b := range sdkVerdicts() {
		f.Add(b)
	}
	f.Add([]byte(`{"action":"allow","escalate":false,"categories":[],"severity":-0,"spans":[],"rules":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeVerdictFast(b)
		if !ok {
			return
		}
		slow, err := decodeVerdictJSON(b)
		if err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\nslow %+v", b, fast, slow)
		}
	})
}

func BenchmarkDecodeVerdict(b *testing.B) {
	vs := sdkVerdicts()
	text := "0123456789"
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := decodeVerdict(vs[2], text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			w, err := decodeVerdictJSON(vs[2])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := validVerdict(w, text); err != nil {
				b.Fatal(err)
			}
		}
	})
}
