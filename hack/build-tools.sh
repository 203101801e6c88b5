#!/usr/bin/env bash
# Builds the real test binaries used by the end-to-end and integration tests
# from the Go module proxy, and caches them OUTSIDE the repository so that every
# clone on the same machine reuses them:
#
#   kube-apiserver  k8s.io/kubernetes                      (hack/tools/kube-apiserver)
#   etcd            go.etcd.io/etcd/server/v3              (hack/tools/etcd)
#   registry        github.com/distribution/distribution/v3 (hack/tools/registry)
#   helm            helm.sh/helm/v3                        (hack/tools/helm)
#   goreleaser      github.com/goreleaser/goreleaser/v2    (hack/tools/goreleaser; release only)
#
# Versions come from the go.mod of each tools module; to bump one, edit that
# go.mod (and go mod tidy). Layout of the cache:
#
#   $VOLUMEGUARD_TOOLS_DIR                      default: ${XDG_CACHE_HOME:-$HOME/.cache}/volumeguard/tools
#     kube-apiserver-<version>/kube-apiserver
#     etcd-<version>/etcd
#     registry-<version>/registry
#     helm-<version>/helm
#     goreleaser-<version>/goreleaser           not linked below: no test uses it
#     bin-k8s-<v>-etcd-<v>-registry-<v>-helm-<v>/  stable directory of relative symlinks to
#       kube-apiserver etcd registry helm          the above (envtest BinaryAssetsDirectory)
#
# A binary that already exists for its version is never rebuilt (set
# VOLUMEGUARD_TOOLS_REBUILD=1 to force). Concurrent invocations are serialised
# per binary with flock(1) when it is available.
#
# Usage:
#   hack/build-tools.sh                 build all; print the envtest dir, the registry and the helm binary paths
#   hack/build-tools.sh envtest-dir     build kube-apiserver + etcd; print only the envtest assets dir
#   hack/build-tools.sh registry-bin    build registry; print only the registry binary path
#   hack/build-tools.sh helm-bin        build helm; print only the helm binary path
#   hack/build-tools.sh goreleaser-bin  build goreleaser (not part of "all"); print its path
#
# Only those paths go to stdout; all progress goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TOOLS_SRC="${ROOT}/hack/tools"
TOOLS_DIR="${VOLUMEGUARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/volumeguard/tools}"

log() { echo "build-tools: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '/^# Usage:/,/^# Only those/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# module_version <tools module dir> <module path>: the version required in its go.mod.
module_version() {
  local gomod="$1/go.mod" mod="$2" v
  [[ -f "${gomod}" ]] || die "missing ${gomod}"
  v="$(awk -v m="${mod}" '
    /=>/ { next }                                   # skip replace directives
    { for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }
  ' "${gomod}")"
  [[ -n "${v}" ]] || die "cannot find ${mod} version in ${gomod}"
  printf '%s\n' "${v}"
}

command -v go >/dev/null 2>&1 || die "go not found in PATH"

K8S_VERSION="$(module_version "${TOOLS_SRC}/kube-apiserver" k8s.io/kubernetes)"
ETCD_VERSION="$(module_version "${TOOLS_SRC}/etcd" go.etcd.io/etcd/server/v3)"
REGISTRY_VERSION="$(module_version "${TOOLS_SRC}/registry" github.com/distribution/distribution/v3)"
HELM_VERSION="$(module_version "${TOOLS_SRC}/helm" helm.sh/helm/v3)"
GORELEASER_VERSION="$(module_version "${TOOLS_SRC}/goreleaser" github.com/goreleaser/goreleaser/v2)"

# Stable for a given set of versions; never repointed to other versions, so
# clones at different commits cannot pull binaries out from under each other.
BIN_DIR="${TOOLS_DIR}/bin-k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-registry-${REGISTRY_VERSION}-helm-${HELM_VERSION}"

# build_binary <name> <version> <package> [ldflags...]
# Builds <package> inside hack/tools/<name> into $TOOLS_DIR/<name>-<version>/<name>
# unless it is already there.
build_binary() {
  local name="$1" version="$2" pkg="$3"
  shift 3
  local ldflags="-s -w${*:+ $*}"
  local src="${TOOLS_SRC}/${name}"
  local dir="${TOOLS_DIR}/${name}-${version}"
  local out="${dir}/${name}"

  mkdir -p "${dir}"

  if [[ -x "${out}" && "${VOLUMEGUARD_TOOLS_REBUILD:-}" != 1 ]]; then
    log "${name} ${version}: cached at ${out}"
  else
    # Serialise concurrent builders of the same binary (e.g. parallel test
    # packages each calling this script), then re-check under the lock.
    local have_lock=0 lock_fd
    if command -v flock >/dev/null 2>&1; then
      exec {lock_fd}>"${dir}/.lock"
      flock "${lock_fd}"
      have_lock=1
    fi
    if [[ -x "${out}" && "${VOLUMEGUARD_TOOLS_REBUILD:-}" != 1 ]]; then
      log "${name} ${version}: built concurrently, cached at ${out}"
    else
      local tmp="${dir}/.${name}.tmp.$$"
      local start=${SECONDS}
      log "${name} ${version}: building ${pkg} (module ${src#"${ROOT}"/}) ..."
      # GOWORK=off: a go.work above the tools module must not capture it.
      # -buildvcs=false: don't stamp (or fail on) the repo's git state; this
      # also keeps working when GOFLAGS already contains -buildvcs=false.
      if ! GOWORK=off CGO_ENABLED=0 go -C "${src}" build \
          -trimpath -buildvcs=false -ldflags="${ldflags}" -o "${tmp}" "${pkg}" >&2; then
        rm -f "${tmp}"
        die "building ${name} ${version} failed"
      fi
      mv -f "${tmp}" "${out}"
      log "${name} ${version}: built in $((SECONDS - start))s -> ${out}"
    fi
    if [[ "${have_lock}" == 1 ]]; then
      exec {lock_fd}>&-
    fi
  fi
}

# build_tool <name> <version> <package> [ldflags...]
# build_binary, then links the binary into $BIN_DIR.
build_tool() {
  local name="$1" version="$2"
  build_binary "$@"
  mkdir -p "${BIN_DIR}"
  # Relative symlink, replaced atomically (ln to a temp name, then rename).
  local target="../${name}-${version}/${name}" link="${BIN_DIR}/${name}"
  if [[ "$(readlink "${link}" 2>/dev/null || true)" != "${target}" ]]; then
    ln -sfn "${target}" "${link}.tmp.$$"
    mv -Tf "${link}.tmp.$$" "${link}"
  fi
}

build_kube_apiserver() {
  local major minor rest
  rest="${K8S_VERSION#v}"
  major="${rest%%.*}"
  rest="${rest#*.}"
  minor="${rest%%.*}"
  # Without these the binary reports v0.0.0-master+$Format:%H$.
  build_tool kube-apiserver "${K8S_VERSION}" . \
    "-X k8s.io/component-base/version.gitVersion=${K8S_VERSION}" \
    "-X k8s.io/component-base/version.gitMajor=${major}" \
    "-X k8s.io/component-base/version.gitMinor=${minor}" \
    "-X k8s.io/component-base/version.gitTreeState=clean"
}

build_etcd() {
  build_tool etcd "${ETCD_VERSION}" .
}

build_registry() {
  # The default is "<version>+unknown".
  build_tool registry "${REGISTRY_VERSION}" github.com/distribution/distribution/v3/cmd/registry \
    "-X github.com/distribution/distribution/v3/version.version=${REGISTRY_VERSION}"
}

build_helm() {
  # As helm's Makefile: its version, and the Kubernetes version that
  # `helm template` and `helm lint` assume (Capabilities.KubeVersion; else
  # v1.20, below the chart's kubeVersion): that of the client-go it is built
  # with.
  local k8s minor
  k8s="$(module_version "${TOOLS_SRC}/helm" k8s.io/client-go)" # v0.MINOR.PATCH
  minor="${k8s#v0.}"
  minor="${minor%%.*}"
  build_tool helm "${HELM_VERSION}" helm.sh/helm/v3/cmd/helm \
    "-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
    "-X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
    "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1" \
    "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${minor}" \
    "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1" \
    "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${minor}"
}

# GoReleaser is for release engineering only (make release-check,
# release-snapshot), not the tests: it is not part of "all" (its first build
# takes about 10 minutes) nor linked into $BIN_DIR.
build_goreleaser() {
  build_binary goreleaser "${GORELEASER_VERSION}" github.com/goreleaser/goreleaser/v2 \
    "-X main.version=${GORELEASER_VERSION#v}" "-X main.builtBy=volumeguard-build-tools"
}

case "${1:-all}" in
  envtest-dir)
    [[ $# -le 1 ]] || { usage; exit 2; }
    build_kube_apiserver
    build_etcd
    printf '%s\n' "${BIN_DIR}"
    ;;
  registry-bin)
    [[ $# -le 1 ]] || { usage; exit 2; }
    build_registry
    printf '%s\n' "${BIN_DIR}/registry"
    ;;
  helm-bin)
    [[ $# -le 1 ]] || { usage; exit 2; }
    build_helm
    printf '%s\n' "${BIN_DIR}/helm"
    ;;
  goreleaser-bin)
    [[ $# -le 1 ]] || { usage; exit 2; }
    build_goreleaser
    printf '%s\n' "${TOOLS_DIR}/goreleaser-${GORELEASER_VERSION}/goreleaser"
    ;;
  all)
    [[ $# -le 1 ]] || { usage; exit 2; }
    build_kube_apiserver
    build_etcd
    build_registry
    build_helm
    printf '%s\n' "${BIN_DIR}" "${BIN_DIR}/registry" "${BIN_DIR}/helm"
    ;;
  -h | --help | help)
    usage
    ;;
  *)
    usage
    exit 2
    ;;
esac
