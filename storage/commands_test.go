package storage

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func allCommands() []Command {
	return []Command{
		&PutSigningKey{Kid: "kid-1", PublicKey: []byte{1, 2, 3}, PrivateSealed: []byte{4, 5, 6}, CreatedAt: baseTime},
		&SignUp{FamilyID: "fam-1", WrappedKey: []byte("wrapped"), ParentID: "par-1", EmailIndex: []byte{9, 9},
			EmailSealed: []byte("sealed-email"), PasswordHash: "$argon2id$x", CreatedAt: baseTime},
		&CreateChild{ChildID: "ch-1", ParentID: "par-1", NicknameSealed: []byte("nick"), AgeTier: "5-8", CreatedAt: baseTime},
		&CreateLinkCode{ParentID: "par-1", ChildID: "ch-1", CodeHash: []byte("hash"), CreatedAt: baseTime, ExpiresAt: baseTime + 600},
		&RedeemLinkCode{CodeHash: []byte("hash"), DeviceID: "dev-1", Now: baseTime + 10},
		&ChatTurn{TurnID: "turn-1", ChildID: "ch-1", DeviceID: "dev-1", CreatedAt: baseTime, MessageSealed: []byte("m"),
			ReplySealed: []byte("r"), Intent: "joke", InAction: "redact", InCategories: []string{"pii_disclosure"},
			OutAction: "allow", OutCategories: []string{"a", "b"}, Escalate: true, FailClosed: true,
			PolicyVersion: "default@1.2.3", EventID: "ev-1", Companion: []byte("sealed-state")},
		&PutChildSettings{ParentID: "par-1", ChildID: "ch-1", Settings: []byte(`{"v":1}`), UpdatedAt: baseTime},
		&IssueEmailToken{EmailIndex: []byte{9, 9}, Purpose: PurposePasswordReset, TokenHash: []byte("th"), Now: baseTime, ExpiresAt: baseTime + 1800},
		&VerifyEmail{TokenHash: []byte("th"), Now: baseTime},
		&ResetPassword{TokenHash: []byte("th"), PasswordHash: "$argon2id$y", Now: baseTime},
		&RateHit{Class: "signup", Key: []byte("k"), Period: 3_600_000, Limit: 20, Now: baseTime},
		&ApplyRetention{TurnsBefore: baseTime - 3, SafetyBefore: baseTime - 2, SessionsBefore: baseTime - 1, Limit: 5000, Now: baseTime},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range allCommands() {
		t.Run(c.Kind(), func(t *testing.T) {
			if seen[c.Kind()] {
				t.Fatalf("duplicate kind %q", c.Kind())
			}
			seen[c.Kind()] = true
			data, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			var env map[string]json.RawMessage
			if err := json.Unmarshal(data, &env); err != nil {
				t.Fatal(err)
			}
			if string(env["t"]) != `"`+c.Kind()+`"` || string(env["v"]) != fmt.Sprint(c.Version()) {
				t.Fatalf("envelope t=%s v=%s, want %q, %d", env["t"], env["v"], c.Kind(), c.Version())
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, c)
			}
		})
	}
	for _, k := range []string{KindPutSigningKey, KindSignUp, KindCreateChild, KindCreateLinkCode, KindRedeemLinkCode, KindChatTurn, KindPutSettings} {
		if !seen[k] {
			t.Errorf("kind %q not covered by the round-trip table", k)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string // substring of the error
	}{
		{"unknown kind", `{"t":"drop_all_tables","v":1,"b":{}}`, "unknown command kind"},
		{"empty kind", `{"t":"","v":1,"b":{}}`, "unknown command kind"},
		{"version 2", `{"t":"sign_up","v":2,"b":{}}`, "version 2 not supported"},
		{"version 0", `{"t":"chat_turn","v":0,"b":{}}`, "not supported"},
		{"chat turn from the future", `{"t":"chat_turn","v":4,"b":{}}`, "version 4 not supported"},
		{"settings version 2", `{"t":"put_child_settings","v":2,"b":{}}`, "version 2 not supported"},
		{"missing version", `{"t":"create_child","b":{}}`, "not supported"},
		{"not json", `not json`, "decode envelope"},
		{"empty", ``, "decode envelope"},
		{"missing body", `{"t":"sign_up","v":1}`, "decode sign_up"},
		{"wrong body type", `{"t":"chat_turn","v":1,"b":{"seq":"x","at":"yesterday"}}`, "decode chat_turn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode([]byte(tc.data))
			if err == nil {
				t.Fatalf("Decode accepted %s as %#v", tc.data, c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Encode writes the envelope itself; its bytes must be exactly what
// json.Marshal of the envelope struct writes (older nodes decode them).
func TestEncodeMatchesGenericEnvelope(t *testing.T) {
	for _, c := range allCommands() {
		t.Run(c.Kind(), func(t *testing.T) {
			got, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(envelope{T: c.Kind(), V: c.Version(), B: b})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("Encode:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// decodeSeeds are log entries in and around Encode's layout: every one must
// decode to the same command, or fail with the same error, on the fast path
// (Decode) and the generic one (what older binaries run).
func decodeSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range allCommands() {
		data, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	for _, s := range []string{
		`{"t":"sign_up","v":1,"b":{"family":"f"},"b":{"family":"g"}}`, // duplicate key: the last wins
		`{"t":"sign_up","v":1,"b":{"family":"f"},"x":1}`,              // an extra field
		`{"t":"sign_up","v":01,"b":{}}`,                               // a leading zero is not JSON
		`{"t":"sign_up","v":-1,"b":{}}`,
		`{"t":"sign_up","v":1.0,"b":{}}`,
		`{"t":"sign\u005fup","v":1,"b":{}}`, // an escaped kind
		`{"t":"sign_up","v":1,"b":{}} `,     // trailing space
		`{"t":"sign_up","v":1,"b":{}}}`,
		`{"t":"sign_up","v":1,"b":}`,
		`{"t":"sign_up","v":1,"b":{"family":"f"}`,
		`{"t":"chat_turn","v":3,"b":{"id":"x","msg":"bm90IGJhc2U2NA"}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"x"} , "t":"sign_up"}`,
		`{"t":"chat_turn","v":3,"b":null}`,
		`{"t":"chat_turn","v":99999999999,"b":{}}`,
		` {"t":"sign_up","v":1,"b":{}}`,
		`{"t":"","v":1,"b":{}}`,
		// Chat turn bodies: what the fast body decoder takes, and what it must hand to encoding/json.
		`{"t":"chat_turn","v":3,"b":{"id":"t1","child":"c1","device":"d1","at":1700000000123,"msg":"AAEC","reply":"","intent":"joke","in_action":"allow","in_cats":[],"out_action":"allow","out_cats":["pii","grooming"],"escalate":true,"fail_closed":false,"policy":"default@1","event":"e1","companion":"eyJ2IjoxfQ==","base":7}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","in_cats":null,"out_cats":null,"msg":null,"companion":null,"base":null}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","base":-0,"at":-5}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","at":1e3}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","at":1.5}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","at":012}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","at":99999999999999999999}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t\u0031","intent":"café"}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","id":"t2"}}`,
		`{"t":"chat_turn","v":3,"b":{"ID":"t1","Intent":"x"}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1", "at":1}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1","extra":1}}`,
		`{"t":"chat_turn","v":3,"b":{"id":null,"escalate":null}}`,
		`{"t":"chat_turn","v":3,"b":{"msg":"not base64!"}}`,
		`{"t":"chat_turn","v":3,"b":{"msg":"AAE="}}`,
		`{"t":"chat_turn","v":3,"b":{"msg":"AAE"}}`,
		`{"t":"chat_turn","v":3,"b":{"in_cats":["a",null]}}`,
		`{"t":"chat_turn","v":3,"b":{"in_cats":["a","b",]}}`,
		`{"t":"chat_turn","v":3,"b":{"escalate":"true"}}`,
		`{"t":"chat_turn","v":3,"b":{"id":"t1",}}`,
		`{"t":"chat_turn","v":3,"b":{}}`,
		`{"t":"chat_turn","v":2,"b":{"id":"t1","companion":"AA=="}}`,
		`{"t":"chat_turn","v":4,"b":{"id":"t1"}}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

func checkDecodeAgrees(t *testing.T, data []byte) {
	got, err := Decode(data)
	want, werr := decodeGeneric(data)
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
		t.Fatalf("%s: Decode error %v, generic %v", data, err, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Decode %#v, generic %#v", data, got, want)
	}
}

func TestDecodeFastPathAgreesWithGeneric(t *testing.T) {
	for _, data := range decodeSeeds(t) {
		checkDecodeAgrees(t, data)
	}
}

func FuzzDecodeAgreesWithGeneric(f *testing.F) {
	for _, data := range decodeSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(checkDecodeAgrees)
}

// TestChatTurnFastPathTakesEncodeOutput: the chat turn decoder handles
// what Encode writes (else it would silently always fall back), including
// empty and nil fields, and gives what encoding/json gives.
func TestChatTurnFastPathTakesEncodeOutput(t *testing.T) {
	base := int64(41)
	for _, c := range []*ChatTurn{
		{TurnID: "t-1", ChildID: "c-1", DeviceID: "d-1", CreatedAt: 1700000000123, MessageSealed: []byte{0, 1, 2, 250},
			ReplySealed: []byte("sealed reply"), Intent: "joke", InAction: "redact", InCategories: []string{"pii"},
			OutAction: "allow", OutCategories: []string{}, Escalate: true, FailClosed: true, PolicyVersion: "default@1.2.3",
			EventID: "ev-1", Companion: make([]byte, 700), StateBase: &base},
		{TurnID: "t-2", MessageSealed: []byte{}},
		{},
	} {
		data, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		_, _, body, ok := splitEnvelope(data)
		if !ok {
			t.Fatalf("envelope of %s not recognised", data)
		}
		var fast ChatTurn
		if !decodeChatTurnFast(body, &fast) {
			t.Fatalf("fast decoder refused Encode's output %s", body)
		}
		var ref ChatTurn
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("fast %#v\nwant %#v", fast, ref)
		}
	}
}
