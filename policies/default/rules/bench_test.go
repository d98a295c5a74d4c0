package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"daisydog/policies/sdk"
)

// devSetPath is the shared dev set, relative to this package in a worktree
// next to /work/shared; DAISYDOG_EVAL_CASES overrides it.
const devSetPath = "../../../../shared/eval/dev/safety.jsonl"

// loadDevInputs reads the dev set's texts at benchmark time (they are never
// copied into the repository) as the inputs `policy eval` sends; it skips
// the benchmark when the file is absent.
func loadDevInputs(b *testing.B) []sdk.Input {
	b.Helper()
	path := os.Getenv("DAISYDOG_EVAL_CASES")
	if path == "" {
		path = devSetPath
	}
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("dev set not available: %v", err)
	}
	defer f.Close()
	var ins []sdk.Input
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	for sc.Scan() {
		var c struct {
			Text      string `json:"text"`
			Direction string `json:"direction"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			b.Fatalf("dev set: %v", err)
		}
		i := in(c.Text)
		if c.Direction == "output" || c.Direction == "out" {
			i.Direction = sdk.DirectionOut
		}
		ins = append(ins, i)
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("dev set: %v", err)
	}
	return ins
}

// BenchmarkEvaluateDevSet evaluates the dev set's rows (one row per op),
// all of them and by length band: the fixed cost per call shows in
// "short", the cost per character in "long".
func BenchmarkEvaluateDevSet(b *testing.B) {
	all := loadDevInputs(b)
	bands := []struct {
		name     string
		min, max int
	}{
		{"all", 0, 1 << 30},
		{"short", 0, 40},
		{"long", 400, 1 << 30},
	}
	for _, band := range bands {
		var ins []sdk.Input
		bytes := 0
		for _, i := range all {
			if len(i.Text) >= band.min && len(i.Text) < band.max {
				ins = append(ins, i)
				bytes += len(i.Text)
			}
		}
		b.Run(band.name, func(b *testing.B) {
			b.SetBytes(int64(bytes / len(ins)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_ = Evaluate(ins[i%len(ins)])
			}
		})
	}
	// "wire" is the whole guest path of `evaluate`: decode the input
	// document, evaluate, encode the verdict (sdk.Handle).
	docs := make([][]byte, len(all))
	for i, in := range all {
		var err error
		if docs[i], err = json.Marshal(in); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		var dst []byte
		for i := 0; b.Loop(); i++ {
			dst = sdk.Handle(Evaluate, docs[i%len(docs)], dst[:0])
		}
	})
}

// TestPhaseTimes prints where Evaluate's time goes, phase by phase, over
// the dev set (set DAISYDOG_PHASES=1; meant to run in the wasm guest too:
// GOOS=wasip1 GOARCH=wasm go test -c, then run the binary under wazero).
func TestPhaseTimes(t *testing.T) {
	if os.Getenv("DAISYDOG_PHASES") == "" {
		t.Skip("set DAISYDOG_PHASES=1")
	}
	path := os.Getenv("DAISYDOG_EVAL_CASES")
	if path == "" {
		path = devSetPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("dev set not available: %v", err)
	}
	var ins []sdk.Input
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var c struct {
			Text      string `json:"text"`
			Direction string `json:"direction"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		i := in(c.Text)
		if c.Direction == "output" || c.Direction == "out" {
			i.Direction = sdk.DirectionOut
		}
		ins = append(ins, i)
	}
	p := Default()
	names := []string{"normalize", "candidates", "match", "looseWords", "resolve", "model", "hits", "art", "context", "phones", "emails", "urls", "personal"}
	for _, band := range []struct {
		name     string
		min, max int
	}{{"short", 0, 40}, {"long", 400, 1 << 30}, {"all", 0, 1 << 30}} {
		var tot [13]time.Duration
		n := 0
		s := new(scratch)
		for _, in := range ins {
			if len(in.Text) < band.min || len(in.Text) >= band.max {
				continue
			}
			n++
			var vb verdictBuilder
			for range 2 { // the first pass warms the scratch
				vb = verdictBuilder{}
				var ts [14]time.Time
				ts[0] = time.Now()
				s.normalize(in.Text)
				ts[1] = time.Now()
				p.lex.candidates(s)
				ts[2] = time.Now()
				p.lex.match(s)
				ts[3] = time.Now()
				p.looseWords(s)
				ts[4] = time.Now()
				p.resolve(s, in.Text)
				ts[5] = time.Now()
				out := in.Direction != sdk.DirectionIn
				p.applyModel(s, out, &vb)
				ts[6] = time.Now()
				for _, h := range s.hits {
					r := &p.rules[h.rule]
					if reportable[r.Category] && softRule(r) {
						p.reported(s, h)
					}
					if counterCategories[r.Category] && softRule(r) {
						p.counterQuoted(s, h)
					}
				}
				ts[7] = time.Now()
				artVerdicts(in.Text, &vb)
				ts[8] = time.Now()
				p.contextRisk(in)
				ts[9] = time.Now()
				spans := findPhones(in.Text, nil)
				ts[10] = time.Now()
				spans = findEmails(in.Text, spans)
				ts[11] = time.Now()
				spans = findURLs(in.Text, spans)
				ts[12] = time.Now()
				_ = s.findPersonal(in.Text, spans, true)
				ts[13] = time.Now()
				for i := range tot {
					tot[i] += ts[i+1].Sub(ts[i])
				}
			}
		}
		var sum time.Duration
		for _, d := range tot {
			sum += d
		}
		t.Logf("%s (n=%d): total %.1fµs/row", band.name, n, float64(sum.Microseconds())/float64(2*n))
		for i, d := range tot {
			t.Logf("  %-11s %7.2fµs/row %5.1f%%", names[i], float64(d.Nanoseconds())/1e3/float64(2*n), 100*float64(d)/float64(sum))
		}
	}
}
