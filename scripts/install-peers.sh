#!/usr/bin/env bash
# Install every real peer program Berth's test suite talks to, pinned, into a cache.
#
#   scripts/install-peers.sh            # installs / reuses, then writes $BERTH_TOOLS/env.sh
#   source "${BERTH_TOOLS:-/var/cache/berth-tools}/env.sh"
#
# Idempotent: apt is skipped when every package is already installed; each Go
# tool is built once into $BERTH_TOOLS/<name>-<version>/ and reused after that
# (bumping a version below builds it anew). Go's module/build caches are left at
# their defaults so rebuilds are cached too.
#
# Sources used: Debian bookworm apt and the Go module proxy only.
set -euo pipefail

BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"

# ---------------------------------------------------------------- pins -----
# Debian bookworm packages (versions are whatever bookworm ships; recorded in env.sh).
APT_PACKAGES=(
  docker.io          # dockerd + docker CLI (20.10.x)
  podman             # 4.3.x
  crun               # OCI runtime for podman (podman needs crun|runc)
  runc               # OCI runtime for dockerd/containerd
  skopeo             # 1.9.x
  containerd         # containerd + ctr (1.6.x)
  nginx              # 1.22.x, used as a TLS/auth front end in tests
  libnginx-mod-stream # nginx's TCP proxy, to send the PROXY protocol to Berth in tests
  docker-registry    # distribution registry:2 2.8.x (/usr/bin/docker-registry)
  iptables           # dockerd refuses to start without the binaries present
  uidmap             # newuidmap/newgidmap for podman
  fuse-overlayfs     # podman storage fallback where kernel overlay is unusable
  ca-certificates
  busybox-static     # a static /bin/busybox: the rootfs of the test images that `docker run` starts
  e2fsprogs          # mkfs.ext4: the small loop-mounted volumes of the disk-fault tests (DiskFullTest, DiskFaultHttpTest)
  fuse3              # fusermount3 and /dev/fuse support for eiofs, the EIO-injecting filesystem of the disk-fault tests
  libfuse3-dev       # 3.14.x: eiofs is compiled against it below (scripts/eiofs/eiofs.c)
  gcc
  libc6-dev
  pkg-config
  prometheus         # 2.42.x: /usr/bin/prometheus scrapes a live Berth and /usr/bin/promtool checks the alert rules (k8s/components/monitoring)
)
# Services these packages ship that must never be left running or enabled:
# tests start private instances on their own ports/sockets.
DISABLE_SERVICES=(docker-registry nginx docker containerd prometheus)

# Go tools (each built into $BERTH_TOOLS/<name>-<version>/).
CRANE_VERSION=v0.22.1          # github.com/google/go-containerregistry
REGCTL_VERSION=v0.11.7         # github.com/regclient/regclient
ORAS_VERSION=v1.3.6            # oras.land/oras
CRICTL_VERSION=v1.37.0         # sigs.k8s.io/cri-tools (bookworm has no cri-tools package)
# cosign: the newest v3 (sigstore bundles as OCI 1.1 referrers by default) and the
# last v2.6 (legacy sha256-<hex>.sig/.att tags by default).
COSIGN_VERSION=v3.1.3          # github.com/sigstore/cosign/v3
COSIGN2_VERSION=v2.6.5         # github.com/sigstore/cosign/v2
# OCI distribution-spec conformance. The module lives in the repo's conformance/
# subdir, so release tags are not module versions: pin pseudo-versions of commits,
# with their go.sum hashes (sum.golang.org has no record of the v1.1.1 one, and the
# proxy only serves these by exact version via go.mod, not as @version queries).
#  (a) tag v1.1.1 = commit a139cc423184af6078077b9b7ee336eddbd03f8f (go test -c)
CONF_V111_VERSION=v0.0.0-20250123160558-a139cc423184
CONF_V111_SUMS='h1:7bNCAFy3pSZzsM+xTEhbhSKzYcVMVf/g8lT71MMlkjU= h1:DOO4RzIigGVoAksLURsDbKHpJ8zX5eEQfsmkqY39yyE='
#  (b) main branch, redesigned config-file driven suite (go build), commit fee21197eb94
CONF_MAIN_VERSION=v0.0.0-20260730175803-fee21197eb94
CONF_MAIN_SUMS='h1:iJbOstMHr3jUuu8hKcEkNJWEYnHdHKWQa/xh4xNrP7I= h1:3VJqdDrgz3dFdGbErNWoChcfbGpHDllEHdwJ4yi6rJk='
CONF_MODULE=github.com/opencontainers/distribution-spec/conformance
# A real S3 server for the storage.s3 tests: its posix backend serves a directory, one subdirectory per bucket.
VERSITYGW_VERSION=v1.8.0       # github.com/versity/versitygw (cold build ~90s)

log() { printf '[install-peers] %s\n' "$*" >&2; }

# ------------------------------------------------------------------ apt -----
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

disable_services() {
  local s
  for s in "${DISABLE_SERVICES[@]}"; do
    apt_disable_service "$s"
  done
  # Belt and braces: kill any daemon still running from the *system* config
  # (never the private instances tests start with their own config files).
  local pid cmd
  for pid in $(pgrep -x docker-registry 2>/dev/null || true) $(pgrep -x nginx 2>/dev/null || true); do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [[ "$cmd" == *"/etc/docker/registry/"* ||
          ( "$cmd" == "nginx: master process /usr/sbin/nginx"* && "$cmd" != *" -c "* ) ]]; then
      log "stopping system daemon pid $pid: $cmd"
      kill "$pid" 2>/dev/null || true
    fi
  done
}

install_apt() {
  apt_ensure "${APT_PACKAGES[@]}"
  disable_services
}

# ------------------------------------------------------------------- go -----
command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--buildvcs=false}"
shopt -s inherit_errexit

# go_tool NAME VERSION MODE PKG MODULE [OUTFILE] [SUMS]
#   MODE install: go install PKG@VERSION            (binary named after PKG)
#   MODE build:   go build PKG in a temp module     (binary OUTFILE)
#   MODE test:    go test -c PKG in a temp module   (binary OUTFILE)
#   SUMS: "h1:<zip> h1:<go.mod>" pinned into the temp module's go.sum
# Prints the resulting binary path on stdout.
go_tool() {
  local name=$1 version=$2 mode=$3 pkg=$4 module=$5 out=${6:-} sums=${7:-}
  local dir="$BERTH_TOOLS/$name-$version"
  [[ -n "$out" ]] || out=$(basename "$pkg")
  local bin="$dir/$out"
  if [[ -x "$bin" ]]; then
    log "go: $name $version present ($bin)"
    printf '%s\n' "$bin"; return
  fi
  log "go: building $name $version ($mode $pkg)"
  local tmp
  tmp=$(mktemp -d "$BERTH_TOOLS/.build-$name.XXXXXX")
  trap "rm -rf '$tmp'" EXIT   # go_tool runs in a $(...) subshell: cleans up on any exit
  local ldflags="-s -w"
  case "$name" in
    regctl) ldflags+=" -X github.com/regclient/regclient/internal/version.vcsTag=$version" ;;
    crictl) ldflags+=" -X sigs.k8s.io/cri-tools/pkg/version.Version=${version}" ;;
    cosign) ldflags+=" -X sigs.k8s.io/release-utils/version.gitVersion=${version}" ;;
  esac
  local t0=$SECONDS
  case "$mode" in
    install)
      GOBIN="$tmp" go install -trimpath -ldflags="$ldflags" "$pkg@$version" >&2
      ;;
    build|test)
      (
        cd "$tmp"
        printf 'module berthtmp\n\ngo 1.24\n\nrequire %s %s\n' "$module" "$version" >go.mod
        if [[ -n "$sums" ]]; then
          read -r zsum msum <<<"$sums"
          printf '%s %s %s\n%s %s/go.mod %s\n' "$module" "$version" "$zsum" "$module" "$version" "$msum" >go.sum
          export GONOSUMDB="$module"   # verified against the pinned go.sum lines instead
        fi
        export GOFLAGS="$GOFLAGS -mod=mod"
        if [[ $mode == test ]]; then
          go test -c -trimpath -ldflags="$ldflags" -o "$tmp/$out" "$pkg" >&2
        else
          go build -trimpath -ldflags="$ldflags" -o "$tmp/$out" "$pkg" >&2
        fi
      )
      ;;
  esac
  [[ -x "$tmp/$out" ]] || { log "go: $name did not produce $out"; exit 1; }
  mkdir -p "$dir"
  mv -f "$tmp/$out" "$bin"
  log "go: built $name $version in $((SECONDS - t0))s"
  printf '%s\n' "$bin"
}

# ---------------------------------------------------------------- eiofs -----
# A passthrough FUSE filesystem that fails reads or writes with EIO on demand, for the disk-fault tests.
# Built once per version of its source into $BERTH_TOOLS/eiofs-<sha256 prefix>/eiofs. Prints the binary's path.
build_eiofs() {
  local src
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/eiofs/eiofs.c"
  local version
  version=$(sha256sum "$src" | cut -c1-12)
  local dir="$BERTH_TOOLS/eiofs-$version"
  if [[ -x "$dir/eiofs" ]]; then
    log "eiofs $version present ($dir/eiofs)"
    printf '%s\n' "$dir/eiofs"; return
  fi
  log "eiofs: compiling $version against libfuse3 $(pkg-config --modversion fuse3)"
  mkdir -p "$dir"
  # shellcheck disable=SC2046 # pkg-config prints several words on purpose
  gcc -O2 -Wall -Wextra -Werror -o "$dir/eiofs.tmp" "$src" $(pkg-config --cflags --libs fuse3) >&2
  mv -f "$dir/eiofs.tmp" "$dir/eiofs"
  printf '%s\n' "$dir/eiofs"
}

# ----------------------------------------------------------------- main -----
start=$SECONDS
mkdir -p "$BERTH_TOOLS"
install_apt

CRANE=$(go_tool crane "$CRANE_VERSION" install github.com/google/go-containerregistry/cmd/crane github.com/google/go-containerregistry)
REGCTL=$(go_tool regctl "$REGCTL_VERSION" install github.com/regclient/regclient/cmd/regctl github.com/regclient/regclient)
ORAS=$(go_tool oras "$ORAS_VERSION" install oras.land/oras/cmd/oras oras.land/oras)
CRICTL=$(go_tool crictl "$CRICTL_VERSION" install sigs.k8s.io/cri-tools/cmd/crictl sigs.k8s.io/cri-tools)
COSIGN=$(go_tool cosign "$COSIGN_VERSION" install github.com/sigstore/cosign/v3/cmd/cosign github.com/sigstore/cosign/v3)
COSIGN2=$(go_tool cosign "$COSIGN2_VERSION" install github.com/sigstore/cosign/v2/cmd/cosign github.com/sigstore/cosign/v2)
CONF_V111=$(go_tool conformance "$CONF_V111_VERSION" test "$CONF_MODULE" "$CONF_MODULE" conformance-v1.1.1.test "$CONF_V111_SUMS")
CONF_MAIN=$(go_tool conformance "$CONF_MAIN_VERSION" build "$CONF_MODULE" "$CONF_MODULE" conformance-main "$CONF_MAIN_SUMS")
VERSITYGW=$(go_tool versitygw "$VERSITYGW_VERSION" install github.com/versity/versitygw/cmd/versitygw github.com/versity/versitygw)
EIOFS=$(build_eiofs)

pkgver() { dpkg-query -W -f='${Version}' "$1"; }

# Debian's own binaries by absolute path (the image may carry others on PATH,
# e.g. a newer docker CLI in /usr/local/bin).
for b in /usr/bin/docker-registry /usr/sbin/dockerd /usr/bin/docker /usr/bin/podman \
         /usr/bin/skopeo /usr/bin/containerd /usr/bin/ctr /usr/bin/runc /usr/bin/crun /usr/sbin/nginx \
         /usr/sbin/mkfs.ext4 /usr/bin/fusermount3 /usr/bin/prometheus /usr/bin/promtool; do
  [[ -x $b ]] || { log "missing $b after apt install"; exit 1; }
done

ENV_FILE="$BERTH_TOOLS/env.sh"
tmp_env=$(mktemp "$BERTH_TOOLS/.env.XXXXXX")
{
  echo "# Generated by scripts/install-peers.sh — do not edit."
  echo "export BERTH_TOOLS='$BERTH_TOOLS'"
  echo "export BERTH_CRANE='$CRANE'"
  echo "export BERTH_REGCTL='$REGCTL'"
  echo "export BERTH_ORAS='$ORAS'"
  echo "export BERTH_CRICTL='$CRICTL'"
  echo "export BERTH_COSIGN='$COSIGN'"
  echo "export BERTH_COSIGN_VERSION='$COSIGN_VERSION'"
  echo "export BERTH_COSIGN2='$COSIGN2'"
  echo "export BERTH_COSIGN2_VERSION='$COSIGN2_VERSION'"
  echo "export BERTH_CONFORMANCE_V111='$CONF_V111'"
  echo "export BERTH_CONFORMANCE_MAIN='$CONF_MAIN'"
  echo "export BERTH_CONFORMANCE_MAIN_VERSION='$CONF_MAIN_VERSION'"
  echo "export BERTH_REGISTRY2='/usr/bin/docker-registry'"
  echo "export BERTH_REGISTRY2_VERSION='$(pkgver docker-registry)'"
  echo "export BERTH_DOCKERD='/usr/sbin/dockerd'"
  echo "export BERTH_DOCKER='/usr/bin/docker'"
  echo "export BERTH_DOCKER_VERSION='$(pkgver docker.io)'"
  echo "export BERTH_PODMAN='/usr/bin/podman'"
  echo "export BERTH_PODMAN_VERSION='$(pkgver podman)'"
  echo "export BERTH_SKOPEO='/usr/bin/skopeo'"
  echo "export BERTH_SKOPEO_VERSION='$(pkgver skopeo)'"
  echo "export BERTH_CONTAINERD='/usr/bin/containerd'"
  echo "export BERTH_CTR='/usr/bin/ctr'"
  echo "export BERTH_CONTAINERD_VERSION='$(pkgver containerd)'"
  echo "export BERTH_NGINX='/usr/sbin/nginx'"
  echo "export BERTH_NGINX_VERSION='$(pkgver nginx)'"
  echo "export BERTH_MKFS_EXT4='/usr/sbin/mkfs.ext4'"
  echo "export BERTH_E2FSPROGS_VERSION='$(pkgver e2fsprogs)'"
  echo "export BERTH_EIOFS='$EIOFS'"
  echo "export BERTH_VERSITYGW='$VERSITYGW'"
  echo "export BERTH_VERSITYGW_VERSION='$VERSITYGW_VERSION'"
  echo "export BERTH_FUSE3_VERSION='$(pkgver libfuse3-dev)'"
  echo "export BERTH_PROMETHEUS='/usr/bin/prometheus'"
  echo "export BERTH_PROMTOOL='/usr/bin/promtool'"
  echo "export BERTH_PROMETHEUS_VERSION='$(pkgver prometheus)'"
  printf 'case ":$PATH:" in *":%s:"*) ;; *) export PATH="%s:$PATH" ;; esac\n' \
    "$BERTH_TOOLS/bin" "$BERTH_TOOLS/bin"
} >"$tmp_env"
mv -f "$tmp_env" "$ENV_FILE"
chmod 644 "$ENV_FILE"

# One PATH dir with stable names pointing at the pinned builds.
mkdir -p "$BERTH_TOOLS/bin"
ln -sfn "$CRANE" "$BERTH_TOOLS/bin/crane"
ln -sfn "$REGCTL" "$BERTH_TOOLS/bin/regctl"
ln -sfn "$ORAS" "$BERTH_TOOLS/bin/oras"
ln -sfn "$CRICTL" "$BERTH_TOOLS/bin/crictl"
ln -sfn "$COSIGN" "$BERTH_TOOLS/bin/cosign"
ln -sfn "$COSIGN2" "$BERTH_TOOLS/bin/cosign2"
ln -sfn "$CONF_V111" "$BERTH_TOOLS/bin/oci-conformance-v1.1.1.test"
ln -sfn "$CONF_MAIN" "$BERTH_TOOLS/bin/oci-conformance-main"
ln -sfn "$EIOFS" "$BERTH_TOOLS/bin/eiofs"
ln -sfn "$VERSITYGW" "$BERTH_TOOLS/bin/versitygw"

log "done in $((SECONDS - start))s; source $ENV_FILE"
