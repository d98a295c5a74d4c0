# DaisyDog Edge — build, run and test. `make run` and `make test` work on a
# fresh checkout: everything they need is built or installed here.
GO      ?= go
# The Go toolchain, fetched once from the module proxy by the go command
# (go.mod requires it): go1.26.8 has ten standard-library vulnerabilities our
# code reaches (net/http, crypto/tls, crypto/x509; `make vulncheck`).
export GOTOOLCHAIN := go1.27.3
BIN     := bin/daisydog
DATA    ?= .daisydog-dev
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
POLICY_SRC := $(shell find policies/default policies/sdk -name '*.go' -o -name '*.json' -o -name '*.txt' 2>/dev/null)

.PHONY: deb vulncheck seccheck e2e-race browser-start bench-ab monitoring policy-bundle cover-all all build policy run test vet fmt-check static-check unit e2e e2e-processes fuzz image bench clean browser

all: build

# The default safety policy: Go source compiled to a WASI module, embedded in the binary.
policy: policies/default.wasm
policies/default.wasm: $(POLICY_SRC)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ ./policies/default

# The default policy as a signed bundle for `daisydog policy push` (named $(POLICY_NAME): "default"
# is reserved for the embedded copy): the module, its test vectors and,
# with POLICY_DATA=DIR, adjustment files (policies/ABI.md "Data"). Signed with POLICY_KEY.key, made on
# first use (a development key: in production keep the signing key offline and trust its .pub).
POLICY_KEY     ?= $(DATA)/policy-signing
POLICY_VERSION ?= $(VERSION)
POLICY_NAME    ?= daisydog-default
POLICY_BUNDLE  ?= bin/$(POLICY_NAME)-$(POLICY_VERSION).ddpb
policy-bundle: build
	@mkdir -p $(dir $(POLICY_KEY)) bin
	@[ -f $(POLICY_KEY).key ] || ./$(BIN) policy keygen --out $(POLICY_KEY)
	./$(BIN) policy bundle --module policies/default.wasm --vectors policies/default/vectors.json \
	  --name $(POLICY_NAME) --version $(POLICY_VERSION) --key $(POLICY_KEY).key $(if $(POLICY_DATA),--data $(POLICY_DATA)) -o $(POLICY_BUNDLE)

# One static binary.
build: policy
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/daisydog

# Start a single working node on 127.0.0.1 (created on first run under $(DATA)).
run: build
	./$(BIN) run --data $(DATA)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# With the static build's settings (CGO_ENABLED=0, -trimpath) vet compiles
# the dependencies exactly as `build` does, so the build that follows reuses
# them (on a clean CI machine: about a minute less). The policy packages'
# WASI-only files are vetted for their own target.
vet: policy
	CGO_ENABLED=0 $(GO) vet -trimpath ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./policies/default/... ./policies/sdk/...

static-check: build
	@ldd $(BIN) 2>&1 | grep -q "not a dynamic executable" || { echo "$(BIN) is not static"; ldd $(BIN); exit 1; }
	@echo "$(BIN): static binary OK"

COVER ?= $(CURDIR)/.cover

# Package tests with the race detector (needs cgo for -race only; the binary stays static).
# Prints each package's statement coverage by its own tests, and the total.
# (Counting across packages with -coverpkg=./... — node's tests exercise
# node/api's handlers — made the node package exceed 15 minutes under -race
# on the 2-core CI machine; `make cover-all` measures it that way.)
# The runs without -race use the static build's settings (CGO_ENABLED=0,
# -trimpath), so they reuse the dependencies vet and build compiled.
# The packages' tests share one compilation cache for the default policy
# (DAISYDOG_TEST_POLICY_CACHE, wasmtest.SharedCacheDir), filled first by the
# WARM_TESTS without -race: compiling it takes ~3 s, ~20-30 s under -race.
#
# SPLIT_COVER: packages whose hot loops make -race with coverage (atomic
# counters under the race detector) many times slower — the rules' tests
# take 187 s that way, 12 s with -race alone and 5 s with coverage alone.
# Their tests run twice: with -race and no coverage, then with coverage
# (atomic, as the -race run writes it) and no -race; the profiles are joined.
# Those two runs go beside the main -race run, not after it: once its
# compiling is done the main run leaves part of the two cores idle.
SPLIT_COVER := daisydog/policies/default/rules daisydog/wasm
# WARM_TESTS run first, without -race: they fill the shared cache with the
# default policy compiled both ways (instrumented, and SafeCompile), so no
# test under -race compiles it (~20 s each there). The cache's own test,
# which must compile into an empty cache, runs only then (-skip below).
WARM_TESTS := TestDefaultPolicyThroughTheCompilationCache|TestDefaultPolicyUnderSafeCompile
# RACE_GCFLAGS: -race also turns on the compiler's checkptr instrumentation
# (unsafe.Pointer rules) in every package. It stays on for ours; SQLite's
# machine-translated C (modernc.org) does pointer arithmetic in nearly every
# statement, and checking it cost ~10% of the node package's CPU under
# -race, for code we neither write nor could fix.
RACE_GCFLAGS := -gcflags='modernc.org/...=-d=checkptr=0'
unit: policy
	@rm -rf $(COVER)/unit.out $(COVER)/unit-split.out $(COVER)/unit-warm.out $(COVER)/policy-cache && mkdir -p $(COVER)/policy-cache
	DAISYDOG_TEST_POLICY_CACHE=$(COVER)/policy-cache CGO_ENABLED=0 $(GO) test -trimpath -count=1 -covermode=atomic -coverprofile=$(COVER)/unit-warm.out -run '^($(WARM_TESTS))$$' ./policies
	@export DAISYDOG_TEST_POLICY_CACHE=$(COVER)/policy-cache; \
	( CGO_ENABLED=1 $(GO) test -race $(RACE_GCFLAGS) -count=1 -timeout 15m $(SPLIT_COVER) && \
	  CGO_ENABLED=0 $(GO) test -trimpath -count=1 -timeout 15m -covermode=atomic -coverprofile=$(COVER)/unit-split.out $(SPLIT_COVER) ) & split=$$!; \
	CGO_ENABLED=1 $(GO) test -race $(RACE_GCFLAGS) -count=1 -timeout 15m -skip '^TestDefaultPolicyThroughTheCompilationCache$$' -coverprofile=$(COVER)/unit.out $$($(GO) list ./... | grep -v /e2e | grep -vxF $(foreach p,$(SPLIT_COVER),-e $(p))); main=$$?; \
	wait $$split; split=$$?; \
	if [ $$main -ne 0 ] || [ $$split -ne 0 ]; then echo "unit tests failed (exit $$main, SPLIT_COVER $$split)"; exit 1; fi
	@tail -n +2 $(COVER)/unit-split.out >> $(COVER)/unit.out
	@tail -n +2 $(COVER)/unit-warm.out >> $(COVER)/unit.out
	@bash deploy/coverage-by-package.sh $(COVER)/unit.out "unit tests"

# Unit coverage counted across packages (a statement counts when any
# package's tests ran it), without the race detector; slow, not in CI.
cover-all: policy
	@mkdir -p $(COVER)
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 30m -coverpkg=./... -coverprofile=$(COVER)/unit-all.out $$($(GO) list ./... | grep -v /e2e)
	@bash deploy/coverage-by-package.sh $(COVER)/unit-all.out "unit tests (across packages)"

# The real-browser tests need Chromium and Firefox, the compose test
# docker-compose: installed when missing
# (deploy/install-test-tools.sh). `make test` starts that in the background
# first (browser-start), so the download overlaps vet and the unit tests;
# `browser` waits for it (the background install holds a lock on
# $(COVER)/browser.lock until it ends), then installs if still missing.
browser-start:
	@mkdir -p $(COVER) && exec 9>$(COVER)/browser.lock && flock 9 && \
	  { sh deploy/install-test-tools.sh > $(COVER)/browser-install.log 2>&1 & }

browser:
	@mkdir -p $(COVER) && flock $(COVER)/browser.lock cat $(COVER)/browser-install.log 2>/dev/null; \
	  rm -f $(COVER)/browser-install.log; sh deploy/install-test-tools.sh

# A Debian package of the binary with the hardened systemd unit
# (deploy/debian; docs/operations.md "Installing the package"): bin/daisydog_VERSION_ARCH.deb.
deb: build
	sh deploy/debian/build-deb.sh $(BIN) $(VERSION) bin

# Multi-process cluster tests against the binary built with coverage
# counters (still static): each node that exits normally leaves its counters
# in $(COVER)/e2e, summarised per package and in total afterwards. Two tests
# run at a time (e2e/main_test.go, parallelTests). The nodes under test are
# separate processes, never race-instrumented; the harness (load client,
# checker, proxies) runs without -race here — on two cores its race
# instrumentation cost CI about a minute of CPU the nodes needed — and
# with it in `make e2e-race`.
e2e: build browser
	@rm -rf $(COVER)/e2e && mkdir -p $(COVER)/e2e
	CGO_ENABLED=0 $(GO) build -cover -coverpkg=./... -trimpath -o bin/daisydog-cover ./cmd/daisydog
	GOCOVERDIR=$(COVER)/e2e DAISYDOG_BIN=$(CURDIR)/bin/daisydog-cover CGO_ENABLED=0 $(GO) test -trimpath -count=1 -parallel 2 -timeout 20m ./e2e/...
	@$(GO) tool covdata percent -i=$(COVER)/e2e | sed 's/^/e2e (integration) /'
	@$(GO) tool covdata textfmt -i=$(COVER)/e2e -o $(COVER)/e2e.out && \
	  $(GO) tool cover -func=$(COVER)/e2e.out | tail -1 | sed 's/^total:[[:space:]]*(statements)[[:space:]]*/e2e (integration) tests, total statement coverage: /'

e2e-race: build browser
	@rm -rf $(COVER)/e2e && mkdir -p $(COVER)/e2e
	CGO_ENABLED=0 $(GO) build -cover -coverpkg=./... -trimpath -o bin/daisydog-cover ./cmd/daisydog
	GOCOVERDIR=$(COVER)/e2e DAISYDOG_BIN=$(CURDIR)/bin/daisydog-cover CGO_ENABLED=1 $(GO) test -race -count=1 -parallel 2 -timeout 30m ./e2e/...

# Each fuzz target briefly (seed corpora also run in `unit`); FUZZTIME=1m for longer runs.
# A run that ends with Go's own "context deadline exceeded" and no failing input (the fuzzing
# coordinator's deadline passing while a worker is busy, on a loaded machine) is run once more;
# a failing input, or the same error twice, fails.
FUZZTIME ?= 5s
FUZZ_TARGETS := ./node/api/reqbody:FuzzDecodeJSON ./node/auth:FuzzVerify ./policies/sdk:FuzzDecodeInputRaw ./policies/sdk:FuzzDecodeInputMatchesEncodingJSON ./policies/default/rules:FuzzEvaluate ./policies:FuzzFastVerdictAgreesWithJSON ./node/companion:FuzzRecordFastAgreesWithJSON
# The process variants of the fault scenarios that CI runs on containers
# (e2e skips them where Docker is available; this runs them anyway).
e2e-processes: build
	E2E_PROCESS_FAULTS=1 DAISYDOG_BIN=$(CURDIR)/bin/daisydog CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m -run '^TestFault' ./e2e/...

fuzz: policy
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/daisydog-fuzz.log 2>&1 && continue; \
	  if grep -q "context deadline exceeded" /tmp/daisydog-fuzz.log && ! grep -q "Failing input written" /tmp/daisydog-fuzz.log; then \
	    echo "fuzz $$pkg $$fn: the fuzzing coordinator's deadline passed (no failing input); running it again"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/daisydog-fuzz.log 2>&1 && continue; \
	  fi; \
	  cat /tmp/daisydog-fuzz.log; exit 1; \
	done

test: browser-start fmt-check vet static-check vulncheck fuzz unit e2e

# Known vulnerabilities our code reaches, in the standard library (of the
# toolchain above) and in every module we require: govulncheck over the
# sources of the server and of the default policy (compiled for wasip1),
# against Go's vulnerability database as of VULNDB_VERSION (the module
# golang.org/x/vulndb from the module proxy; its OSV files indexed here, so
# no other network is needed). A reachable vulnerability fails the build;
# one in a package we import but never call is listed, not fatal. Pinned:
# the same tree gives the same answer; move VULNDB_VERSION forward (newest:
# `go list -m -versions golang.org/x/vulndb` or the proxy's @latest) to
# learn of newer vulnerabilities (docs/operations.md "Vulnerability scan").
GOVULNCHECK_VERSION ?= v1.9.0
VULNDB_VERSION      ?= v0.0.0-20261105234957-e22db6528018
VULNDB              := bin/vulndb-$(VULNDB_VERSION)
vulncheck: $(VULNDB)/index/db.json policy
	GOBIN=$(CURDIR)/bin $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	bin/govulncheck -db file://$(CURDIR)/$(VULNDB) ./...
	GOOS=wasip1 GOARCH=wasm bin/govulncheck -db file://$(CURDIR)/$(VULNDB) ./policies/default/... ./policies/sdk/...
$(VULNDB)/index/db.json:
	@rm -rf $(VULNDB) && mkdir -p bin
	@osv=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')/data/osv && \
	  echo "indexing $$(ls $$osv | wc -l) vulnerability reports of golang.org/x/vulndb@$(VULNDB_VERSION)" && \
	  $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns $$osv -out $(VULNDB)

# Static security analysis with gosec, run by hand (not in `make test`: building gosec alone
# takes about six CPU-minutes, a third of CI's budget). Excluded rules, each for a reason
# (docs/security.md "Static security analysis"): G104 (errors of cleanup on paths that already
# fail), G115 (integer conversions: Go wraps, never corrupts memory; sizes are bounded by the
# body limits), G304/G703 (file paths come from the operator's flags and the node's data
# directory, never from a request), G103 (unsafe: reviewed where used), G404 (math/rand picks
# Daisy's lines, never secrets). Every other finding was reviewed and is either fixed or marked
# `#nosec Gnnn -- why` at its line; a new one fails the target.
GOSEC_VERSION ?= v2.30.0
seccheck:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/securego/gosec/v2/cmd/gosec@$(GOSEC_VERSION)
	@bin/gosec -exclude=G104,G115,G304,G703,G103,G404 -exclude-dir=deploy/wasmrun ./... > bin/gosec.out 2>&1; rc=$$?; \
	  grep -v '^\[gosec\]' bin/gosec.out | tail -n 40; \
	  if grep -q 'Golang errors' bin/gosec.out; then echo "gosec could not load every package (see bin/gosec.out)"; exit 1; fi; \
	  exit $$rc

# The suggested Prometheus alert rules and Grafana dashboard, generated by the binary
# (TestMonitoringMatchesTheMetrics checks the committed files are its output).
monitoring: build
	@mkdir -p deploy/prometheus deploy/grafana
	bin/daisydog monitoring alerts > deploy/prometheus/alerts.yml
	bin/daisydog monitoring dashboard > deploy/grafana/daisydog-dashboard.json

# A FROM-scratch container image holding only the static binary.
IMAGE ?= daisydog:dev
image: build
	@ctx=$$(mktemp -d) && cp $(BIN) deploy/Dockerfile $$ctx/ && docker build -q -t $(IMAGE) $$ctx && rm -rf $$ctx

# The standard benchmark suite against a local three-node cluster (closed loop C=16,64,256; open
# loop 1,000 and 10,000 children); writes bench/results-DATE.json and .md (see docs/operations.md).
bench: build
	./deploy/bench-local.sh

# The candidate (this tree) against the binary of revision BASE on this
# machine, alternating rounds; fails on a regression beyond TOLERANCE
# (deploy/bench-ab.sh; RUNS="c64 c256 open1000" by default).
BASE ?= HEAD~1
bench-ab: build
	@rm -rf $(COVER)/bench-base && git worktree add -f --detach $(COVER)/bench-base $(BASE) >/dev/null
	$(MAKE) -C $(COVER)/bench-base build VERSION=$$(git rev-parse --short $(BASE))
	./deploy/bench-ab.sh $(COVER)/bench-base/bin/daisydog $(RUNS); status=$$?; git worktree remove --force $(COVER)/bench-base; exit $$status

clean:
	rm -rf bin policies/default.wasm .cover
