package companion

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fillRandom sets every exported field of v (a pointer) to a random value:
// times in UTC whole seconds or with nanoseconds, strings with and without
// characters JSON escapes, slices empty, nil or full, pointers nil or set.
func fillRandom(rng *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if rng.IntN(4) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fillRandom(rng, v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			var t time.Time
			if rng.IntN(5) > 0 {
				t = time.Unix(rng.Int64N(4e9), 0).UTC()
				if rng.IntN(3) == 0 {
					t = t.Add(time.Duration(rng.IntN(1e9)))
				}
				if rng.IntN(6) == 0 {
					t = t.In(time.FixedZone("X", 3600*rng.IntN(12)))
				}
			}
			v.Set(reflect.ValueOf(t))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillRandom(rng, v.Field(i))
			}
		}
	case reflect.Slice:
		switch rng.IntN(3) {
		case 0:
			v.Set(reflect.Zero(v.Type()))
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + rng.IntN(4)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := 0; i < n; i++ {
				fillRandom(rng, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.String:
		words := []string{"", "fetch", "joke-12", "Jünipér", "🐶 dog", "2026-11-26", "under the bed"}
		escaped := []string{"say \"woof\"", "back\\slash", "tab\there", "<b>", "fish & chips", "line\u2028sep"} // JSON escapes these
		if rng.IntN(60) == 0 {
			v.SetString(escaped[rng.IntN(len(escaped))])
		} else {
			v.SetString(words[rng.IntN(len(words))])
		}
	case reflect.Int:
		v.SetInt(rng.Int64N(2000) - 1000)
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	}
}

// Records as json.Marshal writes them decode to what encoding/json gives,
// through the fast path whenever they hold no escaped characters.
func TestRecordFastDecoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for i := 0; i < 3000; i++ {
		var rec Record
		fillRandom(rng, reflect.ValueOf(&rec).Elem())
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var want, got Record
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		p := recParser{b: b}
		ok := p.record(&got) && p.pos == len(b)
		if escapes := strings.Contains(string(b), `\`); ok == escapes {
			t.Fatalf("fast path taken = %v for %s", ok, b)
		}
		if ok {
			fast++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\nfast %+v\njson %+v", b, got, want)
			}
		}
		var viaAPI Record
		if err := DecodeRecord(b, &viaAPI); err != nil || !reflect.DeepEqual(viaAPI, want) {
			t.Fatalf("DecodeRecord(%s) = %+v, %v", b, viaAPI, err)
		}
	}
	if fast < 300 {
		t.Fatalf("only %d of 3000 records took the fast path", fast)
	}
	// Forms the fast decoder leaves to encoding/json, which decides: the
	// answer is encoding/json's in every case.
	for _, in := range []string{
		`{"v":1, "daisy":{}}`,
		`{"v":1,"daisy":{"v":1},"daisy":{"hunger":2}}`,
		`{"v":1,"game":{"kind":"fetch"},"game":{"score":2}}`,
		`{"v":1,"stats":{"earned":[{"id":"a","at":"2026-01-02T03:04:05Z"}],"earned":[{"id":"b"}]}}`,
		`{"V":1}`,
		`{"v":1,"game":null}`,
		`{"v":1.5}`,
		`{"v":1,"daisy":{"hunger_at":"yesterday"}}`,
		`{"v":1}x`,
		`{"v":1,"extra":[1,2]}`,
		`{"v":01}`,
		`{"v":1,"daisy":{"recent":["a","a\u0041"]}}`,
	} {
		var got, want Record
		gotErr, wantErr := DecodeRecord([]byte(in), &got), json.Unmarshal([]byte(in), &want)
		if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; encoding/json: %+v, %v", in, got, gotErr, want, wantErr)
		}
	}
}

// FuzzRecordFastAgreesWithJSON: whatever the fast decoder accepts,
// encoding/json decodes to the same record.
func FuzzRecordFastAgreesWithJSON(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		var rec Record
		fillRandom(rng, reflect.ValueOf(&rec).Elem())
		b, _ := json.Marshal(rec)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Record
		p := recParser{b: b}
		if !p.record(&got) || p.pos != len(b) {
			return
		}
		var want Record
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("fast decoder accepted what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nfast %+v\njson %+v", b, got, want)
		}
	})
}

// The encoder writes exactly what json.Marshal writes, and takes its fast
// path for every record whose strings JSON leaves unescaped.
func TestRecordEncoderMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	fast := 0
	for i := 0; i < 3000; i++ {
		var rec Record
		fillRandom(rng, reflect.ValueOf(&rec).Elem())
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendRecord(nil, &rec)
		if escapes := strings.Contains(string(want), `\`); ok == escapes {
			t.Fatalf("fast path taken = %v for %s", ok, want)
		}
		if ok {
			fast++
			if string(got) != string(want) {
				t.Fatalf("encoder:\n%s\njson.Marshal:\n%s", got, want)
			}
		}
		if b, err := EncodeRecord(&rec); err != nil || string(b) != string(want) {
			t.Fatalf("EncodeRecord = %s, %v; want %s", b, err, want)
		}
	}
	if fast < 300 {
		t.Fatalf("only %d of 3000 records took the fast path", fast)
	}
	// A year JSON cannot write is json.Marshal's error, as before.
	bad := Record{Daisy: State{HungerAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if _, err := EncodeRecord(&bad); err == nil {
		t.Fatal("a year past 9999 encoded")
	}
}

// benchRecord is a random record with a game and no string JSON escapes.
func benchRecord() Record {
	rng := rand.New(rand.NewPCG(5, 6))
	for {
		var rec Record
		fillRandom(rng, reflect.ValueOf(&rec).Elem())
		if data, _ := json.Marshal(rec); !strings.Contains(string(data), `\`) && rec.Game != nil {
			return rec
		}
	}
}

func BenchmarkEncodeRecord(b *testing.B) {
	rec := benchRecord()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeRecord(&rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeRecord(b *testing.B) {
	data, _ := json.Marshal(benchRecord())
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r Record
			if err := DecodeRecord(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r Record
			if err := json.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
