package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/policies/eval"
	"daisydog/wasm"
)

const policyUsage = `Usage:
  daisydog policy score --data FILE.jsonl [--module X.wasm | --bundle B.ddpb [--pub K.pub]]
                        [--tier 9-12] [--strictness standard]
                        [--json] [--verdicts OUT.jsonl] [--show-misses] [--half tune|check]
                        [--daisy-lines=false]
      Score a policy against labelled cases (shared/eval/README.md format): recall
      per source and category, false positives on safe cases, PII span recall,
      latency through the WASM host. The policy is the embedded default, a module
      (--module), or a signed bundle (--bundle: its module with its data, once its
      own test vectors pass; --pub also checks the signature).
      "eval" and --cases are accepted as aliases of "score" and --data. --half keeps
      one half of the cases, split by a hash of their id (tune on one, check on the other).
      Daisy's own lines: every line Daisy can say (built-in catalogue, every age tier)
      is also checked as output at --strictness, as the chat pipeline checks her
      replies; a line the policy blocks is one she can no longer say (a redirect is
      sent instead). They are counted and the blocked ones listed (daisy_lines in
      --json), and the exit status is 1 if any is blocked (crisis-support lines are
      exempt). --daisy-lines=false skips the check.
  daisydog policy train --cases FILE.jsonl --out policies/default/rules/data/model.bin
                        [--bits 16] [--epochs 6] [--folds 5] [--seed 1]
      Train the default policy's statistical model (deterministic: same data and
      flags, same bytes), choose its thresholds on out-of-fold predictions and
      print held-out scores (k-fold and leave-one-source-out). Rebuild the
      module afterwards (make policy).
`

// cmdPolicy dispatches "daisydog policy SUBCOMMAND".
func cmdPolicy(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, policyUsage)
		return errors.New("policy: missing subcommand")
	}
	switch args[0] {
	case "score", "eval":
		return cmdPolicyScore(args[1:])
	case "train":
		return cmdPolicyTrain(args[1:])
	case "-h", "--help", "help":
		fmt.Print(policyUsage + policyLifecycleUsage)
		return nil
	}
	if ok, err := cmdPolicyLifecycle(args[0], args[1:]); ok {
		return err
	}
	fmt.Fprint(os.Stderr, policyUsage+policyLifecycleUsage)
	return fmt.Errorf("policy: unknown subcommand %q", args[0])
}

func cmdPolicyScore(args []string) error {
	fs := flag.NewFlagSet("policy score", flag.ExitOnError)
	data := fs.String("data", "", "labelled cases, JSONL (shared/eval/README.md format)")
	fs.StringVar(data, "cases", "", "alias of --data")
	module := fs.String("module", "", "policy module (.wasm) to score (default: the embedded default policy)")
	bundleFile := fs.String("bundle", "", "signed policy bundle (.ddpb) to score: its module with its data, after its own test vectors pass")
	pubFile := fs.String("pub", "", "with --bundle: public key (from policy keygen) the bundle's signature must verify with")
	tier := fs.String("tier", "9-12", "age tier: 5-8, 9-12 or 13-17")
	strictness := fs.String("strictness", "standard", "relaxed, standard or strict")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	verdicts := fs.String("verdicts", "", "also write one JSON line per case (id, action, categories, spans) to this file")
	misses := fs.Bool("show-misses", false, "list the ids (never the texts) of missed unsafe and flagged safe cases")
	half := fs.String("half", "", "score only one half of the cases, split by id hash: tune or check")
	lines := fs.Bool("daisy-lines", true, "also check every line Daisy can say (built-in catalogue) as output for its own age tier at --strictness; exit status 1 if the policy blocks any")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || fs.NArg() > 0 {
		fmt.Fprint(os.Stderr, policyUsage)
		return errors.New("policy score: --data FILE is required")
	}
	if *module != "" && *bundleFile != "" {
		return errors.New("policy score: give --module or --bundle, not both")
	}
	if *pubFile != "" && *bundleFile == "" {
		return errors.New("policy score: --pub needs --bundle")
	}
	f, err := os.Open(*data)
	if err != nil {
		return err
	}
	cases, err := eval.ReadCases(f)
	f.Close()
	if err != nil {
		return err
	}
	if cases, err = eval.SplitHalf(cases, *half); err != nil {
		return fmt.Errorf("policy score: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	var eng *policies.Engine
	switch {
	case *bundleFile != "":
		eng, err = loadBundleForScore(ctx, rt, *bundleFile, *pubFile)
	case *module == "":
		eng, err = policies.NewDefaultEngine(ctx, rt)
	default:
		var b []byte
		if b, err = os.ReadFile(*module); err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimSuffix(filepath.Base(*module), filepath.Ext(*module))
		eng, err = policies.NewEngine(ctx, rt, name, name+"@"+hex.EncodeToString(sum[:])[:12], b)
	}
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())

	opt := eval.Options{AgeTier: *tier, Strictness: *strictness, Misses: *misses}
	var vw *bufio.Writer
	var venc *json.Encoder
	if *verdicts != "" {
		vf, err := os.Create(*verdicts)
		if err != nil {
			return err
		}
		defer vf.Close()
		vw = bufio.NewWriter(vf)
		venc = json.NewEncoder(vw)
		opt.OnVerdict = func(c *eval.Case, v policies.Verdict, err error) {
			_ = venc.Encode(eval.NewVerdictLine(c, v, err))
		}
	}
	// Warm the instance pool so that the first cases do not pay for
	// instantiation (production engines are long-lived).
	for range 64 {
		_, _ = eng.Evaluate(ctx, policies.Input{Text: "hello Daisy", Direction: "in", AgeTier: *tier, Strictness: *strictness})
	}
	rep, err := eval.Score(ctx, eng, cases, opt)
	if err != nil {
		return err
	}
	rep.Policy = eng.Version()
	if *lines {
		if rep.DaisyLines, err = checkDaisyLines(ctx, eng, *strictness); err != nil {
			return fmt.Errorf("policy score: %w", err)
		}
	}
	if vw != nil {
		if err := vw.Flush(); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		eval.WriteTable(os.Stdout, rep)
	}
	if l := rep.DaisyLines; l != nil && l.Refused > 0 {
		return fmt.Errorf("policy score: %s blocks %d of Daisy's own lines (she would send a redirect instead of each): see daisy_lines in the report; --daisy-lines=false skips this check",
			rep.Policy, l.Refused)
	}
	return nil
}

// checkDaisyLines runs every line of the built-in catalogue (companion
// Corpus: reply pools, catalogue items, game lines and suggestions, per
// age tier) through eng as output for its tier at strictness. Crisis-support
// replies are exempt: the chat pipeline sends them whatever the output
// policy says (they name emergency numbers, which a policy may tag).
func checkDaisyLines(ctx context.Context, eng eval.Evaluator, strictness string) (*eval.LinesReport, error) {
	var lines []eval.Line
	exempt := 0
	for _, c := range companion.New().Corpus() {
		if c.Source == "support" {
			exempt++
			continue
		}
		lines = append(lines, eval.Line{Tier: c.Tier, Source: c.Source, Text: c.Text})
	}
	rep, err := eval.CheckLines(ctx, eng, lines, strictness)
	if err != nil {
		return nil, err
	}
	rep.Exempt = exempt
	return rep, nil
}

// loadBundleForScore opens a bundle, checks its parts against its manifest
// (and its signature, given a public key), compiles its module with its
// data and runs its test vectors — what a node does before staging it,
// except that trust in the signer is only checked when pubFile is given.
func loadBundleForScore(ctx context.Context, rt *wasm.Runtime, file, pubFile string) (*policies.Engine, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("policy score: %w", err)
	}
	b, err := bundle.Open(raw)
	if err != nil {
		return nil, fmt.Errorf("policy score: %s: %w", file, err)
	}
	if pubFile == "" {
		if err := b.CheckParts(); err != nil {
			return nil, fmt.Errorf("policy score: %s: %w", file, err)
		}
		fmt.Fprintf(os.Stderr, "bundle %s, signed by key %s: signature not checked (give --pub to check it)\n", b.ID(), b.Signature.KeyID)
	} else {
		pemBytes, err := os.ReadFile(pubFile)
		if err != nil {
			return nil, fmt.Errorf("policy score: %w", err)
		}
		pub, err := bundle.ParsePublicKey(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("policy score: %s: %w", pubFile, err)
		}
		if err := b.Verify(map[string]ed25519.PublicKey{bundle.KeyID(pub): pub}); err != nil {
			return nil, fmt.Errorf("policy score: %s: %w", file, err)
		}
		fmt.Fprintf(os.Stderr, "bundle %s: signature verified with key %s\n", b.ID(), bundle.KeyID(pub))
	}
	return bundle.Load(ctx, rt, b)
}

func cmdPolicyTrain(args []string) error {
	fs := flag.NewFlagSet("policy train", flag.ExitOnError)
	data := fs.String("cases", "", "labelled cases, JSONL (shared/eval/README.md format)")
	fs.StringVar(data, "data", "", "alias of --cases")
	out := fs.String("out", "", "where to write the model (policies/default/rules/data/model.bin)")
	bits := fs.Uint("bits", 16, "hash buckets = 2^bits")
	epochs := fs.Int("epochs", 6, "passes over the data")
	folds := fs.Int("folds", 5, "cross-validation folds")
	seed := fs.Uint64("seed", 1, "seed of the example order")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *out == "" || fs.NArg() > 0 || *bits < 8 || *bits > 22 || *folds < 2 {
		fmt.Fprint(os.Stderr, policyUsage)
		return errors.New("policy train: --cases FILE and --out FILE are required")
	}
	f, err := os.Open(*data)
	if err != nil {
		return err
	}
	cases, err := eval.ReadCases(f)
	f.Close()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := eval.Train(ctx, cases, eval.TrainOptions{Bits: uint8(*bits), Epochs: *epochs, Folds: *folds, Seed: *seed}, os.Stderr)
	if err != nil {
		return err
	}
	b, err := res.Model.MarshalBinary()
	if err != nil {
		return err
	}
	// #nosec G306 -- a trained model's weights, public by design
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("policy train: %w", err)
	}
	sum := sha256.Sum256(b)
	fmt.Printf("model %s: %d bytes, sha256 %s\n\n", *out, len(b), hex.EncodeToString(sum[:])[:16])
	eval.WriteTrainTable(os.Stdout, res)
	return nil
}
