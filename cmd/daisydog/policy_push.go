package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"daisydog/policies/bundle"
	"daisydog/wasm"
)

const policyLifecycleUsage = `
  daisydog policy keygen --out PREFIX
      Write a bundle-signing key pair: PREFIX.key (private, mode 0600) and PREFIX.pub.
  daisydog policy bundle --module X.wasm [--data DIR] --vectors V.json --name N --version V --key K.key -o OUT.ddpb
      Build and sign a policy bundle (module, data files, test vectors, manifest), zstd-compressed.
  daisydog policy trust  --url https://HOST:PORT --token ADMIN_TOKEN --ca CA.crt --pub K.pub
      Add a bundle-signing public key to the cluster's trusted keys.
  daisydog policy untrust KEY_ID --url … --token … --ca …
      Stop trusting a signing key (e.g. it leaked): its bundles can no longer be staged,
      activated, shadowed or rolled back to; the policy in force stays until replaced.
  daisydog policy push   BUNDLE --url https://HOST:PORT --token ADMIN_TOKEN --ca CA.crt [--stage-only]
      Upload a bundle: verified, compiled and self-tested on every node, then activated
      at one log index cluster-wide (unless --stage-only).
  daisydog policy activate NAME@VERSION --url … --token … --ca …     activate a staged version
  daisydog policy shadow   NAME@VERSION|--off --url … --token … --ca …
      Run a staged version beside the active one on live traffic (never enforced).
  daisydog policy rollback --url … --token … --ca …                  back to the previous active version
  daisydog policy unstage NAME@VERSION --url … --token … --ca …      delete a staged version nothing uses
  daisydog policy status   --url … --token … --ca … [--json]          the node's policy status
  The token may also come from $DAISYDOG_ADMIN_TOKEN.
`

// cmdPolicyLifecycle runs the lifecycle subcommands; ok is false for others.
func cmdPolicyLifecycle(sub string, args []string) (bool, error) {
	switch sub {
	case "keygen":
		return true, cmdPolicyKeygen(args)
	case "bundle":
		return true, cmdPolicyBundle(args)
	case "trust", "untrust", "push", "activate", "shadow", "rollback", "status", "unstage":
		return true, cmdPolicyAdmin(sub, args)
	}
	return false, nil
}

func cmdPolicyKeygen(args []string) error {
	fs := flag.NewFlagSet("policy keygen", flag.ExitOnError)
	out := fs.String("out", "", "path prefix: writes PREFIX.key and PREFIX.pub")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New("policy keygen: --out PREFIX is required")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	privPEM, err := bundle.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	pubPEM, err := bundle.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out+".key", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("policy keygen: %w", err)
	}
	if _, err := f.Write(privPEM); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// #nosec G306 -- the public half of the signing key
	if err := os.WriteFile(*out+".pub", pubPEM, 0o644); err != nil {
		return err
	}
	fmt.Printf("key id %s\nprivate key %s.key (keep it offline)\npublic key  %s.pub (trust it with `daisydog policy trust`)\n", bundle.KeyID(pub), *out, *out)
	return nil
}

func cmdPolicyBundle(args []string) error {
	fs := flag.NewFlagSet("policy bundle", flag.ExitOnError)
	module := fs.String("module", "", "policy module (.wasm)")
	dataDir := fs.String("data", "", "directory of data files (lists, patterns, thresholds; UTF-8 text) handed to the module")
	vectors := fs.String("vectors", "", "test vectors (JSON, policies/vectors.go format)")
	name := fs.String("name", "", "policy name ([a-z0-9_-])")
	version := fs.String("version", "", "policy version")
	keyFile := fs.String("key", "", "signing key (from policy keygen)")
	out := fs.String("o", "", "output bundle file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *module == "" || *vectors == "" || *name == "" || *version == "" || *keyFile == "" || *out == "" || fs.NArg() > 0 {
		return errors.New("policy bundle: --module, --vectors, --name, --version, --key and -o are required")
	}
	mod, err := os.ReadFile(*module)
	if err != nil {
		return err
	}
	vec, err := os.ReadFile(*vectors)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	key, err := bundle.ParsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	files := map[string]string{}
	if *dataDir != "" {
		if files, err = readDataDir(*dataDir); err != nil {
			return err
		}
	}
	raw, err := bundle.Build(bundle.Spec{Name: *name, Version: *version, Module: mod, Data: files, Vectors: vec, Now: time.Now()}, key)
	if err != nil {
		return err
	}
	// Refuse locally what the cluster would refuse: compile it, run the vectors.
	if err := checkBundle(raw); err != nil {
		return fmt.Errorf("policy bundle: not written: %w", err)
	}
	// #nosec G306 -- a signed policy bundle: public by design
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s@%s: %d bytes (module %d, %d data files), signed by key %s\n", *name, *version, len(raw), len(mod), len(files), bundle.KeyID(key.Public().(ed25519.PublicKey)))
	return nil
}

// checkBundle compiles the bundle's module with its data and runs its vectors.
func checkBundle(raw []byte) error {
	ctx := context.Background()
	b, err := bundle.Open(raw)
	if err != nil {
		return err
	}
	rt, err := wasm.NewRuntime(ctx, wasm.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	e, err := bundle.Load(ctx, rt, b)
	if err != nil {
		return err
	}
	return e.Close(ctx)
}

// readDataDir reads every regular file under dir (relative slash paths as names).
func readDataDir(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("policy bundle: %s is not a regular file", path)
		}
		// #nosec G122 -- the administrator's own data directory, read by the administrator's CLI
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

// adminClient talks to a node's admin API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func cmdPolicyAdmin(sub string, args []string) error {
	fs := flag.NewFlagSet("policy "+sub, flag.ExitOnError)
	base := fs.String("url", "", "a node's API, https://HOST:PORT")
	token := fs.String("token", os.Getenv("DAISYDOG_ADMIN_TOKEN"), "admin access token (default $DAISYDOG_ADMIN_TOKEN)")
	caFile := fs.String("ca", "", "PEM file of the CA to trust (the cluster's tls/ca.crt); default: system roots")
	stageOnly := fs.Bool("stage-only", false, "push: stage without activating")
	off := fs.Bool("off", false, "shadow: end the shadow run")
	pubFile := fs.String("pub", "", "trust: public key file (from policy keygen)")
	asJSON := fs.Bool("json", false, "status: print JSON")
	// Accept the positional argument before or after the flags.
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if *base == "" || *token == "" {
		return fmt.Errorf("policy %s: --url and --token (or $DAISYDOG_ADMIN_TOKEN) are required", sub)
	}
	c, err := newAdminClient(*base, *token, *caFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("policy %s: expected %s", sub, what)
		}
		return nil
	}
	var out map[string]any
	switch sub {
	case "push":
		if err := need(1, "one BUNDLE file"); err != nil {
			return err
		}
		raw, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		path := "/v1/admin/policies"
		if *stageOnly {
			path += "?activate=false"
		}
		start := time.Now()
		if err := c.do(ctx, "POST", path, "application/octet-stream", raw, &out); err != nil {
			return err
		}
		out["took_ms"] = time.Since(start).Milliseconds()
	case "activate":
		if err := need(1, "NAME@VERSION"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", "/v1/admin/policies/"+url.PathEscape(pos[0])+"/activate", "", nil, &out)
	case "shadow":
		switch {
		case *off && len(pos) == 0:
			err = c.do(ctx, "DELETE", "/v1/admin/policy-shadow", "", nil, &out)
		case !*off && len(pos) == 1:
			err = c.do(ctx, "POST", "/v1/admin/policies/"+url.PathEscape(pos[0])+"/shadow", "", nil, &out)
		default:
			return errors.New("policy shadow: expected NAME@VERSION or --off")
		}
	case "unstage":
		if err := need(1, "NAME@VERSION"); err != nil {
			return err
		}
		if err = c.do(ctx, "DELETE", "/v1/admin/policies/"+url.PathEscape(pos[0]), "", nil, &out); err == nil {
			out = map[string]any{"unstaged": pos[0]}
		}
	case "rollback":
		if err := need(0, "no arguments"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", "/v1/admin/policy-rollback", "", nil, &out)
	case "trust":
		if *pubFile == "" {
			return errors.New("policy trust: --pub FILE is required")
		}
		pem, err := os.ReadFile(*pubFile)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"public_key_pem": string(pem)})
		if err := c.do(ctx, "POST", "/v1/admin/policy-keys", "application/json", body, &out); err != nil {
			return err
		}
	case "untrust":
		if err := need(1, "KEY_ID"); err != nil {
			return err
		}
		err = c.do(ctx, "DELETE", "/v1/admin/policy-keys/"+url.PathEscape(pos[0]), "", nil, &out)
	case "status":
		if err := c.do(ctx, "GET", "/v1/admin/policies", "", nil, &out); err != nil {
			return err
		}
		if !*asJSON {
			printPolicyStatus(os.Stdout, out)
			return nil
		}
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func newAdminClient(base, token, caFile string) (*adminClient, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--url must be https://HOST:PORT, got %q", base)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		tlsCfg.RootCAs = pool
	}
	return &adminClient{base: strings.TrimRight(base, "/"), token: token,
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}}, nil
}

// do sends a request and decodes a JSON reply; API errors become Go errors
// carrying the server's message (e.g. why a bundle was refused).
func (c *adminClient) do(ctx context.Context, method, path, ctype string, body []byte, out *map[string]any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// #nosec G704 -- the URL is the administrator's own --server flag; this is the CLI, not the server
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	// #nosec G704 -- as above: the administrator's --server
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, res.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	*out = map[string]any{}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil // 204
	}
	return json.Unmarshal(data, out)
}

func printPolicyStatus(w io.Writer, st map[string]any) {
	str := func(k string) string { s, _ := st[k].(string); return s }
	fmt.Fprintf(w, "node %s: active %s (installed at index %v)\n", str("node"), str("active"), st["installed_at_index"])
	if e := str("error"); e != "" {
		fmt.Fprintf(w, "  FAILING CLOSED: %s\n", e)
	}
	if h, ok := st["history"].([]any); ok && len(h) > 0 {
		fmt.Fprintf(w, "  history: %v (rollback returns to the one before the last)\n", h)
	}
	if sh, ok := st["shadow"].(map[string]any); ok {
		fmt.Fprintf(w, "  shadow %v vs %v: %v evaluated, %v disagreed, %v errors, %v skipped\n",
			sh["policy"], sh["against"], sh["evaluated"], sh["disagreed"], sh["errors"], sh["skipped"])
	}
	staged, _ := st["staged"].([]any)
	for _, s := range staged {
		m, _ := s.(map[string]any)
		nodes, _ := m["nodes"].(map[string]any)
		names := make([]string, 0, len(nodes))
		for n, r := range nodes {
			names = append(names, fmt.Sprintf("%s=%v", n, r))
		}
		sort.Strings(names)
		fmt.Fprintf(w, "  staged %v (key %v): %s\n", m["id"], m["key_id"], strings.Join(names, " "))
	}
}
