#!/usr/bin/env bash
# Runs every benchmark of docs/benchmarks.md (make bench) and prints one
# table of their figures, each with the command that measures it. The
# outputs stay in BENCH_OUT (a temporary directory by default). Nothing
# here passes or fails on a figure: the machine is shared and noisy.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-$(mktemp -d -t volumeguard-bench.XXXXXX)}
mkdir -p "$out"

declare -A cmds=(
  [webhook]="VOLUMEGUARD_LOAD_CONCURRENCY=2 VOLUMEGUARD_LOAD_DURATION=10s make bench-webhook"
  [cold]="make bench-cold"
  [memory]="make bench-memory"
  [audit]="make bench-audit"
  [check]="hack/bench-check.sh 3"
)
for name in webhook cold memory audit check; do
  echo "== ${name}: ${cmds[$name]} (output: ${out}/${name}.txt)" >&2
  env ${cmds[$name]} >"${out}/${name}.txt" 2>&1 || echo "   ${name} failed: see ${out}/${name}.txt" >&2
done

row() { printf '| %s | %s | %s | `%s` |\n' "$1" "$2" "$3" "$4"; }
echo
echo "| measure | figure | goal | command |"
echo "| --- | --- | --- | --- |"
# loadgen: "volumeguard 2 <rps> <p50> <p90> <p99> ... (volumeguard/noop throughput 0.89x)", one block per load.
awk '/^\/mutate/ {load = ($0 ~ /no VOLUME/) ? "clean" : "mutated"}
     $1 == "noop" && /throughput/ {match($0, /[0-9.]+x/); ratio = substr($0, RSTART, RLENGTH)}
     $1 == "volumeguard" {p99[load] = $6; c[load] = $2}
     $1 == "noop" && /throughput/ {printf "%s\t%s\t%s\t%s\n", load, c[load], ratio, p99[load]}' "${out}/webhook.txt" |
while IFS=$'\t' read -r load c ratio p99; do
  row "serve, ${load} pods, c=${c}: throughput vs do-nothing webhook; p99" "${ratio}; ${p99} ms" ">= 0.8x; <= 2 ms" "${cmds[webhook]}"
done
awk '$1 ~ /^\(/ && NF >= 8 {name = $1; for (i = 2; $(i) !~ /^[0-9.]+$/; i++) name = name " " $(i);
     printf "%s\t%s\t%s\t%s\t%s\n", name, $(i+2), $(i+3), $(i+1), $(i+5)}' "${out}/cold.txt" |
while IFS=$'\t' read -r name min p50 goal reqs; do
  row "cold lookup ${name}: min / p50 latency, requests" "${min} / ${p50} ms, ${reqs}" "<= ${goal} ms" "${cmds[cold]}"
done
awk '/^each image once/ {cold = $(NF-2)} /^again/ {last = $(NF-2); g = $(NF-1); if (!first) first = $(NF-2); r = $NF}
     END {if (cold) printf "%s\t%s\t%s\t%s\n", cold, first, last, g}' "${out}/memory.txt" |
while IFS=$'\t' read -r cold first last g; do
  row "serve RSS with 10,000 images cached: after the first pass; over 100,000 admissions" "${cold} MiB; ${first} -> ${last} MiB, ${g} goroutines" "<= 100 MiB, flat" "${cmds[memory]}"
done
awk -F'  +' '/^every owner readable|^ReplicaSets forbidden/ {print}' "${out}/audit.txt" |
while IFS= read -r line; do
  name=$(echo "$line" | awk -F'  +' '{print $1}')
  figs=$(echo "$line" | awk '{for (i = 1; i <= NF; i++) if ($(i) ~ /^[0-9.]+$/) {print $(i) " s wall, " $(i+1) " MiB RSS"; exit}}')
  reqs=$(echo "$line" | sed 's/.*  //')
  row "audit -A, 10,000 pods, ${name}" "${figs}; ${reqs}" "bounded requests" "${cmds[audit]}"
done
# check: cold and warm of run 1, and Kyverno's CLI in the same run when
# VOLUMEGUARD_KYVERNO_BIN is set (docs/benchmarks.md: 25x cold, 100x warm).
for kind in run warm kyverno; do
  grep "^${kind} 1: " "${out}/check.txt" | head -1 | while IFS= read -r line; do
    row "check, 1,000 Deployments, 100 images: ${kind} 1" "${line#"${kind} 1: "}" "25x cold, 100x warm vs kyverno" "${cmds[check]}"
  done
done
