# volumeguard: `make demo` shows the main job end to end, `make test` runs every test.
GO      ?= go
BIN     ?= bin/volumeguard
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Commit and its time, as GoReleaser stamps them: the Go toolchain's own VCS
# stamp is absent under GOFLAGS=-buildvcs=false, and `version` said unknown.
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

# The real kube-apiserver, etcd, CNCF registry and helm, built once from the
# Go module proxy and cached outside the repository (hack/build-tools.sh).
TOOLS_ENV = KUBEBUILDER_ASSETS="$$(hack/build-tools.sh envtest-dir)" \
            VOLUMEGUARD_REGISTRY_BIN="$$(hack/build-tools.sh registry-bin)" \
            VOLUMEGUARD_HELM_BIN="$$(hack/build-tools.sh helm-bin)"

.PHONY: build test unit e2e lint tools demo bench bench-check bench-webhook bench-cold bench-memory bench-audit bench-content \
        fuzz fuzz-content fuzz-manifests soak chaos chart-lint release-check release-snapshot clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/volumeguard

# Every test: unit, integration (real registry), end-to-end (real
# kube-apiserver) and runtime (real containerd and runc, as root:
# hack/install-runtime.sh). VOLUMEGUARD_REQUIRE_TOOLS turns a missing binary
# into a failure instead of a skip.
test: tools
	$(TOOLS_ENV) VOLUMEGUARD_REQUIRE_TOOLS=1 $(GO) test -race -count=1 ./...

# Fast tests only: no real kube-apiserver or registry binaries.
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

# Only the end-to-end tests against a real kube-apiserver.
e2e: tools
	$(TOOLS_ENV) VOLUMEGUARD_REQUIRE_TOOLS=1 $(GO) test -count=1 -v ./test/e2e/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

tools:
	hack/build-tools.sh >/dev/null

# The main job end to end, offline: a real kube-apiserver and etcd, a local
# registry and `volumeguard serve`; applies examples/ in namespaces of mode
# audit, mutate and enforce and prints what happened (hack/demo). The first
# run builds kube-apiserver and etcd (a few minutes); then it takes seconds.
# build-tools.sh's "cached at" lines are left out, its progress is not.
demo: build
	@$(GO) build -o bin/demo ./hack/demo
	@assets=$$( { hack/build-tools.sh envtest-dir 2>&1 1>&3 | { grep -v ': cached at ' || true; } >&2; } 3>&1 ) && \
	  test -n "$$assets" || { echo "demo: building kube-apiserver and etcd failed (see above)" >&2; exit 1; }; \
	  KUBEBUILDER_ASSETS="$$assets" bin/demo -volumeguard $(BIN)

# docs/benchmarks.md: `check` over 1,000 Deployments naming 100 images.
bench-check: build tools
	hack/bench-check.sh

# docs/benchmarks.md: the real server over TLS against a do-nothing webhook.
# VOLUMEGUARD_LOAD_DURATION (10s) and VOLUMEGUARD_LOAD_CONCURRENCY (2,8,32) tune it.
bench-webhook: tools
	$(TOOLS_ENV) VOLUMEGUARD_LOAD=1 $(GO) test -count=1 -v -timeout 30m -run TestLoad ./test/e2e/ | grep -v '^[=-][=-][=-] '

# docs/benchmarks.md: cold lookups of a new tag behind a proxy adding
# 20 ms per round trip (VOLUMEGUARD_BENCH_RTT): single-platform, index, bearer.
bench-cold:
	VOLUMEGUARD_BENCH_COLD=1 $(GO) test -count=1 -v -run TestColdAdmission ./test/bench/cold/ | grep -v '^[=-][=-][=-] '

# docs/benchmarks.md: RSS and goroutines of serve with 10,000 distinct images
# cached, over 100,000 admissions (VOLUMEGUARD_BENCH_IMAGES, _ADMISSIONS).
bench-memory: tools
	$(TOOLS_ENV) VOLUMEGUARD_BENCH_MEMORY=1 $(GO) test -count=1 -v -timeout 30m -run TestMemory ./test/bench/memory/ | grep -v '^[=-][=-][=-] '

# docs/benchmarks.md: audit -A over 10,000 pods in 1,000 workloads on the
# real kube-apiserver: wall time, RSS, API requests.
bench-audit: tools
	$(TOOLS_ENV) VOLUMEGUARD_BENCH_AUDIT=1 $(GO) test -count=1 -v -timeout 30m -run TestAuditScale ./test/bench/auditscale/ | grep -v '^[=-][=-][=-] '

# Every benchmark of docs/benchmarks.md in turn, then one table of their
# figures, each with the command that measures it (hack/bench.sh).
bench: build tools
	hack/bench.sh

# Scanning a generated 200 MiB image's layers for what it ships under a
# VOLUME path, cold and with its base layers cached (for docs/benchmarks.md).
bench-content:
	$(GO) test -run '^$$' -bench BenchmarkScan200MiB -benchtime 3x -benchmem ./imageinspect/volumecontent/
	$(GO) test -run '^$$' -bench BenchmarkAdmissionColdPopulatedImage -benchtime 5x ./webhook/

# Every fuzz target in turn, FUZZTIME each: a duration (2m) or a count of
# executions (1000000x, what docs/reliability.md records). A small
# -fuzzminimizetime keeps the count from stalling on minimization
# (golang/go#48820). FUZZPARALLEL workers (default: one per core).
FUZZTIME ?= 2m
FUZZPARALLEL ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_TARGETS = \
	webhook:FuzzAdmissionReview \
	imageinspect:FuzzParseManifest \
	imageinspect:FuzzParseConfig \
	imageinspect:FuzzCountElements \
	workload:FuzzDecode \
	workload:FuzzTreeValueMatchesKubectl \
	policy:FuzzQuotePathRoundTrip \
	policy:FuzzFixYAMLRoundTrip \
	imageinspect/volumecontent:FuzzScanLayer \
	imageinspect/volumecontent:FuzzScanAgainstModel \
	manifestedit:FuzzEdit
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ./$$pkg/ ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s -parallel=$(FUZZPARALLEL) ./$$pkg/; \
	done

# docs/reliability.md: 100,000 pod admissions through a real kube-apiserver
# to the built `serve`, every mode, slow and failing registries in the mix.
# VOLUMEGUARD_SOAK_ADMISSIONS (100000) and VOLUMEGUARD_SOAK_CONCURRENCY (32)
# tune it.
soak: tools
	$(TOOLS_ENV) VOLUMEGUARD_SOAK=1 $(GO) test -count=1 -v -timeout 2h -run TestSoak ./test/soak/

# docs/reliability.md: two `serve` replicas behind a balancer and a real
# kube-apiserver; replicas killed and stopped under load, the registry
# killed mid-burst, the API server restarted.
chaos: tools
	$(TOOLS_ENV) VOLUMEGUARD_CHAOS=1 $(GO) test -count=1 -v -timeout 30m ./test/chaos/

# Fuzz the layer scanner only: raw streams, then layer programs against a
# model. FUZZTIME (2m) each.
fuzz-content:
	$(GO) test -run '^$$' -fuzz '^FuzzScanLayer$$' -fuzztime $(FUZZTIME) ./imageinspect/volumecontent/
	$(GO) test -run '^$$' -fuzz '^FuzzScanAgainstModel$$' -fuzztime $(FUZZTIME) ./imageinspect/volumecontent/

# Fuzz manifest reading (with positions) and in-place editing, FUZZTIME each.
fuzz-manifests:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./workload/
	$(GO) test -run '^$$' -fuzz '^FuzzEdit$$' -fuzztime $(FUZZTIME) ./manifestedit/

# charts/volumeguard as `helm lint --strict` sees it (test/chart runs it too,
# with every group of values).
chart-lint:
	"$$(hack/build-tools.sh helm-bin)" lint --strict charts/volumeguard

# .goreleaser.yaml is valid for the GoReleaser of hack/tools/goreleaser
# (built once, about 10 minutes; not part of `make tools`).
release-check:
	VOLUMEGUARD_GORELEASER_BIN="$$(hack/build-tools.sh goreleaser-bin)" \
	  $(GO) test -count=1 -run '^TestGoreleaserCheck$$' ./test/release/

# What a release of the current commit ships, into bin/dist: binaries for
# linux and darwin, amd64 and arm64, archives, checksums and the krew
# manifest, then checked (test/release). No SBOM (needs syft), image (needs
# Docker with buildx) or upload: .goreleaser.yaml says what they need.
release-snapshot:
	"$$(hack/build-tools.sh goreleaser-bin)" release --snapshot --clean --skip=docker,sbom
	VOLUMEGUARD_RELEASE_DIST=bin/dist $(GO) test -count=1 -run '^TestSnapshot$$' ./test/release/

clean:
	rm -rf bin
