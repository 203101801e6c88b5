#!/usr/bin/env bash
# Installs volumeguard for the GitHub Action (action.yml): from the release
# archive of VOLUMEGUARD_VERSION, checked against the release's
# checksums.txt, or with `go install` at that version (a branch, a commit, a
# tag without a release). VOLUMEGUARD_INSTALL is auto (the release when it
# exists, else go install), release or go. The binary goes to
# VOLUMEGUARD_BIN_DIR, which is added to GITHUB_PATH.
set -euo pipefail

version="${VOLUMEGUARD_VERSION:-}"
mode="${VOLUMEGUARD_INSTALL:-auto}"
base="${VOLUMEGUARD_RELEASE_URL:-https://github.com/volumeguard/volumeguard/releases/download}"
bin_dir="${VOLUMEGUARD_BIN_DIR:-${RUNNER_TEMP:-/tmp}/volumeguard-bin}"

if [[ -z "$version" ]]; then
  echo "::error title=volumeguard::no version to install: set the action's 'version' input (a release tag such as v1.2.3)" >&2
  exit 1
fi
case "$mode" in
  auto | release | go) ;;
  *) echo "::error title=volumeguard::install must be auto, release or go, not '$mode'" >&2; exit 1 ;;
esac

os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# from_release installs the release archive; it returns 1 when the release
# has no archive for this platform (auto falls back to go install) and
# exits when the archive does not match its checksum (never falls back).
from_release() {
  [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] || return 1
  local archive="volumeguard_${version#v}_${os}_${arch}.tar.gz" tmp
  tmp="$(mktemp -d)"
  curl -fsSL --retry 3 -o "$tmp/checksums.txt" "$base/$version/checksums.txt" || return 1
  curl -fsSL --retry 3 -o "$tmp/$archive" "$base/$version/$archive" || return 1
  local want got
  want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.txt")"
  got="$(sha256 "$tmp/$archive")"
  if [[ -z "$want" || "$got" != "$want" ]]; then
    echo "::error title=volumeguard::$archive does not match the release's checksums.txt (want '${want:-none}', got $got)" >&2
    exit 1
  fi
  tar -xzf "$tmp/$archive" -C "$tmp" volumeguard
  mkdir -p "$bin_dir"
  install -m 0755 "$tmp/volumeguard" "$bin_dir/volumeguard"
  rm -rf "$tmp"
}

from_module() {
  # GOTOOLCHAIN=auto fetches the Go release go.mod asks for when the
  # runner's Go is older.
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" go install "github.com/volumeguard/volumeguard/cmd/volumeguard@$version"
}

case "$mode" in
  release)
    from_release || { echo "::error title=volumeguard::no release archive $version for $os/$arch" >&2; exit 1; } ;;
  go) from_module ;;
  auto) from_release || from_module ;;
esac

if [[ -n "${GITHUB_PATH:-}" ]]; then
  echo "$bin_dir" >>"$GITHUB_PATH"
fi
"$bin_dir/volumeguard" version
