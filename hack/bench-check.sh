#!/usr/bin/env bash
# Measures `volumeguard check` over 1,000 Deployment manifests naming 100
# images in a local CNCF distribution registry, with a counting proxy in front
# of it, as docs/benchmarks.md reports. Loopback only; everything it starts is
# stopped on exit.
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
REG_PORT="$(free_port)"; PROXY_PORT="$(free_port)"
cat > "${work}/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${work}/data}}
http: {addr: 127.0.0.1:${REG_PORT}}
YAML
OTEL_TRACES_EXPORTER=none "${REGISTRY_BIN}" serve "${work}/config.yml" >"${work}/registry.log" 2>&1 & pids+=($!)
go build -o "${work}/countproxy" ./hack/bench/countproxy
go build -o "${work}/fixture-gen" ./hack/bench/fixture
"${work}/countproxy" -listen "127.0.0.1:${PROXY_PORT}" -upstream "http://127.0.0.1:${REG_PORT}" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:${PROXY_PORT}/v2/" >/dev/null 2>&1 && break
  sleep 0.2
done

"${work}/fixture-gen" -registry "127.0.0.1:${PROXY_PORT}" -out "${work}/fixture" >&2
echo "fixture: $(ls "${work}/fixture" | wc -l) manifests" >&2

TIMEFORMAT=%R
for run in $(seq "${RUNS}"); do
  curl -fs -X DELETE "http://127.0.0.1:${PROXY_PORT}/_count" >/dev/null
  set +e
  secs=$( { time bin/volumeguard check -o json "${work}/fixture" >"${work}/report.json" 2>/dev/null; } 2>&1 )
  code=$?
  set -e
  flagged=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len({f["name"] for f in r["findings"]}), len(r["findings"]), len(r["errors"]))' "${work}/report.json")
  counts=$(curl -fs "http://127.0.0.1:${PROXY_PORT}/_count")
  echo "run ${run}: ${secs}s exit=${code} flagged_deployments/findings/errors=${flagged} requests=${counts}"
done
