package sdk

import (
	"encoding/json"
	"strings"
	"testing"
)

// Valid documents exercising every branch of the decoder: each must
// decode exactly as encoding/json decodes it.
func TestDecodeInputMatchesEncodingJSONOnEdgeCases(t *testing.T) {
	docs := []string{
		`{"abi":1}`,
		` {} `,
		`null`,
		`{"abi":null,"text":null,"context":null}`,
		`{"abi":1,"context":[]}`,
		`{"abi":1,"context":[ {"direction":"out","text":"a"} , {"text":"b"} ]}`,
		`{"abi":1,"context":[null]}`,
		`{"abi":-0}`,
		`{"abi":1,"text":"\b\f\n\r\t\/\\\""}`,
		`{"abi":1,"text":"\u0041\u00E9\u00e9\uFFFF"}`,
		`{"abi":1,"text":"\ud83d\udc36 pair"}`,
		`{"abi":1,"text":"\ud83d lone high"}`,
		`{"abi":1,"text":"\udc36 lone low"}`,
		`{"abi":1,"text":"\ud83d\u0041 high then letter"}`,
		`{"abi":1,"text":"\ud83d\ud83d two highs"}`,
		`{"abi":1,"text":"\ud83d\"` + `"}`,
		"{\"abi\":1,\"text\":\"bad utf-8 \xff\xfe here\"}",
		"{\"abi\":1,\"text\":\"escape then bad utf-8 \\n \xc3\"}",
		"{\"abi\":1,\"text\":\"é then escape \\t ü\"}",
		`{"abi":1,"direction":"out","age_tier":"13-17","strictness":"relaxed","locale":"en"}`,
		`{"abi":1,"age_tier":"9-12","strictness":"standard","direction":"in"}`,
		`{"abi":1,"age_tier":"unknown-tier","strictness":"custom","direction":"sideways"}`,
		`{"abi":1,"x":-12.5e+3,"y":0.25E-2,"z":1e9,"w":[true,false,null,"s",{"k":[[]]}]}`,
		`{"abi":1,"\u0074ext":"escaped key"}`,
		`{"abi":1,"nested":` + strings.Repeat(`[`, 60) + strings.Repeat(`]`, 60) + `}`,
		"{\r\n\t\"abi\" :\t1 ,\n \"text\" : \"spaced\"\r\n}",
		// long strings: the eight-byte steps of the string scanner, before
		// and after an escape, next to non-ASCII and invalid bytes
		`{"abi":1,"text":"` + strings.Repeat("abcdefgh", 9) + `x"}`,
		`{"abi":1,"text":"` + strings.Repeat("a long plain run ", 5) + `\n` + strings.Repeat("and after the escape ", 5) + `\"q\"` + strings.Repeat("z", 13) + `"}`,
		"{\"abi\":1,\"text\":\"" + strings.Repeat("seven77", 3) + "é" + strings.Repeat("12345678", 3) + "\xff" + strings.Repeat("tail", 5) + "\\t" + strings.Repeat("ü9", 5) + strings.Repeat("y", 17) + "\"}",
	}
	for _, doc := range docs {
		if !json.Valid([]byte(doc)) {
			t.Fatalf("test document is not JSON: %q", doc)
		}
		decodeBoth(t, []byte(doc))
	}
}

// Invalid documents: refused by both decoders.
func TestDecodeInputRefusesWhatEncodingJSONRefuses(t *testing.T) {
	docs := []string{
		`{"abi":1,"text":"\u12"}`,
		`{"abi":1,"text":"\u12G4"}`,
		`{"abi":1,"text":"\`,
		`{"abi":1,"x":-}`,
		`{"abi":1,"x":1.}`,
		`{"abi":1,"x":1.e5}`,
		`{"abi":1,"x":1e}`,
		`{"abi":1,"x":1e+}`,
		`{"abi":1,"x":.5}`,
		`{"abi":1,"x":+1}`,
		`{"abi":1,"context":[{"text":"a"} {"text":"b"}]}`,
		`{"abi":1,"context":[{"text":"a"},]}`,
		`{"abi":1,"x":[1 2]}`,
		`{"abi":1,"x":{"a" 1}}`,
		`{"abi":1,"x":{1:2}}`,
		`{"abi":1,"x":nul}`,
		`{"abi":1,"x":fals}`,
		`{"abi":1,"x":@}`,
		`{abi:1}`,
		`{"abi":1,"text":"tab	inside"}`,
	}
	for _, doc := range docs {
		if json.Valid([]byte(doc)) {
			t.Fatalf("test document is valid JSON: %q", doc)
		}
		var in Input
		if err := decodeInput([]byte(doc), &in); err == nil {
			t.Errorf("decodeInput(%q) accepted invalid JSON", doc)
		}
	}
}

// Valid JSON of the wrong shape for a field: encoding/json refuses it with a
// type error, and so does the decoder.
func TestDecodeInputRefusesWrongTypes(t *testing.T) {
	for _, doc := range []string{
		`{"abi":1,"context":{}}`,
		`{"abi":1,"context":"turns"}`,
		`{"abi":1,"context":[1]}`,
		`{"abi":1,"context":["text"]}`,
		`{"abi":1,"text":5}`,
		`{"abi":true}`,
		`[{"abi":1}]`,
	} {
		var want Input
		if err := json.Unmarshal([]byte(doc), &want); err == nil {
			t.Fatalf("encoding/json accepts %q", doc)
		}
		var in Input
		if err := decodeInput([]byte(doc), &in); err == nil {
			t.Errorf("decodeInput(%q) accepted a value of the wrong type", doc)
		}
	}
}

func TestDecodeInputDepthLimit(t *testing.T) {
	deep := `{"abi":1,"x":` + strings.Repeat(`[`, maxDepth+2) + strings.Repeat(`]`, maxDepth+2) + `}`
	var in Input
	err := decodeInput([]byte(deep), &in)
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("err = %v, want nesting refused", err)
	}
	deepObj := `{"abi":1,"x":` + strings.Repeat(`{"a":`, maxDepth+2) + `1` + strings.Repeat(`}`, maxDepth+2) + `}`
	if err := decodeInput([]byte(deepObj), &in); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("objects: err = %v, want nesting refused", err)
	}
}

// Interned values are the same strings as the input's bytes.
func TestInternString(t *testing.T) {
	for _, s := range []string{"abi", "text", "direction", "age_tier", "strictness", "locale", "context",
		DirectionIn, DirectionOut, AgeTier5to8, AgeTier9to12, AgeTier13to17,
		StrictnessRelaxed, StrictnessStandard, StrictnessStrict, "en", "fr", ""} {
		if got := internString([]byte(s)); got != s {
			t.Errorf("internString(%q) = %q", s, got)
		}
	}
}

// TestSpecial8 checks the eight-byte test of the string fast path against
// a byte-by-byte one: every byte value at every position, in plain
// ASCII surroundings and next to other special bytes.
func TestSpecial8(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	fills := []byte{'a', ' ', '~', '!', 0x21, 0x5B, 0x5D, 0x7F}
	for _, fill := range fills {
		for pos := range 8 {
			for v := range 256 {
				for _, other := range []int{-1, 0x00, 0x1F, '"', 0xFF} {
					var b [8]byte
					for i := range b {
						b[i] = fill
					}
					b[pos] = byte(v)
					if other >= 0 {
						b[(pos+3)%8] = byte(other)
					}
					want := false
					for _, c := range b {
						want = want || special(c)
					}
					if got := special8(b[:]); got != want {
						t.Fatalf("special8(%q) = %v, want %v", b[:], got, want)
					}
				}
			}
		}
	}
}
