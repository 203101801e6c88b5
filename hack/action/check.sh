#!/usr/bin/env bash
# Runs `volumeguard check` for the GitHub Action (action.yml): annotations
# and the step summary (-o github), and the SARIF log in VOLUMEGUARD_SARIF_FILE
# when set. VOLUMEGUARD_PATHS and VOLUMEGUARD_ARGS are split on whitespace.
# The exit code is check's (0 clean, 1 findings, 2 not evaluated), or 0 when
# VOLUMEGUARD_FAIL is false; GITHUB_OUTPUT gets exit-code and sarif-file.
set -uo pipefail

read -r -a paths <<<"${VOLUMEGUARD_PATHS:-}"
read -r -a args <<<"${VOLUMEGUARD_ARGS:-}"
sarif="${VOLUMEGUARD_SARIF_FILE:-}"
bin="${VOLUMEGUARD_BIN:-volumeguard}"

if [[ ${#paths[@]} -eq 0 ]]; then
  echo "::error title=volumeguard::no paths to check: set the action's 'paths' input" >&2
  exit 2
fi

# One run writes the annotations and the SARIF log (--output-file), so
# that they cannot disagree. A volumeguard older than --output-file (the
# action's version input) gets a run of its own for the log, first: its
# exit code is the same run's, the annotations' run below decides.
out_args=()
if [[ -n "$sarif" ]]; then
  if "$bin" check --help 2>/dev/null | grep -q -e '--output-file'; then
    out_args=(--output-file "sarif=$sarif")
  else
    "$bin" check -o sarif ${args[@]+"${args[@]}"} -- "${paths[@]}" >"$sarif" 2>/dev/null
  fi
fi
"$bin" check -o github ${out_args[@]+"${out_args[@]}"} ${args[@]+"${args[@]}"} -- "${paths[@]}"
code=$?

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    echo "exit-code=$code"
    echo "sarif-file=$sarif"
  } >>"$GITHUB_OUTPUT"
fi
if [[ "${VOLUMEGUARD_FAIL:-true}" == "false" ]]; then
  exit 0
fi
exit "$code"
