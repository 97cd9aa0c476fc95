#!/usr/bin/env bash
# W7 for the container image: Berth's image (k8s: Jib's test image, on the jlink'd Temurin base, with its start-up
# cache) started by a private dockerd with --network host, side by side with bin/berth's W7 (java -jar with its
# AOT cache, as bench/run.sh starts it), same config, same disk, alternating which goes first.
#
#   bench/image-start.sh              # 7 rounds; fails (exit 3) when the image's median misses 1.25x bin/berth's
#   bench/image-start.sh --rounds 11
#   bench/image-start.sh --smoke      # one round, no timing assertion (for bin/test)
#
# W7 is the time from the start command to the first 200 on /v2/ (with basic auth, as run.sh's W7), measured by
# bench/client's wait-ready, and the CPU time (user + system) of the JVM until then; also how much of the time
# passed before the JVM's process started (for the image: the container's set-up; to the kernel's 10 ms tick). For the image the start command
# is `docker start` of a container created beforehand: creating it copies the image's files (vfs storage driver),
# which is the node's image store's work, not the start's. The image's time includes the docker CLI, dockerd,
# containerd and runc; its CPU time is the JVM's alone. bin/berth's JVM runs in a CPU cgroup of its own (see below),
# as the container's does.
#
# It builds Berth's jar and the image tarball when they are missing or stale (mvn), starts dockerd under
# BENCH_WORK, and removes everything it started on exit. Output: bench/results/<UTC date>-image[-smoke]/
# {raw.tsv,table.md,logs/} and the table on stdout. Needs root (dockerd), like bin/test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
WORK="${BENCH_WORK:-/var/tmp/berth-bench}-image"
ROUNDS=7
SMOKE=0
OUT=""
TARGET=1.25
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --smoke) SMOKE=1; ROUNDS=1 ;;
    --rounds) ROUNDS="${2:?--rounds N}"; shift ;;
    --out) OUT="${2:?--out DIR}"; shift ;;
    -h|--help) usage 0 ;;
    *) echo "image-start.sh: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "image-start.sh: --rounds wants a positive number" >&2; exit 2; }
log() { printf '[image-start %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

BERTH_TOOLS="$BERTH_TOOLS" bash "$ROOT/scripts/install-bench.sh" 2>"$WORK.install.log" || {
  cat "$WORK.install.log" >&2; log "scripts/install-bench.sh failed"; exit 1; }
# shellcheck disable=SC1091
. "$BERTH_TOOLS/bench-env.sh"
# shellcheck disable=SC1091
. "$BERTH_TOOLS/env.sh"
# shellcheck disable=SC1091
. "$ROOT/scripts/java-env.sh"
. "$BENCH/lib.sh"

SUFFIX=-image; ((SMOKE)) && SUFFIX=-image-smoke
OUT="${OUT:-$BENCH/results/$(date -u +%Y-%m-%dT%H%M%SZ)$SUFFIX}"
mkdir -p "$OUT/logs"
RAW="$OUT/raw.tsv"
printf 'round\tserver\tmetric\tvalue\n' >"$RAW"

declare -A PID=()
DOCKER_DIR=""
CONTAINER=""
cleanup() {
  stop_pid berth 100
  if [[ -n "$DOCKER_DIR" ]]; then
    [[ -n "$CONTAINER" ]] && docker -H "unix://$DOCKER_DIR/docker.sock" rm -f "$CONTAINER" >/dev/null 2>&1 || true
    stop_pid dockerd 300
    # a host-network container leaves the host's network namespace bind-mounted under exec-root
    umount "$DOCKER_DIR/exec/netns/default" 2>/dev/null || true
    rm -rf "$DOCKER_DIR"
  fi
  [[ -n "${CGROUP:-}" ]] && rmdir "$CGROUP" 2>/dev/null || true
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

log "work dir $WORK (wiped), results $OUT"
rm -rf "$WORK"
mkdir -p "$WORK"/{bin,berth,conf,data/berth,data/image}
chmod 777 "$WORK/data/image"   # the image runs as 65532:0

# bin/berth, as bench/run.sh runs it: a private copy of the jar and lib/, with its start-up cache.
jar=$(ensure_berth_jar "$ROOT")
cp "$jar" "$WORK/berth/"
cp -r "$ROOT/registry-server/target/lib" "$WORK/berth/lib"
BERTH_JAVA_OPTS="${BENCH_BERTH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=25}"
# shellcheck disable=SC1091
. "$ROOT/scripts/berth-aot.sh"
# shellcheck disable=SC2086
berth_aot_prepare "$WORK/berth/berth-server.jar" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS

# The image: Jib's test tarball, rebuilt when older than the sources or the image's own files.
IMAGE_TAR="$ROOT/k8s/target/berth-image-test.tar"
if [[ ! -s "$IMAGE_TAR" || -n "$(find "$ROOT"/storage/src/main "$ROOT"/auth/src/main "$ROOT"/registry-server/src/main \
      "$ROOT"/k8s/src/main "$ROOT"/k8s/image "$ROOT"/pom.xml "$ROOT"/*/pom.xml -newer "$IMAGE_TAR" -type f 2>/dev/null | head -1)" ]]; then
  log "building the image tarball (mvn -pl k8s -am pre-integration-test, tests skipped)"
  (cd "$ROOT" && mvn -B -q -ntp -pl k8s -am pre-integration-test -DskipTests >&2)
fi
IMAGE=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"][0])' < <(tar -xOf "$IMAGE_TAR" manifest.json))

log "building the Go client"
(cd "$BENCH/client" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$WORK/bin/benchclient" .)
CLIENT="$WORK/bin/benchclient"

USER_NAME=bench; USER_PASS=bench-secret-1
"$BENCH_HTPASSWD" -Bbc "$WORK/conf/htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null
chmod 644 "$WORK/conf/htpasswd"
PORT_BERTH=15203 PORT_IMAGE=15204
# config PORT ROOTDIR HTPASSWD: bench/run.sh's plain-HTTP config
config() {
  cat <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$1
  secret: berth-bench-not-a-secret
auth:
  htpasswd:
    realm: berth-bench
    path: $3
EOF
}
config "$PORT_BERTH" "$WORK/data/berth" "$WORK/conf/htpasswd" >"$WORK/conf/berth.yml"
mkdir -p "$WORK/conf/image"
cp "$WORK/conf/htpasswd" "$WORK/conf/image/htpasswd"
config "$PORT_IMAGE" /var/lib/registry /etc/docker/registry/htpasswd >"$WORK/conf/image/config.yml"
chmod 755 "$WORK/conf/image"; chmod 644 "$WORK/conf/image"/*

# The private dockerd (as the k8s ITs start it: vfs, no bridge, no iptables), socket under a short path.
DOCKER_DIR=$(mktemp -d /tmp/bim.XXXXXX)
dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
  --data-root "$WORK/docker-data" --exec-root "$DOCKER_DIR/exec" -H "unix://$DOCKER_DIR/docker.sock" \
  --pidfile "$DOCKER_DIR/docker.pid" >"$OUT/logs/dockerd.log" 2>&1 &
PID[dockerd]=$!
d() { docker -H "unix://$DOCKER_DIR/docker.sock" "$@"; }
for _ in $(seq 1 300); do d info >/dev/null 2>&1 && break; sleep 0.2; done
d info >/dev/null || { tail -20 "$OUT/logs/dockerd.log" >&2; log "dockerd did not start"; exit 1; }
d load --input "$IMAGE_TAR" >/dev/null
log "image $IMAGE loaded; $ROUNDS round(s)"

cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
# started_ms PID UPTIME0: when the process started, in ms after the start command (UPTIME0: /proc/uptime then; both
# count from boot, to the kernel's clock tick, 10 ms)
started_ms() {
  awk -v hz="$(getconf CLK_TCK)" -v up0="$2" '{printf "%.0f", ($22 / hz - up0) * 1000}' "/proc/$1/stat"
}
ready_ms() { # ready_ms PORT T0
  timeout 300 "$CLIENT" wait-ready -url "http://127.0.0.1:$1" -user "$USER_NAME" -pass "$USER_PASS" -since-ns "$2" -timeout 120s \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["ms"])'
}

# bin/berth's JVM runs in a CPU cgroup of its own, beside the one dockerd makes for the container (BENCH_CGROUP=0:
# in the shell's). Otherwise, under load from other processes, the scheduler weighs each of bin/berth's threads
# against each other runnable thread, and all the container's threads together as one: that, not the image,
# decides the wall time.
CGROUP=""
if [[ "${BENCH_CGROUP:-1}" != 0 ]]; then
  if [[ -d /sys/fs/cgroup/cpu && -w /sys/fs/cgroup/cpu ]]; then CGROUP=/sys/fs/cgroup/cpu/berth-w7      # v1
  elif [[ -f /sys/fs/cgroup/cgroup.controllers && -w /sys/fs/cgroup ]]; then CGROUP=/sys/fs/cgroup/berth-w7  # v2
  fi
  [[ -n "$CGROUP" ]] && { mkdir -p "$CGROUP" 2>/dev/null || CGROUP=""; }
fi
log "bin/berth runs in the CPU cgroup ${CGROUP:-of this shell}"

run_berth() {
  local round=$1 t0 up0 ms
  rm -rf "$WORK/data/berth"/*
  t0=$(date +%s%N)
  read -r up0 _ </proc/uptime
  # shellcheck disable=SC2016,SC2086
  sh -c '[ -z "$1" ] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$CGROUP" \
    "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS ${BERTH_AOT_OPTS[@]+"${BERTH_AOT_OPTS[@]}"} \
    -jar "$WORK/berth/berth-server.jar" serve "$WORK/conf/berth.yml" >"$OUT/logs/berth-r$round.log" 2>&1 &
  PID[berth]=$!
  ms=$(ready_ms "$PORT_BERTH" "$t0") || { tail -20 "$OUT/logs/berth-r$round.log" >&2; exit 1; }
  printf '%s\tberth\tms\t%s\n%s\tberth\tcpu_ms\t%s\n%s\tberth\tstarted_ms\t%s\n' "$round" "$ms" "$round" "$(cpu_ms "${PID[berth]}")" \
    "$round" "$(started_ms "${PID[berth]}" "$up0")" >>"$RAW"
  stop_pid berth 100
}

run_image() {
  local round=$1 t0 up0 ms pid
  rm -rf "$WORK/data/image"/*
  CONTAINER="berth-w7-r$round"
  d create --name "$CONTAINER" --network host --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    -v "$WORK/conf/image:/etc/docker/registry:ro" -v "$WORK/data/image:/var/lib/registry" "$IMAGE" >/dev/null
  t0=$(date +%s%N)
  read -r up0 _ </proc/uptime
  d start "$CONTAINER" >/dev/null &
  local starter=$!
  ms=$(ready_ms "$PORT_IMAGE" "$t0") || { d logs "$CONTAINER" 2>&1 | tail -20 >&2; exit 1; }
  wait "$starter"
  pid=$(d inspect --format '{{.State.Pid}}' "$CONTAINER")
  printf '%s\timage\tms\t%s\n%s\timage\tcpu_ms\t%s\n%s\timage\tstarted_ms\t%s\n' "$round" "$ms" "$round" "$(cpu_ms "$pid")" \
    "$round" "$(started_ms "$pid" "$up0")" >>"$RAW"
  d logs "$CONTAINER" >"$OUT/logs/image-r$round.log" 2>&1
  d stop --time 10 "$CONTAINER" >/dev/null
  d rm "$CONTAINER" >/dev/null
  CONTAINER=""
}

# one untimed start of each first: the page cache then holds both, as it does for every later round
run_berth 0; run_image 0
for round in $(seq 1 "$ROUNDS"); do
  if ((round % 2)); then run_berth "$round"; run_image "$round"; else run_image "$round"; run_berth "$round"; fi
done
grep -h "start-up cache" "$OUT/logs/image-r1.log" >&2 || true

python3 - "$RAW" "$OUT/table.md" "$TARGET" "$SMOKE" <<'EOF'
import csv, statistics, sys
raw, table, target, smoke = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
v = {}
for r in csv.DictReader(open(raw), delimiter="\t"):
    if r["round"] != "0":
        v.setdefault((r["server"], r["metric"]), []).append(float(r["value"]))
med = {k: statistics.median(x) for k, x in v.items()}
n = len(v[("berth", "ms")])
ratio = med[("image", "ms")] / med[("berth", "ms")]
cpu_ratio = med[("image", "cpu_ms")] / med[("berth", "cpu_ms")]
ok = ratio <= target
lines = [
    f"W7, median of {n} round(s) (untimed warm-up start first)",
    "",
    "| metric | bin/berth | image (private dockerd, --network host) | image / bin/berth | target | met |",
    "|---|---|---|---|---|---|",
    f"| start to first 200 on /v2/ | {med[('berth','ms')]:.0f} ms | {med[('image','ms')]:.0f} ms | {ratio:.2f}x | <= {target}x | {'yes' if ok else '**no**'} |",
    f"| CPU time (user+sys) until then | {med[('berth','cpu_ms')]:.0f} ms | {med[('image','cpu_ms')]:.0f} ms | {cpu_ratio:.2f}x |  |  |",
    f"| of the time to 200: before the process started (image: docker CLI, dockerd, containerd, runc) | {med[('berth','started_ms')]:.0f} ms | {med[('image','started_ms')]:.0f} ms |  |  |  |",
]
open(table, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
if not smoke and not ok:
    print(f"image-start: the image's W7 is {ratio:.2f}x bin/berth's, over the {target}x target", file=sys.stderr)
    sys.exit(3)
EOF
