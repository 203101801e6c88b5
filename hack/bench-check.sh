#!/usr/bin/env bash
# Measures `volumeguard check` over 1,000 Deployment manifests naming 100
# images in a local CNCF distribution registry, as docs/benchmarks.md
# reports: each run times a cold cache (an empty --cache-dir), a warm one
# and, with VOLUMEGUARD_KYVERNO_BIN, Kyverno's CLI on the same fixture.
# Requests are counted by the registry itself (its Prometheus metrics), so
# that nothing stands between the clients and the registry: a proxy in the
# way costs each request the same, and so charges a client that makes its
# requests one after another (Kyverno) more than one that overlaps them.
# Loopback only; everything it starts is stopped on exit.
#   hack/bench-check.sh [RUNS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
RUNS="${1:-5}"
REGISTRY_BIN="$(hack/build-tools.sh registry-bin)"
[[ -x bin/volumeguard ]] || make build >&2

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "${work}"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REG_PORT="$(free_port)"; PROXY_PORT="$(free_port)"; DEBUG_PORT="$(free_port)"
cat > "${work}/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${work}/data}, cache: {blobdescriptor: inmemory}}
http: {addr: 127.0.0.1:${REG_PORT}, debug: {addr: 127.0.0.1:${DEBUG_PORT}, prometheus: {enabled: true}}}
YAML
OTEL_TRACES_EXPORTER=none "${REGISTRY_BIN}" serve "${work}/config.yml" >"${work}/registry.log" 2>&1 & pids+=($!)
REG_PID=$!
# registry_cpu: the registry's CPU time so far, in clock ticks. On loopback
# the registry shares the cores with the client measured: its CPU per run
# says how much of the run is the registry's own work.
registry_cpu() { awk '{print $14 + $15}' "/proc/${REG_PID}/stat"; }
TICKS="$(getconf CLK_TCK)"
# registry_requests: the requests the registry has answered so far.
registry_requests() {
  curl -fs "http://127.0.0.1:${DEBUG_PORT}/metrics" |
    awk '/^registry_http_requests_total[{ ]/ {n += $NF} END {printf "%d", n}'
}
go build -o "${work}/countproxy" ./hack/bench/countproxy
go build -o "${work}/fixture-gen" ./hack/bench/fixture
"${work}/countproxy" -listen "127.0.0.1:${PROXY_PORT}" -upstream "http://127.0.0.1:${REG_PORT}" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:${REG_PORT}/v2/" >/dev/null 2>&1 &&
    curl -fs "http://127.0.0.1:${PROXY_PORT}/v2/" >/dev/null 2>&1 && break
  sleep 0.2
done

"${work}/fixture-gen" -registry "127.0.0.1:${REG_PORT}" -out "${work}/fixture" >&2
echo "fixture: $(ls "${work}/fixture" | wc -l) manifests" >&2
# VOLUMEGUARD_BENCH_RTT (e.g. 10ms): the manifests name the registry
# through the proxy, which delays every request that long first, as for a
# registry across a network; by default they name the registry itself on
# loopback, where its own CPU is the cost.
if [[ -n "${VOLUMEGUARD_BENCH_RTT:-}" ]]; then
  curl -fs -X PUT "http://127.0.0.1:${PROXY_PORT}/_rtt?d=${VOLUMEGUARD_BENCH_RTT}" >/dev/null
  sed -i "s/127\.0\.0\.1:${REG_PORT}\//127.0.0.1:${PROXY_PORT}\//" "${work}"/fixture/*.yaml
  echo "registry round trip: ${VOLUMEGUARD_BENCH_RTT}" >&2
fi

TIMEFORMAT=%R
# check_run LABEL ARGS...: one fresh `check` process, timed, its requests
# counted by the registry.
check_run() {
  local label="$1"; shift
  local req0; req0="$(registry_requests)"
  local cpu0; cpu0="$(registry_cpu)"
  set +e
  secs=$( { time bin/volumeguard check -o json "$@" "${work}/fixture" >"${work}/report.json" 2>/dev/null; } 2>&1 )
  code=$?
  set -e
  local regcpu; regcpu="$(awk -v a="${cpu0}" -v b="$(registry_cpu)" -v t="${TICKS}" 'BEGIN {printf "%.2f", (b - a) / t}')"
  flagged=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len({f["name"] for f in r["findings"]}), len(r["findings"]), len(r["errors"]))' "${work}/report.json")
  counts=$(( $(registry_requests) - req0 ))
  echo "${label}: ${secs}s exit=${code} flagged_deployments/findings/errors=${flagged} requests=${counts} registry_cpu=${regcpu}s"
}
# The persistent cache (--cache-dir): cold runs get an empty one each,
# warm runs share one that a first run filled.
check_run "warm-up" --cache-dir "${work}/warm" >/dev/null
for run in $(seq "${RUNS}"); do
  check_run "run ${run}" --cache-dir "${work}/cold-${run}"
  check_run "warm ${run}" --cache-dir "${work}/warm"
  # The peer, in the same run: Kyverno's CLI with its sample policy
  # block-images-with-volumes and --registry (VOLUMEGUARD_KYVERNO_BIN).
  if [[ -n "${VOLUMEGUARD_KYVERNO_BIN:-}" ]]; then
    req0="$(registry_requests)"
    cpu0="$(registry_cpu)"
    set +e
    secs=$( { time "${VOLUMEGUARD_KYVERNO_BIN}" apply hack/bench/kyverno/block-images-with-volumes.yaml \
      --resource "${work}/fixture" --registry >"${work}/kyverno.txt" 2>&1; } 2>&1 )
    code=$?
    set -e
    counts=$(( $(registry_requests) - req0 ))
    summary=$(grep -E 'pass: [0-9]+, fail: [0-9]+' "${work}/kyverno.txt" | tail -1)
    regcpu="$(awk -v a="${cpu0}" -v b="$(registry_cpu)" -v t="${TICKS}" 'BEGIN {printf "%.2f", (b - a) / t}')"
    echo "kyverno ${run}: ${secs}s exit=${code} ${summary} requests=${counts} registry_cpu=${regcpu}s"
  fi
done
