package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"daisydog/node"
	"daisydog/node/api"
	"daisydog/node/bench"
	"daisydog/raftcluster"
	"daisydog/storage"
)

const usage = `daisydog — DaisyDog Edge server

Usage:
  daisydog run     [--data DIR] [--http ADDR] [--raft ADDR]     start a single node, creating it on first run
  daisydog init    --data DIR --node-id ID --http ADDR --raft ADDR   create a new cluster and serve its first node
  daisydog join    --data DIR --node-id ID --http ADDR --raft ADDR --join HOST:HTTPS-PORT --token TOKEN
  daisydog serve   --data DIR                                      restart an existing node (no other flags needed)
  daisydog cluster status --data DIR [--addr HOST:PORT] [--members]  nodes, leader, term, applied index (--members: what each binary applies)
  daisydog cluster remove --data DIR NODE-ID                     remove a node from the cluster
  daisydog cluster token  --data DIR                             print the join token
  daisydog cluster ca     --data DIR [status|stage|switch|finish|abort]  rotate the cluster CA (docs/operations.md "Rotating the cluster CA")
  daisydog policy score --data FILE.jsonl [--module X.wasm] [--tier 9-12] [--json]   score a policy on labelled data and Daisy's own lines
  daisydog admin create --data DIR --email ADDRESS              create the first administrator (once; password on stdin)
  daisydog audit verify --data DIR                              check the hash chain of the replicated audit log
  daisydog backup  --data DIR --out FILE                          write a sealed backup of this server's database (while it runs)
  daisydog backup verify --from FILE --cluster-key FILE           open a backup as a restore would and check it (changes nothing)
  daisydog restore --from FILE --cluster-key FILE --data DIR --node-id ID --http ADDR --raft ADDR   start a new cluster from a backup
        [--archive DIR[,DIR] --until TIME]                      … and the log archive's commands up to TIME (point-in-time recovery)
  daisydog bench   --targets URL[,URL...] --ca FILE [-c N | --open] [--children N] [--duration D] [--mix SPEC] [--limits-dir DIR]
  daisydog bench compare --base FILE[,FILE...] --new FILE[,FILE...] [--tolerance 0.15] [--json]
  daisydog monitoring alerts|dashboard                           print the suggested Prometheus alert rules or the Grafana dashboard (deploy/)
  daisydog version
`

func main() { os.Exit(dispatch(os.Args[1:])) }

// dispatch runs the command named by args[0] and returns the process exit
// code: 2 for a usage error, 1 for a failed command, 0 otherwise.
func dispatch(args []string) int {
	if len(args) < 1 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(args[1:])
	case "init":
		err = cmdInit(args[1:])
	case "join":
		err = cmdJoin(args[1:])
	case "serve":
		err = cmdServe(args[1:])
	case "cluster":
		err = cmdCluster(args[1:])
	case "bench":
		err = cmdBench(args[1:])
	case "audit":
		err = cmdAudit(args[1:])
	case "backup":
		err = cmdBackup(args[1:])
	case "restore":
		err = cmdRestore(args[1:])
	case "policy":
		err = cmdPolicy(args[1:])
	case "admin":
		err = cmdAdmin(args[1:])
	case "monitoring":
		err = cmdMonitoring(os.Stdout, args[1:])
	case "version":
		fmt.Println("daisydog", version)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "daisydog:", err)
		return 1
	}
	return 0
}

var version = "dev"

// serveFlags are the tuning flags shared by run, init, join and serve.
type serveFlags struct {
	data              string
	logLevel          string
	snapshotThreshold uint64
	snapshotInterval  time.Duration
	trailingLogs      uint64
	pprof             string
	authRate          int
	cors              string
	redirect          string
	ai                aiFlags
	adminAllow        string
	slowQuery         time.Duration
	metricsTokenFile  string
	policyCache       string
	mail              mailFlags
	limits            api.RateLimits
	retention         api.Retention
	retentionEvery    time.Duration
	backups           node.BackupSchedule
	archive           node.ArchiveConfig
	memoryLimit       string
}

// Bounds of --retention-every: more often than every second would only load
// the leader; less often than monthly would break the promise of the notice.
const (
	minRetentionEvery = time.Second
	maxRetentionEvery = 720 * time.Hour
)

// absBackups is the backup schedule with an absolute directory (check has
// made sure it has one).
func (s serveFlags) absBackups() node.BackupSchedule {
	b := s.backups
	if b.Dir != "" {
		if abs, err := filepath.Abs(b.Dir); err == nil {
			b.Dir = abs
		}
	}
	return b
}

// absArchive is the log archive configuration with an absolute directory.
func (s serveFlags) absArchive() node.ArchiveConfig {
	a := s.archive
	if a.Dir != "" {
		if abs, err := filepath.Abs(a.Dir); err == nil {
			a.Dir = abs
		}
	}
	return a
}

// check refuses flag values that are wrong on their face, before a command
// creates or opens anything.
func (s serveFlags) check() error {
	if s.pprof != "" {
		if err := checkPprofAddr(s.pprof); err != nil {
			return err
		}
	}
	if err := s.retention.Validate(); err != nil {
		return fmt.Errorf("--retain-*-days: %w", err)
	}
	if s.retentionEvery < minRetentionEvery || s.retentionEvery > maxRetentionEvery {
		return fmt.Errorf("--retention-every: %v is not between %v and %v", s.retentionEvery, minRetentionEvery, maxRetentionEvery)
	}
	b := s.backups
	if b.Dir != "" {
		abs, err := filepath.Abs(b.Dir)
		if err != nil {
			return fmt.Errorf("--backup-dir: %w", err)
		}
		b.Dir = abs
	}
	if err := b.Validate(); err != nil {
		return fmt.Errorf("--backup-dir/--backup-every/--backup-keep: %w", err)
	}
	if err := s.absArchive().Validate(); err != nil {
		return fmt.Errorf("--archive-dir/--archive-keep: %w", err)
	}
	if _, err := decideMemoryLimit(s.memoryLimit, readMachineMemory()); err != nil {
		return err
	}
	return nil
}

func (s *serveFlags) register(fs *flag.FlagSet) {
	s.ai.register(fs)
	fs.StringVar(&s.data, "data", "", "data directory")
	fs.StringVar(&s.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Uint64Var(&s.snapshotThreshold, "snapshot-threshold", 0, "log entries between snapshots (default 32768)")
	fs.DurationVar(&s.snapshotInterval, "snapshot-interval", 0, "how often to check whether to snapshot (default 30s)")
	fs.Uint64Var(&s.trailingLogs, "trailing-logs", 0, "log entries kept after a snapshot (default 16384)")
	fs.IntVar(&s.authRate, "auth-rate", 0, "unauthenticated requests per minute per client IP (sign-up, login, refresh, device link); 0 = default 30, -1 = off (benchmarks)")
	fs.StringVar(&s.cors, "cors-origins", "", "comma-separated browser origins allowed to call the API (default none)")
	fs.StringVar(&s.redirect, "http-redirect", "", "also listen for plain HTTP here, only to redirect to HTTPS (e.g. 127.0.0.1:8080)")
	fs.StringVar(&s.adminAllow, "admin-allow", "", "comma-separated addresses/CIDR prefixes that may reach staff routes (default: any)")
	fs.StringVar(&s.pprof, "pprof", "", "serve Go profiling on this loopback address (off by default; never expose it)")
	fs.DurationVar(&s.slowQuery, "slow-query", 0, "log storage statements slower than this (default 100ms; negative = off)")
	fs.StringVar(&s.metricsTokenFile, "metrics-token-file", "", "file holding a token that lets non-loopback clients read GET /v1/metrics")
	fs.StringVar(&s.policyCache, "policy-cache", "", "directory for compiled policy code (default DATA/cache/wasm); nodes on one machine may share one")
	s.mail.register(fs)
	fs.IntVar(&s.limits.SignUp, "limit-signup", 0, "sign-ups per hour per client network, cluster-wide (0 = default 20, -1 = off)")
	fs.IntVar(&s.limits.PasswordReset, "limit-password-reset", 0, "password-reset requests per hour per client network, cluster-wide (0 = default 10, -1 = off)")
	fs.IntVar(&s.limits.FailedLogins, "limit-failed-logins", 0, "failed logins per hour per client network, cluster-wide (0 = default 100, -1 = off)")
	fs.IntVar(&s.limits.FailedLinks, "limit-failed-links", 0, "failed device-link redemptions per hour per client network, cluster-wide (0 = default 30, -1 = off)")
	d := api.DefaultRetention
	fs.IntVar(&s.retention.TurnsDays, "retain-turns-days", d.TurnsDays, "days chat turns (messages, replies, safety verdicts) are kept; 0 = until the parent deletes them (give every node the same value)")
	fs.IntVar(&s.retention.SafetyDays, "retain-safety-days", d.SafetyDays, "days safety events are kept; 0 = until the parent deletes the child")
	fs.IntVar(&s.retention.SessionsDays, "retain-sessions-days", d.SessionsDays, "days parent sessions and refresh tokens are kept after they expired; 0 = until the family is deleted")
	fs.StringVar(&s.backups.Dir, "backup-dir", "", "write a sealed, verified backup of this server's database to this directory every --backup-every, keeping the newest --backup-keep (default: no scheduled backups)")
	fs.DurationVar(&s.backups.Every, "backup-every", 24*time.Hour, "period of scheduled backups (between 1s and 720h; the first one this long after start)")
	fs.IntVar(&s.backups.Keep, "backup-keep", 7, "scheduled backups of this server kept (1-1000); older ones are deleted")
	fs.StringVar(&s.archive.Dir, "archive-dir", "", "append every applied command, sealed, to a log archive in this directory, for point-in-time recovery with `daisydog restore --archive` (default: no archive)")
	fs.DurationVar(&s.archive.Keep, "archive-keep", 8*24*time.Hour, "archive segments of this server written longer ago are deleted (at least 1h; keep it longer than the oldest backup kept)")
	fs.StringVar(&s.memoryLimit, "memory-limit", "auto", `soft limit on the memory the Go runtime holds: a size (1GiB, 800MiB), a percentage of the cgroup memory cap or else of the machine's memory (50%), "off", or "auto" = 75% of the cgroup memory cap when the process has one (GOMEMLIMIT, if set, wins over auto)`)
	fs.DurationVar(&s.retentionEvery, "retention-every", time.Hour, "how often the leader runs the retention job (between 1s and 720h; the first run is this long, at most a minute, after a node becomes leader)")
}

type addrFlags struct {
	nodeID, http, raft, advHTTP, advRaft string
}

func (a *addrFlags) register(fs *flag.FlagSet, defHTTP, defRaft string) {
	fs.StringVar(&a.nodeID, "node-id", "", "this node's ID (lower-case letters, digits, hyphens)")
	fs.StringVar(&a.http, "http", defHTTP, "HTTPS API listen address")
	fs.StringVar(&a.raft, "raft", defRaft, "cluster port listen address")
	fs.StringVar(&a.advHTTP, "advertise-http", "", "API address clients use (default: --http)")
	fs.StringVar(&a.advRaft, "advertise-raft", "", "cluster address other nodes dial (default: --raft)")
}

func (a addrFlags) options() node.InitOptions {
	return node.InitOptions{NodeID: a.nodeID, HTTPAddr: a.http, RaftAddr: a.raft, AdvertiseHTTP: a.advHTTP, AdvertiseRaft: a.advRaft}
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	return fs.Parse(args)
}

func logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// serve runs a node until SIGINT/SIGTERM, then shuts it down gracefully.
func serve(sf serveFlags, banner func(n *node.Node)) error {
	if sf.data == "" {
		return errors.New("--data is required")
	}
	log, err := logger(sf.logLevel)
	if err != nil {
		return err
	}
	ml, err := decideMemoryLimit(sf.memoryLimit, readMachineMemory())
	if err != nil {
		return err
	}
	log.Info("memory limit", "bytes", applyMemoryLimit(ml), "source", ml.source)
	adminNets, err := parsePrefixes(sf.adminAllow)
	if err != nil {
		return err
	}
	var metricsToken string
	if sf.metricsTokenFile != "" {
		b, err := os.ReadFile(sf.metricsTokenFile)
		if err != nil {
			return fmt.Errorf("--metrics-token-file: %w", err)
		}
		if metricsToken = strings.TrimSpace(string(b)); len(metricsToken) < 16 {
			return errors.New("--metrics-token-file: the token must be at least 16 characters")
		}
	}
	sender, err := sf.mail.sender()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	aiCfg, err := sf.ai.config()
	if err != nil {
		return err
	}
	n, err := node.Start(ctx, node.Config{
		DataDir: sf.data, Logger: log, SnapshotThreshold: sf.snapshotThreshold,
		SnapshotInterval: sf.snapshotInterval, TrailingLogs: sf.trailingLogs, AuthPerMinute: sf.authRate,
		CORSOrigins: splitList(sf.cors), RedirectAddr: sf.redirect, AdminNets: adminNets,
		SlowQuery: sf.slowQuery, MetricsToken: metricsToken, AI: aiCfg, PolicyCacheDir: sf.policyCache,
		Mail: sender, MailOutbox: sf.mail.outbox, MailLinkBase: sf.mail.linkBase, ClusterLimits: sf.limits,
		Retention: sf.retention, RetentionEvery: sf.retentionEvery, Backups: sf.absBackups(), Archive: sf.absArchive(),
	})
	if err != nil {
		return err
	}
	if sf.pprof != "" {
		if err := startPprof(sf.pprof, log); err != nil {
			n.Close(context.Background())
			return err
		}
	}
	if banner != nil {
		banner(n)
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Close(sctx)
}

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	var sf serveFlags
	sf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	return serve(sf, nil)
}

func cmdInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ExitOnError)
	var sf serveFlags
	var af addrFlags
	sf.register(fs)
	af.register(fs, "127.0.0.1:8443", "127.0.0.1:9443")
	noServe := fs.Bool("no-serve", false, "only create the data directory")
	policyKey := fs.String("policy-key", "", "a policy bundle-signing public key (PEM, from `daisydog policy keygen`) the new cluster trusts")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	if sf.data == "" {
		return errors.New("--data is required")
	}
	if restarted, err := alreadyThis(sf.data, af.nodeID); restarted || err != nil {
		if err != nil {
			return err
		}
		return serve(sf, nil) // a restart with the same command line (containers, systemd)
	}
	tok, err := node.Init(node.Layout{Dir: sf.data}, af.options())
	if err != nil {
		return err
	}
	if *policyKey != "" {
		pemBytes, err := os.ReadFile(*policyKey)
		if err != nil {
			return err
		}
		if err := node.InstallPolicyKey(node.Layout{Dir: sf.data}, pemBytes); err != nil {
			return err
		}
	}
	fmt.Printf("Initialised cluster node %q in %s.\nJoin token for the other servers (keep it secret):\n  %s\n", af.nodeID, sf.data, tok)
	if *noServe {
		return nil
	}
	return serve(sf, nil)
}

func cmdJoin(args []string) error {
	fs := flag.NewFlagSet("join", flag.ExitOnError)
	var sf serveFlags
	var af addrFlags
	sf.register(fs)
	af.register(fs, "127.0.0.1:8443", "127.0.0.1:9443")
	joinAddr := fs.String("join", "", "HTTPS address (host:port) of a cluster member")
	token := fs.String("token", "", "join token printed by 'daisydog init'")
	noServe := fs.Bool("no-serve", false, "only fetch credentials and create the data directory")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	if sf.data == "" || *joinAddr == "" || *token == "" {
		return errors.New("--data, --join and --token are required")
	}
	if restarted, err := alreadyThis(sf.data, af.nodeID); restarted || err != nil {
		if err != nil {
			return err
		}
		return serve(sf, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := node.Join(ctx, node.Layout{Dir: sf.data}, af.options(), *joinAddr, *token); err != nil {
		return err
	}
	fmt.Printf("Node %q has credentials from %s; starting and joining.\n", af.nodeID, *joinAddr)
	if *noServe {
		return nil
	}
	return serve(sf, nil)
}

// alreadyThis reports whether dir already holds node nodeID, so that
// re-running the same init/join command (a container or unit restart) just
// serves it. A different node in dir is an error, never overwritten.
func alreadyThis(dir, nodeID string) (bool, error) {
	l := node.Layout{Dir: dir}
	if !l.Initialized() {
		return false, nil
	}
	nf, err := l.ReadNode()
	if err != nil {
		return false, err
	}
	if nf.NodeID != nodeID {
		return false, fmt.Errorf("%s already holds node %q, not %q", dir, nf.NodeID, nodeID)
	}
	fmt.Printf("Node %q is already initialised in %s; starting it.\n", nodeID, dir)
	return true, nil
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var sf serveFlags
	var af addrFlags
	sf.register(fs)
	af.register(fs, "127.0.0.1:8443", "127.0.0.1:9443")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	if sf.data == "" {
		sf.data = ".daisydog-dev"
	}
	if af.nodeID == "" {
		af.nodeID = "node1"
	}
	if sf.mail.outbox == "" && sf.mail.addr == "" {
		sf.mail.outbox = filepath.Join(sf.data, "outbox", "mail.jsonl")
	}
	l := node.Layout{Dir: sf.data}
	if !l.Initialized() {
		if _, err := node.Init(l, af.options()); err != nil {
			return err
		}
	}
	return serve(sf, func(n *node.Node) {
		printWelcome(os.Stdout, l, n.HTTPAddr())
		printOutbox(os.Stdout, n.MailOutbox())
	})
}

func printWelcome(w io.Writer, l node.Layout, addr string) {
	ca, _ := filepath.Abs(l.CACert())
	url := "https://" + addr
	fmt.Fprintf(w, `
  DaisyDog Edge is running at %[1]s
  Its certificate is signed by this node's cluster CA: %[2]s

  There is no default account. Create a parent account and log in:
    curl --cacert %[2]s -H 'Content-Type: application/json' \
         -d '{"email":"parent@example.com","password":"a long passphrase here"}' %[1]s/v1/parents/signup
    curl --cacert %[2]s -H 'Content-Type: application/json' \
         -d '{"email":"parent@example.com","password":"a long passphrase here"}' %[1]s/v1/auth/login
  Then use the access_token as "Authorization: Bearer ..." to create a child
  (POST /v1/children); for a child under 13, confirm your e-mail address
  (the link is in the outbox file printed below, POST /v1/auth/verify-email)
  and give consent (POST /v1/children/ID/consent); get a link code
  (POST /v1/children/ID/link-codes), link a device (POST /v1/devices/link)
  and chat (POST /v1/chat).
  Or, after signing up, open the parent console in a browser: %[1]s/ui/
  (the browser will warn about the cluster CA unless you trust %[2]s).

  The first administrator is created once, on this server (password on stdin):
    daisydog admin create --data %[3]s --email admin@example.com
  See docs/api.md. Stop with Ctrl-C.

`, url, ca, l.Dir)
}

func cmdCluster(args []string) error {
	if len(args) == 0 {
		return errors.New("cluster needs a subcommand: status, remove, token or ca")
	}
	sub := args[0]
	fs := flag.NewFlagSet("cluster "+sub, flag.ExitOnError)
	data := fs.String("data", "", "this server's data directory (its node certificate authorises the request)")
	addr := fs.String("addr", "", "cluster address to ask (default: this node's)")
	members := fs.Bool("members", false, "status: also ask every member which newer command kinds its binary applies (shows a rolling upgrade's progress)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	l := node.Layout{Dir: *data}
	nf, err := l.ReadNode()
	if err != nil {
		return err
	}
	if sub == "token" {
		b, err := os.ReadFile(filepath.Join(*data, "keys", "join-token"))
		if err != nil {
			return err
		}
		fmt.Print(string(b))
		return nil
	}
	id, err := loadIdentity(l, nf.NodeID)
	if err != nil {
		return err
	}
	target := *addr
	if target == "" {
		target = nf.AdvertiseRaft
	}
	cl := raftcluster.NewClient(id)
	timeout := 20 * time.Second
	if sub == "ca" {
		timeout = 90 * time.Second // a switch waits for every member's new certificate
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch sub {
	case "status":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if *members {
			st, answers, err := cl.Members(ctx, target)
			if err != nil {
				return err
			}
			return enc.Encode(memberView{Status: st, Members: memberInfos(answers)})
		}
		st, err := cl.Status(ctx, target)
		if err != nil {
			return err
		}
		return enc.Encode(st)
	case "ca":
		return cmdClusterCA(ctx, l, cl, target, fs.Args())
	case "remove":
		if fs.NArg() != 1 {
			return errors.New("usage: daisydog cluster remove --data DIR NODE-ID")
		}
		if err := cl.Remove(ctx, target, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Printf("removed node %q\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("unknown cluster subcommand %q", sub)
}

// memberView is `cluster status --members`: the status and, per member,
// what its binary advertises.
type memberView struct {
	raftcluster.Status
	Members []memberInfo `json:"members"`
}

// memberInfo is one member's answer: the command kinds newer than the
// upgrade baseline it applies (none: an older binary), or why it did not
// answer.
type memberInfo struct {
	ID       string         `json:"id"`
	Address  string         `json:"address"`
	Answered bool           `json:"answered"`
	Commands map[string]int `json:"commands"`
	Error    string         `json:"error,omitempty"`
}

// memberInfos is what --members shows of each member's answer.
func memberInfos(answers []raftcluster.MemberAnswer) []memberInfo {
	out := make([]memberInfo, 0, len(answers))
	for _, a := range answers {
		mi := memberInfo{ID: a.ID, Address: a.Address, Commands: map[string]int{}}
		if a.Err != nil {
			mi.Error = a.Err.Error()
		} else {
			mi.Answered = true
			for k, v := range a.Status.Commands {
				mi.Commands[k] = v
			}
		}
		out = append(out, mi)
	}
	return out
}

func loadIdentity(l node.Layout, nodeID string) (*raftcluster.Identity, error) {
	return node.LoadIdentity(l, nodeID)
}

func cmdBench(args []string) error {
	if len(args) > 0 && args[0] == "compare" {
		return cmdBenchCompare(args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	targets := fs.String("targets", "", "comma-separated base URLs of the nodes, e.g. https://127.0.0.1:8443")
	var cfg bench.Config
	fs.StringVar(&cfg.CAFile, "ca", "", "PEM file of the CA to trust (the cluster's tls/ca.crt)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "do not verify server certificates")
	fs.IntVar(&cfg.Children, "children", bench.DefaultChildren, "children to create")
	fs.IntVar(&cfg.Concurrency, "c", 16, "concurrent clients (closed loop)")
	fs.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "measured duration")
	fs.DurationVar(&cfg.Warmup, "warmup", bench.DefaultWarmup, "warm-up before measuring")
	fs.DurationVar(&cfg.ThinkTime, "think", 0, "pause per client between turns (0 = closed loop)")
	fs.IntVar(&cfg.MaxTurns, "max-turns", 0, "stop after this many measured turns (0 = no limit)")
	mix := fs.String("mix", bench.DefaultMix, "operation weights (chat, feed, trick, game_start, game_move, daisy); \"chat:1\" = chat only")
	fs.BoolVar(&cfg.OpenLoop, "open", false, "open loop: --children independent children, each sending every --think-min..--think-max")
	fs.DurationVar(&cfg.ThinkMin, "think-min", bench.DefaultThinkMin, "open loop: shortest pause between a child's messages")
	fs.DurationVar(&cfg.ThinkMax, "think-max", bench.DefaultThinkMax, "open loop: longest pause between a child's messages")
	fs.StringVar(&cfg.LimitsDir, "limits-dir", "", "measure fsync latency in this directory (the data disk) and loopback RTT, and report results against them")
	metricsTokenFile := fs.String("metrics-token-file", "", "token for the nodes' GET /v1/metrics when not on their machine")
	fs.DurationVar(&cfg.Watch, "watch", 0, "soak: sample the nodes' goroutines, open files, RSS and DB size this often and report their growth")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := bench.ParseMix(*mix)
	if err != nil {
		return err
	}
	cfg.Mix = m
	if *metricsTokenFile != "" {
		b, err := os.ReadFile(*metricsTokenFile)
		if err != nil {
			return err
		}
		cfg.MetricsToken = strings.TrimSpace(string(b))
	}
	for _, t := range strings.Split(*targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Targets = append(cfg.Targets, t)
		}
	}
	if len(cfg.Targets) == 0 {
		return errors.New("--targets is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := bench.Run(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// cmdBenchCompare judges a candidate's results against a baseline's
// (several files a side: the median of each number); it fails when a
// number regressed beyond the tolerance.
func cmdBenchCompare(args []string) error {
	fs := flag.NewFlagSet("bench compare", flag.ExitOnError)
	base := fs.String("base", "", "baseline results file(s) of deploy/bench-local.sh, comma-separated")
	cand := fs.String("new", "", "candidate results file(s), comma-separated")
	tolerance := fs.Float64("tolerance", 0.15, "a number regresses when it is worse by more than this fraction (and its absolute floor)")
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *base == "" || *cand == "" {
		return errors.New("usage: daisydog bench compare --base FILE[,FILE...] --new FILE[,FILE...] [--tolerance 0.15] [--json]")
	}
	b, err := bench.LoadSuites(splitList(*base))
	if err != nil {
		return err
	}
	n, err := bench.LoadSuites(splitList(*cand))
	if err != nil {
		return err
	}
	c, err := bench.Compare(b, n, *tolerance)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(c); err != nil {
			return err
		}
	} else if err := c.WriteText(os.Stdout, suiteLabel(b), suiteLabel(n)); err != nil {
		return err
	}
	if r := c.Regressions(); len(r) > 0 {
		return fmt.Errorf("%d regression(s) beyond %.0f%%", len(r), 100**tolerance)
	}
	return nil
}

// suiteLabel names one side of a comparison: its versions and rounds.
func suiteLabel(s []bench.Suite) string {
	var vs []string
	for _, x := range s {
		if !slices.Contains(vs, x.Version) {
			vs = append(vs, x.Version)
		}
	}
	return fmt.Sprintf("%s (%d round(s))", strings.Join(vs, ", "), len(s))
}

func cmdAudit(args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: daisydog audit verify --data DIR")
	}
	fs := flag.NewFlagSet("audit verify", flag.ExitOnError)
	data := fs.String("data", "", "data directory of a node (it may be running)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := storage.VerifyAuditFile(ctx, node.Layout{Dir: *data}.DBFile())
	if err != nil {
		return fmt.Errorf("audit log FAILED verification after %d entries: %w", n, err)
	}
	fmt.Printf("audit log OK: %d entries, hash chain intact\n", n)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
