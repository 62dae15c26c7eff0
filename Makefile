# daprshop — targets a newcomer can guess. `make run` and `make test` set everything up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# Waits for dpkg's lock when another apt-get holds it (a second setup, a developer's install).
APT_INSTALL := apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq
# Every local package (tools/daprshop/packages.py reads the same globs): a new service
# folder with a pyproject.toml is installed without an edit here.
PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard libs/*/pyproject.toml services/*/pyproject.toml))
# The Go code: one module at the root (go.mod; tools/dapr is a module of its own, not in it).
GO ?= go
GO_MISSING := go is missing: install Go >= 1.24 (https://go.dev/dl; Debian bookworm's golang-go is too old)
# Every Go file of the repository but the git-ignored .venv and .run.
GO_FILES = $(shell find . -name '*.go' -not -path './.*' 2>/dev/null)

.PHONY: help setup go-apps contracts runtime engine standins redis java nginx run status audit breaker balance down verify deploy-check loadtest compare mesh-cost shipping-cost capacity chaos test test-go test-unit test-integration test-e2e fuzz lint format clean k8s-cluster k8s-down test-k8s k8s-packages

help:
	@echo "make run    - set up, start the whole stack on 127.0.0.1, print where to look"
	@echo "make status - each process of make run's stack: state, pid, restarts, last exit"
	@echo "make down   - stop a stack started by make run"
	@echo "make test   - set up, go vet + go test, then unit, integration and e2e tests on real sidecars"
	@echo "make test-go - go vet ./... and go test -v ./... (the Go services and contracts)"
	@echo "make audit  - replay the security probes on make run's stack; every one must be refused"
	@echo "make verify - check invariants (stock, money, shipments, all ended) on make run's stack"
	@echo "make breaker - fail payments, watch orders' circuit breaker open and close (Dapr's metrics)"
	@echo "make run REPLICAS=inventory=2, then make balance APP=inventory - calls spread per instance"
	@echo "make loadtest MODE=hybrid RATE=20 DURATION=60s - locust on a fresh stack, then verify"
	@echo "make compare  - the same load on each mode; writes docs/benchmarks/<date>-<machine>.md"
	@echo "make compare SECURITY=both - the cost of mTLS, access control and tokens, side by side"
	@echo "make shipping-cost - shipping in Go against the Python version it replaced: CPU/step, RSS"
	@echo "make mesh-cost - one call direct / through two sidecars / with mTLS, and sagas, side by side"
	@echo "make capacity MODE=... - step the offered rate up; highest rate with p99 < 1 s"
	@echo "make chaos  - each fault x each mode under load; writes docs/reliability/<date>-<machine>.md"
	@echo "make deploy-check - validate Dockerfiles, docker-compose.yml and k8s overlays (no engine needed)"
	@echo "make fuzz   - schemathesis on every app's OpenAPI, FUZZ_EXAMPLES=50 per operation; no 5xx allowed"
	@echo "make contracts - rewrite libs/contracts/data (JSON Schemas, saga.json) from the pydantic models"
	@echo "make lint   - ruff + mypy + import-linter (the layer rules) + gofmt"
	@echo "make runtime- find or build daprd/placement/scheduler (cached in ~/.cache/daprshop)"
	@echo "make engine - install/start a Docker engine, build Compose v2 if missing (cached too)"
	@echo "make standins - build local daprshop-standin/... images for third-party ones (no registry)"
	@echo "make k8s-cluster - (root; sets sysctls) a single-node Kubernetes from Go modules; k8s-down stops it"
	@echo "make test-k8s - (root) daprshop on that cluster with Dapr's Helm chart: e2e tests, then torn down"

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PACKAGES)) requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "daprshop needs Python 3.11, found " + sys.version.split()[0]'
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "==> installing Python dependencies into $(VENV)"
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[dev]' $(addprefix -e ,$(PACKAGES)) -c requirements.lock
	@touch $@

redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing redis-server (apt-get)"; \
	    $(APT_INSTALL) redis-server >/dev/null; \
	  else echo "redis-server is missing: install it (Debian/Ubuntu: sudo apt-get install redis-server)"; exit 1; fi; }

# Zipkin (the trace backend of make run and of the tracing test) runs on the host's Java.
java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing default-jre-headless (apt-get), for Zipkin"; \
	    $(APT_INSTALL) default-jre-headless >/dev/null; \
	  else echo "java is missing, Zipkin needs Java >= 17: install it (Debian/Ubuntu: sudo apt-get install default-jre-headless)"; exit 1; fi; }

# The edge's front (tools/daprshop/front.py): each stack runs its own nginx, on 127.0.0.1.
nginx:
	@PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing nginx-light (apt-get) for the edge; daprshop runs its own nginx per stack, not Debian's service"; \
	    $(APT_INSTALL) nginx-light >/dev/null; \
	  else echo "nginx is missing (the edge's front): install it (Debian/Ubuntu: sudo apt-get install nginx-light)"; exit 1; fi; }

runtime: $(STAMP)
	@$(BIN)/daprshop runtime

engine: $(STAMP)
	@$(BIN)/daprshop engine

standins: engine runtime
	@$(BIN)/daprshop standins

# The apps written in Go (tools/daprshop/launch.py), built into .run/bin for dapr.yaml;
# make run and the test stacks build them again into their own workdir (cached by Go: ~1 s).
go-apps: $(STAMP)
	@$(BIN)/daprshop build-apps

setup: $(STAMP) redis java nginx runtime go-apps
	@$(BIN)/daprshop deploycheck --prepare

# REPLICAS=inventory=2,payments=2: more instances of a participant (or DAPRSHOP_REPLICAS).
run: setup
	@$(BIN)/daprshop run $(if $(REPLICAS),--replicas $(REPLICAS))

status:
	@$(BIN)/daprshop status

audit:
	@$(BIN)/daprshop audit

down:
	@$(BIN)/daprshop down

# On make run's stack when one is up, else on a stack of its own; BREAKER_MODE=hybrid too.
BREAKER_MODE ?= orchestration

breaker: setup
	@$(BIN)/daprshop breaker --mode $(BREAKER_MODE)

# On make run's stack: APP's /healthz through orders' sidecar, counted per instance. CALLS
# (default 40 here) is only passed on when given: mesh-cost's default is not this one's.
APP ?= inventory

balance: $(STAMP)
	@$(BIN)/daprshop balance --app $(APP) $(if $(filter command line environment,$(origin CALLS)),--calls $(CALLS))

MODE ?= choreography
USERS ?= 20
RATE ?= 20
DURATION ?= 60s
PUBLISH_VIA ?= direct

loadtest: setup
	$(BIN)/python -m loadtests.run loadtest --mode $(MODE) --users $(USERS) --rate $(RATE) --duration $(DURATION) --publish-via $(PUBLISH_VIA)

SECURITY ?= on

compare: setup
	$(BIN)/python -m loadtests.compare --users $(USERS) --rate $(RATE) --duration $(DURATION) --publish-via $(PUBLISH_VIA) --security $(SECURITY)

CALLS ?= 5000

shipping-cost: setup
	$(BIN)/python -m loadtests.shippingcost --rounds $(or $(ROUNDS),10) --orders $(or $(ORDERS),200)

mesh-cost: setup
	$(BIN)/python -m loadtests.meshcost --calls $(CALLS) --rate $(RATE) --duration $(DURATION)

STEP ?= 30s
MAX_RATE ?= 200

capacity: setup
	$(BIN)/python -m loadtests.run capacity --mode $(MODE) --publish-via $(PUBLISH_VIA) --step $(STEP) --max-rate $(MAX_RATE)

# One fault at a time (kill -9 of each process, a Redis restart, duplicated and reordered
# deliveries, latency) in each mode under load; FAULTS=redis,latency or MODES=hybrid narrows it.
CHAOS_RATE ?= 4
CHAOS_DURATION ?= 24s
CHAOS_DOWN ?= 0
FAULTS ?=
MODES ?= choreography,orchestration,hybrid

chaos: setup
	$(BIN)/python -m loadtests.chaos --rate $(CHAOS_RATE) --duration $(CHAOS_DURATION) --down $(CHAOS_DOWN) --modes $(MODES) --faults "$(FAULTS)"

deploy-check: $(STAMP)
	@$(BIN)/daprshop deploycheck

# The single-node cluster's Debian parts (tools/daprshop/clusterup.py DEBIAN).
K8S_PACKAGES := etcd-server containerd runc containernetworking-plugins iptables conntrack

k8s-packages:
	@missing=$$(for p in $(K8S_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing" $$missing "(apt-get), for the single-node Kubernetes"; \
	    $(APT_INSTALL) $$missing >/dev/null; \
	  else echo "missing for make k8s-cluster: sudo apt-get install" $$missing; exit 1; fi; fi

# Opt-in: it needs root and changes kernel settings (restored by k8s-down).
k8s-cluster: $(STAMP) k8s-packages
	@$(BIN)/daprshop cluster up

k8s-down: $(STAMP)
	@$(BIN)/daprshop cluster down

# Opt-in (root; sets sysctls, restored at the end): a single-node Kubernetes built here, Dapr's
# Helm chart, the local overlay, then the e2e tests through port-forwards (tests/k8s).
test-k8s: setup k8s-packages
	$(BIN)/pytest tests/k8s $(PYTEST_ARGS)

verify: $(STAMP)
	@$(BIN)/daprshop verify $(VERIFY_ARGS)

# Go first: a vet or test failure stops make before pytest. -v: each test in the log.
test-go:
	@command -v $(GO) >/dev/null || { echo "$(GO_MISSING)"; exit 1; }
	$(GO) vet ./...
	$(GO) test -v ./...

test: setup test-go
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-e2e: setup
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

FUZZ_EXAMPLES ?= 50

fuzz: setup
	DAPRSHOP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/e2e/test_fuzz.py -s $(PYTEST_ARGS)

# The contracts as data for services in other languages (a unit test fails when stale).
contracts: $(STAMP)
	$(BIN)/python -m daprshop.contractdata

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@command -v gofmt >/dev/null || { echo "$(GO_MISSING)"; exit 1; }
	@unformatted="$$($(if $(GO_FILES),gofmt -l $(GO_FILES)))"; if [ -n "$$unformatted" ]; then \
	  echo "not gofmt-formatted (make format, or gofmt -w):"; echo "$$unformatted"; exit 1; fi
	@echo "gofmt -l: $(words $(GO_FILES)) Go files formatted"

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(if $(GO_FILES),gofmt -w $(GO_FILES))

clean:
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache
