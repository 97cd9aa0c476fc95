#!/usr/bin/env bash
# Install the tools bench/run.sh needs, pinned, into a cache. Idempotent.
#
#   scripts/install-bench.sh                 # as root; installs / reuses, then writes bench-env.sh
#   scripts/install-bench.sh policy-controller   # also builds sigstore policy-controller (bench/admission.sh)
#   . "${BERTH_TOOLS:-/var/cache/berth-tools}/bench-env.sh"
#
# What it installs:
#   - from Debian bookworm (apt, skipped when already installed):
#       wrk            HTTP load generator with Lua scripting (W4)
#       nghttp2-client h2load, kept for HTTP/2 experiments (not used by the default table)
#       apache2-utils  htpasswd -B (the bcrypt htpasswd file all three servers share)
#       docker-registry registry:2 2.8.2, /usr/bin/docker-registry (also installed by install-peers.sh)
#       openssl        the throwaway CA and server certificate, and the SHA-256 physical limit
#   - from the Go module proxy, built once into $BERTH_TOOLS/distribution-<version>/registry:
#       github.com/distribution/distribution/v3/cmd/registry at DISTRIBUTION_VERSION
#   - bench/s3limit (bench/s3.sh's physical limit and seeder: aws-sdk-go-v2's feature/s3/manager v1.23.28 and
#     service/s3 v1.116.0, pinned by its go.mod and go.sum), built once per source hash into
#     $BERTH_TOOLS/s3limit-<hash>/s3limit
#   - only when asked (argument policy-controller), built once into
#     $BERTH_TOOLS/policy-controller-<version>/ (the webhook binary and the project's config/ manifests):
#       github.com/sigstore/policy-controller/cmd/webhook at POLICY_CONTROLLER_VERSION, built inside its own
#       module, because its go.mod carries replace directives that a build from another module would ignore
#
# Sources used: Debian apt and the Go module proxy only. bench/s3.sh also needs versitygw (scripts/install-peers.sh).
set -euo pipefail

BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
DISTRIBUTION_VERSION=v3.0.0     # github.com/distribution/distribution/v3, released 2025-04
DISTRIBUTION_MODULE=github.com/distribution/distribution/v3
POLICY_CONTROLLER_VERSION=v0.13.1   # github.com/sigstore/policy-controller, the newest on the Go module proxy
POLICY_CONTROLLER_MODULE=github.com/sigstore/policy-controller
WITH_POLICY_CONTROLLER=0
for arg in "$@"; do
  case "$arg" in
    policy-controller) WITH_POLICY_CONTROLLER=1 ;;
    *) echo "install-bench.sh: unknown argument $arg (policy-controller)" >&2; exit 2 ;;
  esac
done
APT_PACKAGES=(wrk nghttp2-client apache2-utils docker-registry openssl curl)

log() { printf '[install-bench] %s\n' "$*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

install_apt() {
  apt_ensure "${APT_PACKAGES[@]}"
  # The docker-registry package ships a system service; the bench starts private instances only.
  apt_disable_service docker-registry
}

build_distribution() {
  local dir="$BERTH_TOOLS/distribution-$DISTRIBUTION_VERSION" bin
  bin="$dir/registry"
  if [[ -x "$bin" ]]; then
    log "go: distribution $DISTRIBUTION_VERSION present ($bin)"
    printf '%s\n' "$bin"; return
  fi
  command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
  log "go: building distribution $DISTRIBUTION_VERSION (a minute or two the first time)"
  mkdir -p "$BERTH_TOOLS"
  local tmp
  tmp=$(mktemp -d "$BERTH_TOOLS/.build-distribution.XXXXXX")
  trap "rm -rf '$tmp'" EXIT
  (
    cd "$tmp"
    export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=mod"
    printf 'module berthbench\n\ngo 1.23\n\nrequire %s %s\n' "$DISTRIBUTION_MODULE" "$DISTRIBUTION_VERSION" >go.mod
    go build -trimpath -ldflags="-s -w -X $DISTRIBUTION_MODULE/version.version=$DISTRIBUTION_VERSION" \
      -o "$tmp/registry" "$DISTRIBUTION_MODULE/cmd/registry" >&2
  )
  [[ -x "$tmp/registry" ]] || { log "go: distribution build produced no binary"; exit 1; }
  mkdir -p "$dir"
  mv -f "$tmp/registry" "$bin"
  printf '%s\n' "$bin"
}

# bench/s3.sh's direct S3 client, from its own module (pinned by go.sum); rebuilt only when its sources change.
build_s3limit() {
  local src dir hash
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../bench/s3limit" && pwd)"
  hash=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-12)
  dir="$BERTH_TOOLS/s3limit-$hash"
  if [[ -x "$dir/s3limit" ]]; then
    log "go: s3limit present ($dir/s3limit)"
    printf '%s\n' "$dir/s3limit"; return
  fi
  command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
  log "go: building bench/s3limit (aws-sdk-go-v2)"
  mkdir -p "$dir"
  (cd "$src" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o "$dir/s3limit.tmp" . >&2)
  mv -f "$dir/s3limit.tmp" "$dir/s3limit"
  printf '%s\n' "$dir/s3limit"
}

# The admission webhook of sigstore policy-controller and its manifests (CRDs, ConfigMaps). About 3 minutes and
# 1 GiB of module downloads the first time.
build_policy_controller() {
  local dir="$BERTH_TOOLS/policy-controller-$POLICY_CONTROLLER_VERSION"
  if [[ -x "$dir/webhook" && -d "$dir/config" ]]; then
    log "go: policy-controller $POLICY_CONTROLLER_VERSION present ($dir/webhook)"
    return
  fi
  command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
  log "go: building policy-controller $POLICY_CONTROLLER_VERSION (about 3 minutes the first time)"
  local tmp src
  tmp=$(mktemp -d "$BERTH_TOOLS/.build-policy-controller.XXXXXX")
  trap "rm -rf '$tmp'" EXIT
  (
    cd "$tmp"
    export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=mod"
    src=$(go mod download -json "$POLICY_CONTROLLER_MODULE@$POLICY_CONTROLLER_VERSION" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    cp -r "$src" "$tmp/src"
    chmod -R u+w "$tmp/src"
    cd "$tmp/src"
    go build -trimpath -ldflags="-s -w" -o "$tmp/webhook" ./cmd/webhook >&2
  )
  [[ -x "$tmp/webhook" ]] || { log "go: policy-controller build produced no binary"; exit 1; }
  mkdir -p "$dir"
  rm -rf "$dir/config"
  cp -r "$tmp/src/config" "$dir/config"
  mv -f "$tmp/webhook" "$dir/webhook"
}

start=$SECONDS
mkdir -p "$BERTH_TOOLS"
install_apt
DIST_BIN=$(build_distribution)
S3LIMIT_BIN=$(build_s3limit)
((WITH_POLICY_CONTROLLER)) && build_policy_controller
PC_DIR="$BERTH_TOOLS/policy-controller-$POLICY_CONTROLLER_VERSION"
for b in /usr/bin/wrk /usr/bin/htpasswd /usr/bin/docker-registry /usr/bin/openssl; do
  [[ -x $b ]] || { log "missing $b"; exit 1; }
done

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
ENV_FILE="$BERTH_TOOLS/bench-env.sh"
tmp_env=$(mktemp "$BERTH_TOOLS/.bench-env.XXXXXX")
{
  echo "# Generated by scripts/install-bench.sh; do not edit."
  echo "export BENCH_WRK='/usr/bin/wrk'"
  echo "export BENCH_WRK_VERSION='$(pkgver wrk)'"
  echo "export BENCH_H2LOAD='$(command -v h2load || true)'"
  echo "export BENCH_HTPASSWD='/usr/bin/htpasswd'"
  echo "export BENCH_REGISTRY2='/usr/bin/docker-registry'"
  echo "export BENCH_REGISTRY2_VERSION='$(pkgver docker-registry)'"
  echo "export BENCH_DISTRIBUTION='$DIST_BIN'"
  echo "export BENCH_DISTRIBUTION_VERSION='$DISTRIBUTION_VERSION'"
  echo "export BENCH_S3LIMIT='$S3LIMIT_BIN'"
  if [[ -x "$PC_DIR/webhook" ]]; then   # built once by `install-bench.sh policy-controller`
    echo "export BENCH_POLICY_CONTROLLER='$PC_DIR/webhook'"
    echo "export BENCH_POLICY_CONTROLLER_CONFIG='$PC_DIR/config'"
    echo "export BENCH_POLICY_CONTROLLER_VERSION='$POLICY_CONTROLLER_VERSION'"
  fi
} >"$tmp_env"
mv -f "$tmp_env" "$ENV_FILE"
chmod 644 "$ENV_FILE"
log "done in $((SECONDS - start))s; . $ENV_FILE"
