package policies

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// One runtime and one default engine for the whole package: compiling the
// 3–4 MB Go module is the slow part, and sharing it is what production does.
var (
	testRT     *wasm.Runtime
	testEngine *Engine
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	if testRT, err = wasm.NewRuntime(ctx, wasm.Config{CallTimeout: defaultTestTimeout(), CacheDir: wasmtest.SharedCacheDir()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testEngine, err = NewDefaultEngine(ctx, testRT); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := testEngine.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := testRT.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// defaultTestTimeout is generous: under -race the Go guest's first calls
// (GC, map growth) are several times slower than in production.
func defaultTestTimeout() time.Duration { return 5 * time.Second }

func in(text string) Input {
	return Input{Text: text, Direction: "in", AgeTier: "9-12"}
}

func eval(t *testing.T, input Input) Verdict {
	t.Helper()
	v, err := testEngine.Evaluate(context.Background(), input)
	if err != nil {
		t.Fatalf("Evaluate(%q): %v", input.Text, err)
	}
	return v
}

func TestDefaultVectorsAgainstWASM(t *testing.T) {
	vf, err := ParseVectors(DefaultVectors())
	if err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) < 40 {
		t.Fatalf("only %d vectors", len(vf.Vectors))
	}
	for _, vec := range vf.Vectors {
		t.Run(vec.Name, func(t *testing.T) {
			v, err := testEngine.Evaluate(context.Background(), vec.Input)
			if err != nil {
				t.Fatal(err)
			}
			if err := vec.Expect.Check(v); err != nil {
				t.Error(err)
			}
		})
	}
	if err := testEngine.CheckVectors(context.Background(), vf); err != nil {
		t.Fatal(err)
	}
}

func TestSelfHarmGetsSupportAndEscalation(t *testing.T) {
	v := eval(t, in("I want to kill myself"))
	if v.Action != "support" || !v.Escalate || v.Severity != 4 ||
		len(v.Categories) != 1 || v.Categories[0] != "self_harm" {
		t.Fatalf("verdict %+v", v)
	}
}

func TestPIIRedaction(t *testing.T) {
	text := "call me on 555-123-4567 or email me at sam at gmail dot com, ok?"
	v := eval(t, in(text))
	if v.Action != "redact" || v.Escalate {
		t.Fatalf("verdict %+v", v)
	}
	var got []string
	for _, s := range v.Spans {
		got = append(got, s.Kind+":"+text[s.Start:s.End])
		if s.Category != "pii_disclosure" {
			t.Errorf("span category %q", s.Category)
		}
	}
	if want := "phone:555-123-4567 email:sam at gmail dot com"; strings.Join(got, " ") != want {
		t.Fatalf("spans %q, want %q", got, want)
	}
	if r := Redact(text, v.Spans); r != "call me on [hidden] or email me at [hidden], ok?" {
		t.Fatalf("Redact = %q", r)
	}
	// Offsets are bytes of the original text, multi-byte characters included.
	text = "ｈｉ！ my number is +44 7700 900123 🐶"
	v = eval(t, in(text))
	if len(v.Spans) != 1 || text[v.Spans[0].Start:v.Spans[0].End] != "+44 7700 900123" {
		t.Fatalf("spans %+v", v.Spans)
	}
	if r := Redact(text, v.Spans); r != "ｈｉ！ my number is [hidden] 🐶" {
		t.Fatalf("Redact = %q", r)
	}
}

func TestReplyChecks(t *testing.T) {
	v := eval(t, Input{Text: "Visit www.example.com!", Direction: "out", AgeTier: "5-8"})
	if v.Action != "block" {
		t.Fatalf("verdict %+v", v)
	}
	v = eval(t, Input{Text: "Woof! Here is a joke about bones.", Direction: "out", AgeTier: "5-8"})
	if v.Action != "allow" || len(v.Categories) != 0 || v.Severity != 0 {
		t.Fatalf("verdict %+v", v)
	}
}

func TestRedact(t *testing.T) {
	cases := []struct {
		text  string
		spans []Span
		want  string
	}{
		{"abc", nil, "abc"},
		{"abcdef", []Span{{Start: 1, End: 3}}, "a[hidden]def"},
		{"abcdef", []Span{{Start: 4, End: 6}, {Start: 0, End: 1}}, "[hidden]bcd[hidden]"},
		{"abcdef", []Span{{Start: 1, End: 4}, {Start: 2, End: 5}}, "a[hidden]f"},
		{"abcdef", []Span{{Start: 1, End: 2}, {Start: 2, End: 3}}, "a[hidden]def"},
		{"abc", []Span{{Start: -5, End: 99}}, "[hidden]"},
		{"abc", []Span{{Start: 2, End: 1}}, "abc"},
		{"añb", []Span{{Start: 2, End: 3}}, "a[hidden]b"}, // widened to the whole ñ
		{"日本", []Span{{Start: 3, End: 6}}, "日[hidden]"},
	}
	for _, c := range cases {
		if got := Redact(c.text, c.spans); got != c.want {
			t.Errorf("Redact(%q, %+v) = %q, want %q", c.text, c.spans, got, c.want)
		}
	}
}

func TestInputValidation(t *testing.T) {
	ctx := context.Background()
	for name, input := range map[string]Input{
		"direction":  {Text: "x", Direction: "sideways", AgeTier: "9-12"},
		"age tier":   {Text: "x", Direction: "in", AgeTier: "30-40"},
		"strictness": {Text: "x", Direction: "in", AgeTier: "9-12", Strictness: "lax"},
		"abi":        {ABI: 2, Text: "x", Direction: "in", AgeTier: "9-12"},
		"utf8":       {Text: "bad \xff", Direction: "in", AgeTier: "9-12"},
		"locale":     {Text: "x", Direction: "in", AgeTier: "9-12", Locale: "en\"}"},
		"context":    {Text: "x", Direction: "in", AgeTier: "9-12", Context: []ContextTurn{{Direction: "up", Text: "y"}}},
	} {
		if _, err := testEngine.Evaluate(ctx, input); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: want ErrInvalidInput, got %v", name, err)
		}
	}
	// Zero ABI, strictness and locale take defaults; context is passed on.
	v := eval(t, Input{Text: "hi", Direction: "in", AgeTier: "13-17",
		Context: []ContextTurn{{Direction: "in", Text: "hello"}, {Direction: "out", Text: "Woof!"}}})
	if v.Action != "allow" {
		t.Fatalf("verdict %+v", v)
	}
}

// engineFor loads module without NewEngine's self-test, so that Evaluate's
// own validation can be exercised on a misbehaving module.
func engineFor(t *testing.T, module []byte) *Engine {
	t.Helper()
	mod, err := testRT.Load(context.Background(), t.Name(), module)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{name: t.Name(), version: "test", mod: mod}
	e.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func TestFailClosedOnBadVerdicts(t *testing.T) {
	ctx := context.Background()
	text := "héllo 555-123-4567" // é is 2 bytes: [1,3)
	bad := map[string]string{
		"not json":          `not json`,
		"truncated":         `{"action":"allow"`,
		"trailing data":     `{"action":"allow"} {}`,
		"unknown field":     `{"action":"allow","why":"because"}`,
		"missing action":    `{"escalate":false}`,
		"unknown action":    `{"action":"shrug"}`,
		"wrong type":        `{"action":"allow","severity":"high"}`,
		"severity range":    `{"action":"allow","severity":5}`,
		"unknown category":  `{"action":"block","categories":["spicy"]}`,
		"dup category":      `{"action":"block","categories":["hate","hate"]}`,
		"span out of range": `{"action":"redact","spans":[{"start":5,"end":99,"category":"pii_disclosure","kind":"phone"}]}`,
		"span negative":     `{"action":"redact","spans":[{"start":-1,"end":2,"category":"pii_disclosure","kind":"phone"}]}`,
		"span empty":        `{"action":"redact","spans":[{"start":3,"end":3,"category":"pii_disclosure","kind":"phone"}]}`,
		"span mid-rune":     `{"action":"redact","spans":[{"start":2,"end":4,"category":"pii_disclosure","kind":"phone"}]}`,
		"spans overlap":     `{"action":"redact","spans":[{"start":0,"end":5,"category":"pii_disclosure","kind":"phone"},{"start":4,"end":8,"category":"pii_disclosure","kind":"phone"}]}`,
		"spans unsorted":    `{"action":"redact","spans":[{"start":8,"end":10,"category":"pii_disclosure","kind":"phone"},{"start":0,"end":1,"category":"pii_disclosure","kind":"phone"}]}`,
		"span bad kind":     `{"action":"redact","spans":[{"start":0,"end":1,"category":"pii_disclosure","kind":"Phone Number"}]}`,
		"redact no spans":   `{"action":"redact"}`,
		"empty rule id":     `{"action":"allow","rules":[""]}`,
	}
	for name, result := range bad {
		t.Run(name, func(t *testing.T) {
			e := engineFor(t, wasmtest.ConstModule([]byte(result)))
			v, err := e.Evaluate(ctx, in(text))
			if !errors.Is(err, ErrInvalidVerdict) {
				t.Fatalf("want ErrInvalidVerdict, got %v (verdict %+v)", err, v)
			}
		})
	}
	// The same validation makes NewEngine refuse such a module outright.
	if _, err := NewEngine(ctx, testRT, "bad", "1", wasmtest.ConstModule([]byte("not json"))); !errors.Is(err, ErrInvalidVerdict) {
		t.Fatalf("NewEngine accepted a module returning garbage: %v", err)
	}
	// And a module that is not a policy at all is refused by the host.
	if _, err := NewEngine(ctx, testRT, "bad", "1", []byte("garbage")); !errors.Is(err, wasm.ErrInvalidModule) {
		t.Fatalf("want wasm.ErrInvalidModule, got %v", err)
	}
}

// TestNewEngineErrorsNameThePolicyOnce: callers pass the full id as the
// version (a bundle's name@version); a refusal names it once, as the
// administrator pushed it (it used to read "bad@bad@7").
func TestNewEngineErrorsNameThePolicyOnce(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		module []byte
		want   string
	}{
		{"load", []byte("garbage"), "policies: load bad@7: "},
		{"self-test", wasmtest.ConstModule([]byte("not json")), "policies: self-test of bad@7: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewEngine(ctx, testRT, "bad", "bad@7", c.module)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "bad@bad@7") {
				t.Fatalf("NewEngine: %v, want an error starting %q that names bad@7 once", err, c.want)
			}
		})
	}
}

func TestFailClosedOnModuleErrors(t *testing.T) {
	// The echo module returns the input document, which is not a verdict.
	e := engineFor(t, wasmtest.ABIModule(wasmtest.Options{}))
	if _, err := e.Evaluate(context.Background(), in("hi")); !errors.Is(err, ErrInvalidVerdict) {
		t.Fatalf("want ErrInvalidVerdict, got %v", err)
	}
	// A module with an out-of-bounds result fails with the host's error.
	e = engineFor(t, wasmtest.ConstModule(make([]byte, 10)))
	if _, err := e.Evaluate(context.Background(), in("hi")); !errors.Is(err, ErrInvalidVerdict) {
		t.Fatalf("want ErrInvalidVerdict for NUL bytes, got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testEngine.Evaluate(ctx, in("hi")); !errors.Is(err, wasm.ErrCanceled) {
		t.Fatalf("want wasm.ErrCanceled, got %v", err)
	}
}

func TestValidVerdictFromOtherModule(t *testing.T) {
	e := engineFor(t, wasmtest.ConstModule([]byte(
		`{"action":"redact","escalate":false,"categories":["pii_disclosure"],"severity":2,`+
			`"spans":[{"start":0,"end":5,"category":"pii_disclosure","kind":"name"}],"rules":["r1"]}`)))
	v, err := e.Evaluate(context.Background(), in("Alice says hi"))
	if err != nil {
		t.Fatal(err)
	}
	if Redact("Alice says hi", v.Spans) != "[hidden] says hi" || v.Rules[0] != "r1" {
		t.Fatalf("%+v", v)
	}
	// Omitted list fields decode as empty, never nil.
	e = engineFor(t, wasmtest.ConstModule([]byte(`{"action":"allow"}`)))
	v, err = e.Evaluate(context.Background(), in("x"))
	if err != nil || v.Categories == nil || v.Spans == nil || v.Rules == nil {
		t.Fatalf("%+v %v", v, err)
	}
}

func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^default@[0-9a-f]{12}$`).MatchString(testEngine.Version()) {
		t.Fatalf("version %q", testEngine.Version())
	}
	if testEngine.Version() != DefaultVersion() || testEngine.Name() != "default" {
		t.Fatal(testEngine.Name(), testEngine.Version())
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	before := testEngine.Stats()
	texts := []string{"I want to kill myself", "call 555-123-4567", "hello Daisy!", "f**k"}
	want := []string{"support", "redact", "allow", "block"}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				k := (g + i) % len(texts)
				v, err := testEngine.Evaluate(context.Background(), in(texts[k]))
				if err != nil || v.Action != want[k] {
					t.Errorf("%q: %+v %v", texts[k], v, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if st := testEngine.Stats(); st.Failures != before.Failures || st.Live > int64(testRT.Config().PoolSize) {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	inputs := []Input{
		{Text: "Hi Daisy! Can you tell me a joke about cats? I have 3 of them.", Direction: "in", AgeTier: "9-12",
			Context: []ContextTurn{{Direction: "in", Text: "hello"}, {Direction: "out", Text: "Woof! Hi there!"}}},
		{Text: "Woof! Why did the dog sit in the shade? Because he didn't want to be a hot dog!", Direction: "out", AgeTier: "9-12"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := testEngine.Evaluate(ctx, inputs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// longMessage is a long child's message (about 900 bytes, written for this
// benchmark): the p99 of the dev-set latency is set by rows this long.
const longMessage = `So today was the best day ever!!! First we went to the aquarium with my class ` +
	`and Mrs. Okafor let us touch a starfish, it felt kind of rough and squishy at the same time. ` +
	`Then my friend Priya said the sharks were sleeping but I think they were just bored lol. ` +
	`After lunch we watched a movie about octopuses, did you know they have three hearts and blue blood?? ` +
	`That is sooo weird. On the bus home Tomas kept singing the same song over and over and everybody ` +
	`got annoyed but it was also funny. When I got home my little brother had built a giant castle out ` +
	`of cardboard boxes and he wanted me to be the dragon, so I roared really loud and the dog started ` +
	`barking at us. Mom made pancakes for dinner which is the best because we never have pancakes for ` +
	`dinner. Tomorrow we have a spelling test and I am a bit nervous about the word "necessary" because ` +
	`I always forget if it has two s or two c. Can you help me practise? Also what is your favourite sea animal?`

// BenchmarkEvaluateLong evaluates longMessage through the WASM host.
func BenchmarkEvaluateLong(b *testing.B) {
	ctx := context.Background()
	input := Input{Text: longMessage, Direction: "in", AgeTier: "9-12"}
	b.SetBytes(int64(len(longMessage)))
	for b.Loop() {
		if _, err := testEngine.Evaluate(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateParallel(b *testing.B) {
	ctx := context.Background()
	input := Input{Text: "Hi Daisy! Can you tell me a joke about cats? I have 3 of them.", Direction: "in", AgeTier: "9-12"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := testEngine.Evaluate(ctx, input); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestDefaultPolicyUnderSafeCompile runs the vectors with wazero's
// close-on-context-done mode, the host's fallback for modules it cannot
// instrument.
func TestDefaultPolicyUnderSafeCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the default policy a second time")
	}
	ctx := context.Background()
	// The shared cache (when set) keeps this mode's compilation too: `make
	// unit` fills it without -race before the race run.
	rt, err := wasm.NewRuntime(ctx, wasm.Config{SafeCompile: true, CallTimeout: defaultTestTimeout(), CacheDir: wasmtest.SharedCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	e, err := NewDefaultEngine(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	vf, err := ParseVectors(DefaultVectors())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CheckVectors(ctx, vf); err != nil {
		t.Fatal(err)
	}
}

// TestKeepWarmDefaultPolicy: a warm engine's pool fills in the background,
// so evaluations do not instantiate the module (about 0.2 s each).
func TestKeepWarmDefaultPolicy(t *testing.T) {
	ctx := context.Background()
	e, err := NewDefaultEngine(ctx, testRT)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	e.KeepWarm()
	pool := testRT.Config().PoolSize
	deadline := time.Now().Add(30 * time.Second)
	for e.Stats().Idle < pool {
		if time.Now().After(deadline) {
			t.Fatalf("pool not filled within 30s: %+v", e.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := e.Stats().Instantiated
	for i := 0; i < 2*pool; i++ {
		if _, err := e.Evaluate(ctx, Input{Text: "hi daisy", Direction: "in", AgeTier: "9-12"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.Stats(); st.Instantiated != before {
		t.Fatalf("evaluations on a warm pool instantiated %d more", st.Instantiated-before)
	}
}

// TestDefaultPolicyThroughTheCompilationCache: a runtime with an on-disk
// cache writes the compiled module there, and a fresh runtime on the same
// directory (a restarted node, or nodes sharing --policy-cache) loads it and
// gives the same verdicts. `make unit` runs this test first without -race:
// TestMain's runtime fills DAISYDOG_TEST_POLICY_CACHE for every package.
func TestDefaultPolicyThroughTheCompilationCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	verdict := func() Verdict {
		rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: defaultTestTimeout(), CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		e, err := NewDefaultEngine(ctx, rt)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close(ctx)
		v, err := e.Evaluate(ctx, in("i wanna die lol happy"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := verdict()
	var files []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the runtime wrote nothing to its compilation cache directory")
	}
	second := verdict()
	if first.Action != "support" || second.Action != first.Action || !slices.Equal(first.Categories, second.Categories) {
		t.Fatalf("verdicts: compiled %s %v, from the cache %s %v (want support both times)", first.Action, first.Categories, second.Action, second.Categories)
	}
}
