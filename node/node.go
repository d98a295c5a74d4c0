package node

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"daisydog/node/api"
	"daisydog/node/auth"
	"daisydog/node/companion"
	"daisydog/node/llm"
	"daisydog/node/mail"
	"daisydog/policies"
	"daisydog/raftcluster"
	"daisydog/storage"
	"daisydog/wasm"
)

// Config tunes a node. Everything about its identity comes from the data directory.
type Config struct {
	DataDir string
	Logger  *slog.Logger
	Now     func() time.Time

	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	Argon2            auth.Argon2Params
	// PolicyCacheDir is wazero's on-disk compilation cache (default: the
	// data directory's cache/wasm). Tests share one across nodes so each
	// policy version compiles once per run, not once per node.
	PolicyCacheDir string
	// NoPolicyWarm leaves policy instance pools to fill on demand instead
	// of in the background (tests that start many nodes; see
	// policies.Engine.KeepWarm).
	NoPolicyWarm bool
	// PolicyModule replaces the embedded default policy (tests, operators).
	PolicyModule []byte
	// AuthPerMinute/AuthBurst limit unauthenticated requests per client IP
	// (0 = defaults, negative = off; see api.Deps).
	AuthPerMinute, AuthBurst int
	// CORSOrigins are browser origins allowed to call the API cross-origin.
	CORSOrigins []string
	// AdminNets, when set, are the only client networks that may reach the
	// staff routes (administrators and moderators).
	AdminNets []netip.Prefix
	// RedirectAddr, if set, serves plain HTTP there that only redirects to HTTPS.
	RedirectAddr string
	// ShadowReportEvery is how often a node replicates its shadow-run counts
	// so every node shows cluster-wide totals (default 10s).
	ShadowReportEvery time.Duration
	// KeyRotation is how often the leader adds a new token-signing key
	// (default 7 days). Old keys stay until every token they signed expired.
	KeyRotation time.Duration
	// RaftLog receives the Raft library's own warnings (default stderr).
	RaftLog io.Writer
	// OnFatal overrides the default (exit) when the state machine fails.
	OnFatal func(error)
	// QueryTimeout bounds each storage read (0 = storage.DefaultQueryTimeout);
	// SlowQuery is the slow-query log threshold (0 = storage.DefaultSlowQuery, <0 = off).
	QueryTimeout, SlowQuery time.Duration
	// MetricsToken, if set, lets non-loopback clients read GET /v1/metrics
	// with "Authorization: Bearer <token>".
	MetricsToken string
	// DiskReserve is the free space (bytes) below which the node refuses
	// writes with 507 (default DefaultDiskReserve).
	DiskReserve uint64
	// Mail delivers verification and password-reset e-mails (SMTP in
	// production). If nil, MailOutbox is used; if that is empty too, no
	// e-mail is sent (a warning at start).
	Mail mail.Sender
	// MailOutbox is the development outbox file (JSON lines, mode 0600). It
	// holds addresses and live tokens in clear: development only ('daisydog
	// run' puts it in DATA/outbox/mail.jsonl).
	MailOutbox string
	// MailLinkBase, if set, makes e-mails carry links (see api.AccountDeps).
	MailLinkBase string
	// ClusterLimits are the cluster-wide per-client limits (zero = defaults;
	// none when AuthPerMinute < 0 and these are zero).
	ClusterLimits api.RateLimits
	// AI configures the optional model provider (nil: built-in engine only).
	AI *llm.Config
	// Retention is how long each data class is kept (zero: no time limits;
	// `daisydog` passes api.DefaultRetention unless told otherwise). The
	// leader enforces it (retention.go) and GET /v1/privacy publishes it.
	Retention api.Retention
	// AlertEvery is how often the leader delivers parent alerts from the
	// replicated outbox (alertjob.go; 0: every second; negative: never in
	// the background — tests call DeliverAlerts).
	AlertEvery time.Duration
	// MailEvery is how often the leader sends the e-mails in the
	// replicated outbox (mailjob.go; 0: every 250 ms; negative: never in
	// the background — tests call DeliverMail). A leader without a mail
	// sender drops them once they expire.
	MailEvery time.Duration
	// RetentionEvery is how often the leader runs the retention job
	// (default 1h; negative: never in the background, only RunRetention).
	// RetentionChunk bounds the rows one retention command deletes
	// (default 5000, at most storage.MaxRetentionLimit).
	RetentionEvery time.Duration
	RetentionChunk int
	// Backups: scheduled backups of this node's database (backupjob.go);
	// off without a directory.
	Backups BackupSchedule
	// Archive: the log archive for point-in-time recovery (archive.go);
	// off without a directory.
	Archive ArchiveConfig
	// CertCheckEvery is how often the node checks whether its TLS
	// certificate is due for renewal (certs.go; default 12h).
	CertCheckEvery time.Duration
	// commands are the kinds newer than the upgrade baseline this node
	// advertises (nil: storage.NewerKinds(); tests stand in for an older
	// binary with an empty map).
	commands map[string]int
}

// Node is a running DaisyDog server.
type Node struct {
	cfg         Config
	layout      Layout
	nf          NodeFile
	log         *slog.Logger
	identity    *raftcluster.Identity
	certMu      sync.Mutex // one issuance of the node certificate at a time (renewal, CA rotation)
	keyring     *storage.Keyring
	db          *storage.DB
	vault       *storage.Vault
	api         *api.Server
	runtime     *wasm.Runtime
	policy      *policies.Engine // the embedded default (fallback, initial active policy)
	pol         *policyRuntime   // the policy lifecycle (node/policy.go)
	cluster     *raftcluster.Cluster
	tokens      *auth.Tokens
	newestKeyAt atomic.Int64 // creation time (ms) of the newest signing key
	machine     *machine
	metrics     *api.Metrics
	disk        *diskGuard
	// alertSender sends parent alerts from the outbox (alertjob.go); nil
	// without mail.
	alertSender mail.Sender
	http        *http.Server
	httpLn      net.Listener
	redirect    *http.Server
	mailQueue   *mail.Queue
	outbox      string // the development outbox file, "" with a real sender

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Start opens everything in the data directory and starts serving.
func Start(ctx context.Context, cfg Config) (n *Node, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyRotation == 0 {
		cfg.KeyRotation = 7 * 24 * time.Hour
	}
	if cfg.Argon2.Time == 0 {
		cfg.Argon2 = auth.DefaultArgon2
	}
	if err := cfg.Retention.Validate(); err != nil {
		return nil, err
	}
	if cfg.RetentionEvery == 0 {
		cfg.RetentionEvery = defaultRetentionEvery
	}
	if err := cfg.Archive.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Backups.Validate(); err != nil {
		return nil, err
	}
	if cfg.commands == nil {
		cfg.commands = storage.NewerKinds()
	}
	if cfg.RetentionChunk == 0 {
		cfg.RetentionChunk = defaultRetentionChunk
	}
	if cfg.RetentionChunk < 0 || cfg.RetentionChunk > storage.MaxRetentionLimit {
		return nil, fmt.Errorf("retention chunk %d is not between 1 and %d", cfg.RetentionChunk, storage.MaxRetentionLimit)
	}
	l := Layout{Dir: cfg.DataDir}
	nf, err := l.ReadNode()
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	n = &Node{cfg: cfg, layout: l, nf: nf, log: cfg.Logger.With("node", nf.NodeID), cancel: cancel}
	defer func() {
		if err != nil {
			n.Close(context.Background())
		}
	}()

	if err := finishCertInstall(l); err != nil {
		return n, fmt.Errorf("completing the node certificate's renewal: %w", err)
	}
	caPEM, err1 := os.ReadFile(l.CACert())
	certPEM, err2 := os.ReadFile(l.NodeCert())
	keyPEM, err3 := os.ReadFile(l.NodeKey())
	if err := errors.Join(err1, err2, err3); err != nil {
		return n, fmt.Errorf("reading TLS files: %w", err)
	}
	if n.identity, err = raftcluster.LoadIdentity(nf.NodeID, caPEM, certPEM, keyPEM); err != nil {
		return n, err
	}
	if _, err := n.renewCertificateIfDue(cfg.Now()); err != nil {
		// Not fatal: the certificate may still be valid for months;
		// certRenewLoop tries again and the expiry is exported.
		n.log.Error("node certificate renewal failed", "err", err)
	}
	kek, err := l.ReadClusterKey()
	if err != nil {
		return n, err
	}
	if n.keyring, err = storage.NewKeyring(kek); err != nil {
		return n, err
	}
	if n.db, err = storage.Open(ctx, l.DBFile()); err != nil {
		return n, err
	}
	n.vault = storage.NewVault(n.keyring, n.db)
	n.metrics = api.NewMetrics()
	n.recordCertExpiry()
	n.db.Instrument(storage.Instrumentation{QueryTimeout: cfg.QueryTimeout, SlowQuery: cfg.SlowQuery,
		Logger: n.log.With("component", "storage"), Observe: n.metrics.ObserveStorage})

	cacheDir := cfg.PolicyCacheDir
	if cacheDir == "" {
		cacheDir = l.CacheDir()
	}
	if n.runtime, err = wasm.NewRuntime(ctx, wasm.Config{CacheDir: cacheDir}); err != nil {
		return n, fmt.Errorf("policy runtime: %w", err)
	}
	if cfg.PolicyModule != nil {
		n.policy, err = policies.NewEngine(ctx, n.runtime, "custom", "custom", cfg.PolicyModule)
	} else {
		n.policy, err = policies.NewDefaultEngine(ctx, n.runtime)
	}
	if err != nil {
		return n, fmt.Errorf("policy: %w", err)
	}
	if !cfg.NoPolicyWarm {
		n.policy.KeepWarm()
	}

	n.pol = newPolicyRuntime(bg, cfg.Logger, n.runtime, n.db, nf.NodeID, n.policy, cfg.Now)
	n.pol.warm = !cfg.NoPolicyWarm
	if applied, err := n.db.AppliedIndex(ctx); err == nil {
		n.pol.sync(ctx, applied) // the active policy as of the stored state
	}
	n.machine = &machine{db: n.db, vault: n.vault, keysChanged: make(chan struct{}, 1), caChanged: make(chan struct{}, 1),
		policyChanged: n.pol.sync, metrics: n.metrics, stop: bg.Done(), log: n.log}
	// The TLS identity at the recorded CA rotation's step, before the
	// node talks to its peers (carotation.go).
	if err := n.reconcileCA(ctx); err != nil {
		return n, err
	}
	if cfg.Archive.Dir != "" {
		id, err := archiveID(ctx, n.db, n.identity.CurrentCA())
		if err != nil {
			return n, err
		}
		a, err := openArchive(cfg.Archive, id, nf.NodeID, n.keyring.ArchiveKey(), n.log)
		if err != nil {
			return n, err
		}
		n.machine.archive = a
		n.wg.Add(1)
		go func() { defer n.wg.Done(); a.run(bg, cfg.Now) }()
	}
	n.cluster, err = raftcluster.Start(ctx, raftcluster.Config{
		NodeID: nf.NodeID, Bind: nf.RaftAddr, Advertise: nf.AdvertiseRaft, Dir: l.RaftDir(),
		Identity: n.identity, SnapshotKey: n.keyring.SnapshotKey(), Machine: n.machine, Logger: cfg.Logger,
		Bootstrap: nf.Bootstrap, SnapshotThreshold: cfg.SnapshotThreshold, SnapshotInterval: cfg.SnapshotInterval,
		TrailingLogs: cfg.TrailingLogs, OnFatal: cfg.OnFatal, RaftLog: cfg.RaftLog,
		Commands: cfg.commands, Gated: storage.MustWaitForMembers(storage.NewerKinds()),
	})
	if err != nil {
		return n, err
	}

	n.pol.report = func(ctx context.Context, r storage.ReportPolicy) error {
		_, _, err := policyAdmin{n}.apply(ctx, &r)
		return err
	}
	n.pol.reportShadow = func(ctx context.Context, r storage.ReportShadow) error {
		_, _, err := policyAdmin{n}.apply(ctx, &r)
		return err
	}
	close(n.pol.clusterUp)
	every := cfg.ShadowReportEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.pol.reportShadowEvery(bg, every) }()

	n.tokens = auth.NewTokens(cfg.Now)
	if err := n.reloadKeys(ctx); err != nil {
		return n, err
	}
	var mailer api.Mailer
	sender := cfg.Mail
	if sender == nil && cfg.MailOutbox != "" {
		ob := mail.NewOutbox(cfg.MailOutbox, cfg.Now)
		n.outbox, sender = ob.Path(), ob
		n.log.Warn("e-mails go to the development outbox file, never use it in production", "outbox", n.outbox)
	}
	n.alertSender = sender
	if sender != nil {
		n.mailQueue = mail.NewQueue(sender, 256, n.log)
		mailer = n.mailQueue
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.mailQueue.Run(bg) }()
	} else {
		n.log.Warn("no mail sender configured: verification and password-reset e-mails are not sent")
	}
	var ai api.AIProvider
	if cfg.AI != nil {
		c, err := llm.New(*cfg.AI)
		if err != nil {
			return n, err
		}
		ai = c
		n.log.Info("optional AI provider configured", "provider", cfg.AI.String())
	}
	handler := api.New(api.Deps{
		DB: n.db, Vault: n.vault, Repl: n.cluster, Policy: func() api.Evaluator { return n.pol.current() }, PolicyAdmin: policyAdmin{n},
		Companion: companion.New(), Tokens: n.tokens, Hasher: auth.NewHasher(cfg.Argon2), Now: cfg.Now,
		Logger: cfg.Logger, Ready: n.ready, Join: n.joinHandler,
		AuthPerMinute: cfg.AuthPerMinute, AuthBurst: cfg.AuthBurst, CORSOrigins: cfg.CORSOrigins,
		AdminNets: cfg.AdminNets, AI: ai,
		Metrics: n.metrics, MetricsToken: cfg.MetricsToken,
		AccountDeps: api.AccountDeps{Mail: mailer, MailLinkBase: cfg.MailLinkBase, ClusterLimits: cfg.ClusterLimits},
		Retention:   cfg.Retention,
	})
	n.api = handler
	if n.httpLn, err = net.Listen("tcp", nf.HTTPAddr); err != nil {
		return n, fmt.Errorf("listen %s: %w", nf.HTTPAddr, err)
	}
	n.disk = newDiskGuard(cfg.DataDir, cfg.DiskReserve, n.log)
	n.disk.report = n.metrics.Disk.Set
	n.http = &http.Server{
		Handler:           n.disk.Wrap(handler),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: n.identity.GetCertificate},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.http.ServeTLS(n.httpLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("https server stopped", "err", err)
		}
	}()
	if cfg.RedirectAddr != "" {
		if err := n.startRedirect(cfg.RedirectAddr); err != nil {
			return n, err
		}
	}
	if !nf.Joined {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.completeJoin(bg) }()
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.certRenewLoop(bg, cmp.Or(cfg.CertCheckEvery, certCheckEvery)) }()
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.manageKeys(bg) }()
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.manageCA(bg) }()
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.trustInitialKeys(bg) }()
	if cfg.RetentionEvery > 0 {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.retentionLoop(bg) }()
	}
	if cfg.Backups.Dir != "" {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.backupLoop(bg, cfg.Backups.Every) }()
	}
	if cfg.MailEvery >= 0 {
		every := cmp.Or(cfg.MailEvery, defaultMailEvery)
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.mailLoop(bg, every) }()
	}
	if cfg.AlertEvery >= 0 && n.alertSender != nil {
		every := cmp.Or(cfg.AlertEvery, defaultAlertEvery)
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.alertLoop(bg, every) }()
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.disk.watch(bg, 250*time.Millisecond, 10*time.Second, n.leaveLeadership, n.diskCandidacy)
	}()
	n.log.Info("node started", "https", "https://"+n.httpLn.Addr().String(), "cluster", nf.AdvertiseRaft)
	return n, nil
}

// leaveLeadership hands leadership to another node when this one leads
// with a nearly full disk: a leader that cannot append to its log would
// step down on its own, but only after failing writes, and it could win
// the next election again.
func (n *Node) leaveLeadership() {
	if !n.cluster.IsLeader() {
		return
	}
	n.log.Warn("data disk nearly full: handing leadership to another node")
	if err := n.cluster.TransferLeadership(); err != nil {
		n.log.Warn("leadership transfer failed", "err", err)
	}
}

// diskCandidacy keeps a node whose disk is nearly full out of elections
// (it could not append the first entry of its own term) and lets it
// campaign again once space returns.
func (n *Node) diskCandidacy(low bool) {
	if err := n.cluster.SetCandidacy(!low); err != nil {
		n.log.Warn("could not change election candidacy", "disk_low", low, "err", err)
	}
}

// HTTPAddr is the address the API listens on.
func (n *Node) HTTPAddr() string { return n.httpLn.Addr().String() }

// MailOutbox is the development outbox file e-mails go to ("" when a real
// sender is configured).
func (n *Node) MailOutbox() string { return n.outbox }

// Cluster returns the Raft node.
func (n *Node) Cluster() *raftcluster.Cluster { return n.cluster }

// DB returns the node's database (tests and tools).
func (n *Node) DB() *storage.DB { return n.db }

// ready reports whether this node can serve requests.
func (n *Node) ready(ctx context.Context) error {
	if addr, _ := n.cluster.Leader(); addr == "" {
		return errors.New("no cluster leader")
	}
	if !n.tokens.Ready() {
		return errors.New("token keys not loaded")
	}
	if err := n.db.Ping(ctx); err != nil {
		return errors.New("storage not answering")
	}
	if n.disk.Low() {
		return errors.New("data disk nearly full")
	}
	if n.pol != nil {
		if err := n.pol.loaded(); err != nil {
			return err
		}
	}
	return nil
}

// reloadKeys installs the replicated signing keys.
func (n *Node) reloadKeys(ctx context.Context) error {
	stored, err := n.db.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(stored) > 0 {
		n.newestKeyAt.Store(stored[0].CreatedAt)
	}
	keys := make([]auth.Key, 0, len(stored))
	for _, k := range stored {
		priv, err := n.keyring.OpenSecret("signing-key:"+k.Kid, k.PrivateSealed)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k.Kid, err)
		}
		keys = append(keys, auth.Key{ID: k.Kid, Private: ed25519.PrivateKey(priv), Public: ed25519.PublicKey(k.PublicKey)})
	}
	n.tokens.SetKeys(keys)
	return nil
}

// manageKeys makes sure a signing key exists (the leader creates the first)
// and reloads keys whenever replicated ones change.
func (n *Node) manageKeys(ctx context.Context) {
	catalogSeeded := false
	for {
		// Taken before the leadership check, so a change after it is not
		// missed: the new leader creates the first key at once, not after
		// the next tick (a fresh cluster is not ready without one).
		changed := n.cluster.LeaderChange()
		if n.cluster.IsLeader() {
			if err := n.rotateKeys(ctx); err != nil {
				n.log.Warn("signing key rotation failed; will retry", "err", err)
			}
			if !catalogSeeded {
				if err := n.seedCatalog(ctx); err != nil {
					n.log.Warn("seeding the default catalogue failed; will retry", "err", err)
				} else {
					catalogSeeded = true
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-n.machine.keysChanged:
			if err := n.reloadKeys(ctx); err != nil {
				n.log.Error("reloading signing keys failed", "err", err)
			}
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}

// seedCatalog (leader only) stores the default catalogue on a cluster's
// first start; the command is a no-op once seeded.
func (n *Node) seedCatalog(ctx context.Context) error {
	st, err := n.db.Catalog(ctx)
	if err != nil || st.Seeded {
		return err
	}
	c, err := api.SeedCatalogCommand(n.cfg.Now().UnixMilli())
	if err != nil {
		return err
	}
	cmd, err := storage.Encode(c)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = n.cluster.Apply(actx, cmd)
	return err
}

// rotateKeys (leader only) creates the first signing key, adds a new one every
// KeyRotation, and retires keys no unexpired token can have been signed with.
func (n *Node) rotateKeys(ctx context.Context) error {
	now := n.cfg.Now()
	newest := time.UnixMilli(n.newestKeyAt.Load())
	if !n.tokens.Ready() || now.Sub(newest) >= n.cfg.KeyRotation {
		return n.createSigningKey(ctx)
	}
	// A key stops signing when the next one appears (at most KeyRotation
	// after its creation); its tokens live at most the longest token TTL.
	horizon := now.Add(-(n.cfg.KeyRotation + auth.ChildTokenTTL + time.Hour))
	stored, err := n.db.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(stored) > 1 && stored[len(stored)-1].CreatedAt < horizon.UnixMilli() {
		cmd, err := storage.Encode(&storage.RetireSigningKeys{Before: horizon.UnixMilli(), Now: now.UnixMilli()})
		if err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = n.cluster.Apply(actx, cmd)
		return err
	}
	return nil
}

func (n *Node) createSigningKey(ctx context.Context) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	kid := randomHex(8)
	sealed, err := n.keyring.SealSecret("signing-key:"+kid, priv)
	if err != nil {
		return err
	}
	cmd, err := storage.Encode(&storage.PutSigningKey{Kid: kid, PublicKey: pub, PrivateSealed: sealed, CreatedAt: n.cfg.Now().UnixMilli()})
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := n.cluster.Apply(actx, cmd)
	if err != nil {
		return err
	}
	if err := n.cluster.WaitApplied(actx, resp.Index); err != nil {
		return err
	}
	return n.reloadKeys(ctx)
}

// Close stops serving: HTTP first (in-flight requests finish), then Raft
// (handing leadership over), then the policy runtime and storage.
func (n *Node) Close(ctx context.Context) error {
	var errs []error
	n.once.Do(func() {
		if n.redirect != nil {
			errs = append(errs, n.redirect.Close())
		}
		if n.http != nil {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			errs = append(errs, n.http.Shutdown(sctx))
			cancel()
		}
		n.cancel()
		if n.cluster != nil {
			errs = append(errs, n.cluster.Close(true))
		}
		n.wg.Wait()
		if n.machine != nil && n.machine.archive != nil {
			errs = append(errs, n.machine.archive.close())
		}
		if n.pol != nil {
			errs = append(errs, n.pol.close(ctx))
		}
		if n.policy != nil {
			errs = append(errs, n.policy.Close(ctx))
		}
		if n.runtime != nil {
			errs = append(errs, n.runtime.Close(ctx))
		}
		if n.db != nil {
			errs = append(errs, n.db.Close())
		}
	})
	return errors.Join(errs...)
}

// startRedirect serves plain HTTP on addr that answers every request with a
// permanent redirect to the same path over HTTPS (never any content).
func (n *Node) startRedirect(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	n.redirect = &http.Server{
		Handler:           redirectHandler(n.nf.AdvertiseHTTP),
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.redirect.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Warn("redirect server stopped", "err", err)
		}
	}()
	return nil
}

// redirectHandler answers every request with a permanent redirect to the
// same path and query on https://target. The target's host is always
// target: a request line that is not an absolute path ("GET http:@evil.com",
// whose URI would read as a user name before another host) gets 400.
func redirectHandler(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.EscapedPath()
		if r.URL.Opaque != "" || r.URL.Host != "" || !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		// #nosec G710 -- the host is the node's configured HTTPS address; only an absolute path and query are the client's
		http.Redirect(w, r, "https://"+target+path, http.StatusPermanentRedirect)
	})
}

// RedirectAddr is the plain-HTTP redirect listener's address ("" if none).
func (n *Node) RedirectAddr() string { return n.cfg.RedirectAddr }

// BootstrapToken is the one-time credential that creates the first
// administrator through this node's API (see `daisydog admin create`).
func (n *Node) BootstrapToken() string { return api.BootstrapToken(n.keyring) }

// BootstrapTokenFor computes the bootstrap credential from a data
// directory's cluster key (for `daisydog admin create` on a server).
func BootstrapTokenFor(l Layout) (string, error) {
	kek, err := l.ReadClusterKey()
	if err != nil {
		return "", err
	}
	k, err := storage.NewKeyring(kek)
	if err != nil {
		return "", err
	}
	return api.BootstrapToken(k), nil
}

// Routes lists the API's endpoints and the roles each admits.
func (n *Node) Routes() []api.Route { return n.api.Routes() }
