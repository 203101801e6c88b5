#!/usr/bin/env bash
# Installs the container runtime the runtime tests drive (test/runtime,
# internal/crirun): Debian's containerd (1.6) and runc packages. Idempotent
# and quiet: nothing happens, and nothing is printed, when the binaries are
# already there. Needs root and apt-get; without them it says so and leaves
# the decision to the tests (they skip, or fail when
# VOLUMEGUARD_REQUIRE_TOOLS=1).
#
# The packages' own service is not used: the tests start a private containerd
# with its own root, state, socket and config.
set -euo pipefail

log() { echo "install-runtime: $*" >&2; }

have_all() {
  local bin
  for bin in containerd containerd-shim-runc-v2 runc; do
    command -v "${bin}" >/dev/null 2>&1 || return 1
  done
}

have_all && exit 0

if [[ "$(id -u)" != 0 ]]; then
  log "not root: cannot install containerd and runc; the runtime tests will skip (or fail with VOLUMEGUARD_REQUIRE_TOOLS=1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get: install containerd 1.6 and runc by hand for the runtime tests"
  exit 0
fi

out="$(mktemp)"
trap 'rm -f "${out}"' EXIT
install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd runc >"${out}" 2>&1
}
# The package lists may be missing or stale on a fresh machine: update only
# when a first try fails.
if ! install; then
  if ! apt-get update -qq >"${out}" 2>&1 || ! install; then
    log "apt-get failed:"
    cat "${out}" >&2
    exit 1
  fi
fi
have_all || { log "containerd, containerd-shim-runc-v2 or runc still missing after the install"; exit 1; }
log "installed $(containerd --version | awk '{print $1, $3}'), $(runc --version | head -1)"
