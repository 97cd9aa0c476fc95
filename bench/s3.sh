#!/usr/bin/env bash
# Berth on S3 (issue 10) beside distribution v3's and registry:2's s3 drivers, on one local S3 server.
#
#   bench/s3.sh                # 3 rounds: 1 GiB push and pull, 64 pulls of a 64 MiB image, _catalog of 10,000 repos
#   bench/s3.sh --rounds 5     # more rounds, tighter medians
#   bench/s3.sh --smoke        # tiny sizes, one round, 100 repositories, no target checks; for bin/test
#
# The S3 server is versitygw (scripts/install-peers.sh) with its posix backend on $BENCH_WORK/s3 (the disk the
# other benches use), 127.0.0.1:15400, random root keys, one bucket `registry`; it is stopped at the end. The
# servers, all plain HTTP on loopback, no auth, each with the same registry:2 config.yml but for its port (one
# storage.s3.rootdirectory, /bench, for all: every server sees the very same objects; chunksize 10 MiB, registry:2's
# default; redirect disabled so pulls go through the registry; blobdescriptor cache inmemory; delete on):
#   berth-netty  Berth (the jar bench/run.sh runs, a private copy), berth.s3.client: netty, partConcurrency 4 (15401)
#   berth-crt    the same with berth.s3.client: crt (15402)
#   distribution distribution v3.0.0's s3-aws driver (scripts/install-bench.sh builds it) (15403)
#   registry2    Debian's registry:2 2.8.2, s3-aws driver, started without AWS_CA_BUNDLE (it panics with it) (15404)
#   limit        no registry: bench/s3limit (aws-sdk-go-v2) straight to the S3 server, the same bytes
# The shared root is seeded before round 1: a distribution v3 on it (the fastest peer to push through) receives the
# pull layer (bench/big) and the 64 MiB image (bench/app:v1); bench/s3limit writes registry:2's keys for the
# catalog's repositories cat/r00000.. straight through S3 (each an image tagged v1: tag, index, revision and layer
# links, and the two blobs once), 10,000 registry pushes being a seeding, not a measurement. Pushes add new blobs
# (unique digests) to bench/push and are deleted after each; no workload rewrites a seeded key. Each round runs
# every workload on every server in turn, the order rotating from round to round:
#   push     one 1 GiB blob, a single streamed PATCH with a chunked body, then PUT ?digest= (bench/client push);
#            each push is new content (a nonce), and its blob is deleted from the bucket afterwards.
#            limit: a multipart upload of the same size, same part size (10 MiB), 4 parts in flight (manager.Uploader),
#            UNSIGNED-PAYLOAD; and again with the payload signed and the SDK's checksums (limit-signed)
#   pull     GET of bench/big's 1 GiB layer, twice (bench/client pull). limit: GetObject of its data object
#   pulls    64 pulls at once of bench/app:v1 (manifest, config, one 64 MiB layer), each on its own connection
#            (bench/client pulls). limit: 64 GetObjects at once of the layer's data object
#   catalog  GET /v2/_catalog?n=1000 following Link to the end (bench/client catalog).
#            limit: ListObjectsV2 of repositories/cat/ with delimiter "/" (10 pages of 1,000 prefixes)
# Until Berth's S3 wiring is in the jar, the Berth columns stay empty: each Berth is started once on the seeded
# data and probed (HEAD of the seeded layer); if it does not serve it, the run goes on without it and says so.
#
# Output: bench/results/<UTC date>-s3[-smoke]/{raw.tsv,table.md,env.md,logs/}, the table on stdout.
# Ratios are "how many times better Berth is": Berth / peer for MiB/s, peer / Berth for seconds.
# Targets (issue 10, not checked under --smoke): Berth ≥ 2× distribution v3 on push and on catalog, ≥ 1.2× on pull.
# Environment: BERTH_TOOLS (default /var/cache/berth-tools), BENCH_WORK (scratch, default /var/tmp/berth-s3-bench,
# wiped at the start, data removed at the end), BENCH_BERTH_JAVA_OPTS (default: bin/berth's). Only one run at a
# time (fixed ports 15400-15405).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
WORK="${BENCH_WORK:-/var/tmp/berth-s3-bench}"
ROUNDS=3
SMOKE=0
OUT=""
. "$BENCH/lib.sh"   # stop_pid, ensure_berth_jar, bench_options
bench_options "$@"
log() { printf '[s3-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ sizes ---
MiB=$((1 << 20))
if ((SMOKE)); then
  BIG=$((32 * MiB)); APP_LAYER=$((2 * MiB)); PULLS=16; REPOS=100; PULL_REPEAT=1; CATALOG_REPEAT=1
else
  BIG=$((1024 * MiB)); APP_LAYER=$((64 * MiB)); PULLS=64; REPOS=10000; PULL_REPEAT=2; CATALOG_REPEAT=1   # registry:2 takes a minute per listing
fi
CHUNK=$((10 * MiB))        # storage.s3.chunksize, registry:2's default, and the limit's part size
PART_CONCURRENCY=4         # berth.s3.partConcurrency (its default), and the limit's Uploader concurrency
PAGE=1000                  # _catalog?n=
BUCKET=registry
RROOT=bench                # storage.s3.rootdirectory, the same for every server
S3_PORT=15400
SERVERS=(berth-netty berth-crt distribution registry2)
declare -A NAME=([berth-netty]="Berth (netty)" [berth-crt]="Berth (crt)" [distribution]="distribution v3" [registry2]=registry:2 [seed]="distribution v3 (seeding)")
declare -A PORT=([berth-netty]=15401 [berth-crt]=15402 [distribution]=15403 [registry2]=15404 [seed]=15405)

# ------------------------------------------------------------ processes -----
declare -A PID=()
cleanup() {
  local s
  for s in "${!PID[@]}"; do stop_pid "$s" 100; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ setup ----
[[ -f "$BERTH_TOOLS/env.sh" ]] && . "$BERTH_TOOLS/env.sh"   # versitygw
VERSITYGW="${BERTH_VERSITYGW:-$(command -v versitygw || true)}"
[[ -x "$VERSITYGW" ]] || { log "versitygw is missing: run scripts/install-peers.sh"; exit 1; }
mkdir -p "$(dirname "$WORK")"
BERTH_TOOLS="$BERTH_TOOLS" bash "$ROOT/scripts/install-bench.sh" 2>"$WORK.install.log" || {
  cat "$WORK.install.log" >&2; log "scripts/install-bench.sh failed"; exit 1; }
. "$BERTH_TOOLS/bench-env.sh"
[[ -x "${BENCH_S3LIMIT:-}" ]] || { log "bench/s3limit was not built (scripts/install-bench.sh)"; exit 1; }
. "$ROOT/scripts/java-env.sh"

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
SUFFIX=-s3; ((SMOKE)) && SUFFIX=-s3-smoke
OUT="${OUT:-$BENCH/results/$DATE$SUFFIX}"
mkdir -p "$OUT/logs"
RAW="$OUT/raw.tsv"
printf 'round\tworkload\tserver\tmetric\tvalue\n' >"$RAW"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

log "work dir $WORK (wiped), results $OUT"
rm -rf "$WORK"
mkdir -p "$WORK"/{bin,berth,conf,state,s3/$BUCKET}
BUCKET_DIR="$WORK/s3/$BUCKET"   # versitygw's posix backend: <dir>/<bucket>/<key>

jar=$(ensure_berth_jar "$ROOT")
cp "$jar" "$WORK/berth/"
cp -r "$ROOT/registry-server/target/lib" "$WORK/berth/lib"
BERTH_VERSION=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
BERTH_JAVA_OPTS="${BENCH_BERTH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=25}"   # bin/berth's defaults
. "$ROOT/scripts/berth-aot.sh"
((SMOKE)) && export BERTH_AOT=0   # the smoke run measures nothing: no 10 s of training for Berth's start-up cache
# shellcheck disable=SC2086
berth_aot_prepare "$WORK/berth/berth-server.jar" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS

log "building the Go client"
(cd "$BENCH/client" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$WORK/bin/benchclient" .)
CLIENT="$WORK/bin/benchclient"

# The S3 server: random root keys, as conformance's S3Server does.
S3_ACCESS_KEY="AK$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
S3_SECRET_KEY="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
export S3_ACCESS_KEY S3_SECRET_KEY   # for bench/s3limit
S3_URL="http://127.0.0.1:$S3_PORT"
VERSITYGW_VERSION=${BERTH_VERSITYGW_VERSION:-unknown}
ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY \
  "$VERSITYGW" --port "127.0.0.1:$S3_PORT" --quiet posix "$WORK/s3" >"$OUT/logs/versitygw.log" 2>&1 &
PID[versitygw]=$!
for _ in $(seq 1 200); do
  curl -s -o /dev/null "$S3_URL/" && break
  kill -0 "${PID[versitygw]}" 2>/dev/null || { log "versitygw exited:"; tail -20 "$OUT/logs/versitygw.log" >&2; exit 1; }
  sleep 0.05
done
limit() { timeout 1800 "$BENCH_S3LIMIT" "$1" -endpoint "$S3_URL" -bucket "$BUCKET" "${@:2}"; }

# config WHO: the same registry:2 config.yml for every server but its port and root directory (and Berth's client).
config() {
  local s=$1 f="$WORK/conf/$1.yml"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  s3:"
    echo "    region: us-east-1"
    echo "    regionendpoint: $S3_URL"
    echo "    forcepathstyle: true"
    echo "    bucket: $BUCKET"
    echo "    rootdirectory: /$RROOT"
    echo "    accesskey: $S3_ACCESS_KEY"
    echo "    secretkey: $S3_SECRET_KEY"
    echo "    secure: false"
    echo "    v4auth: true"
    echo "    chunksize: $CHUNK"
    echo "  redirect:"
    echo "    disable: true"
    echo "  delete:"
    echo "    enabled: true"
    echo "  cache:"
    echo "    blobdescriptor: inmemory"
    echo "  maintenance:"
    echo "    uploadpurging:"
    echo "      enabled: false"
    echo "http:"
    echo "  addr: 127.0.0.1:${PORT[$s]}"
    echo "  secret: berth-bench-not-a-secret"
    if [[ $s == berth-* ]]; then
      echo "berth:"
      echo "  s3:"
      echo "    client: ${s#berth-}"
      echo "    partConcurrency: $PART_CONCURRENCY"
    fi
  } >"$f"
  printf '%s\n' "$f"
}

url() { echo "http://127.0.0.1:${PORT[$1]}"; }
client() { local s=$1 cmd=$2; shift 2; timeout 1800 "$CLIENT" "$cmd" -url "$(url "$s")" -state "$WORK/state" "$@"; }

# start WHO: starts it on its root and waits for /v2/; returns 1 (log kept) if it exits or does not answer in 60 s.
start() {
  local s=$1 conf logf="$OUT/logs/$1.log"
  conf=$(config "$s")
  case "$s" in
    # AWS_CA_BUNDLE: registry:2 2.8's s3 driver panics with it set; the endpoint is plain http, so no server
    # needs it, and all run without it alike.
    registry2) env -u AWS_CA_BUNDLE "$BENCH_REGISTRY2" serve "$conf" >"$logf" 2>&1 & ;;
    distribution|seed) env -u AWS_CA_BUNDLE "$BENCH_DISTRIBUTION" serve "$conf" >"$logf" 2>&1 & ;;
    berth-*)
      # shellcheck disable=SC2086
      env -u AWS_CA_BUNDLE "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS \
        ${BERTH_AOT_OPTS[@]+"${BERTH_AOT_OPTS[@]}"} -jar "$WORK/berth/berth-server.jar" serve "$conf" >"$logf" 2>&1 & ;;
  esac
  PID[$s]=$!
  for _ in $(seq 1 1200); do
    if curl -fsS -o /dev/null "$(url "$s")/v2/" 2>/dev/null; then return 0; fi
    kill -0 "${PID[$s]}" 2>/dev/null || break
    sleep 0.05
  done
  stop_pid "$s" 100
  return 1
}


# ---------------------------------------------------------------- seeding ---
log "seeding /$RROOT: bench/big ($((BIG / MiB)) MiB) and bench/app:v1 ($((APP_LAYER / MiB)) MiB) through distribution v3, $REPOS catalog repositories through S3"
start seed || { log "distribution v3 did not start on S3; its log:"; tail -20 "$OUT/logs/seed.log" >&2; exit 1; }
BIG_DIGEST=$(jget "$(client seed seed-blob -repo bench/big -size "$BIG" -seed 2 -nonce s3-pull-layer)" digest)
client seed seed-image -repo bench/app -tag v1 -layers 1 -layer-size "$APP_LAYER" -seed 3 >/dev/null
APP_LAYER_DIGEST=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$(url seed)/v2/bench/app/manifests/v1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
stop_pid seed 100
out=$(limit seed-catalog -prefix $RROOT/docker/registry/v2 -repos "$REPOS" -concurrency 16)
log "  $REPOS repositories: $(jget "$out" objects) objects in $(jget "$out" seconds) s"
blob_key() { local hex=${1#sha256:}; echo "$RROOT/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"; }
BIG_KEY=$(blob_key "$BIG_DIGEST")
APP_LAYER_KEY=$(blob_key "$APP_LAYER_DIGEST")
[[ -f "$BUCKET_DIR/$BIG_KEY" && -f "$BUCKET_DIR/$APP_LAYER_KEY" ]] || { log "the seeded blobs are not in the bucket"; exit 1; }

# ----------------------------------------------------------- the servers ---
BERTH_NOTE=""
ACTIVE=()
for s in "${SERVERS[@]}"; do
  if ! start "$s"; then
    if [[ $s == berth-* ]]; then
      log "${NAME[$s]} did not start with storage.s3 (log: $OUT/logs/$s.log): not measured"
      tail -5 "$OUT/logs/$s.log" >&2
      BERTH_NOTE="Berth did not start with storage.s3 (commit $BERTH_VERSION): its columns are not measured."
      continue
    fi
    log "${NAME[$s]} did not start; its log:"; tail -20 "$OUT/logs/$s.log" >&2; exit 1
  fi
  # A server that reads the bucket serves the seeded layer; a Berth without the S3 wiring does not.
  code=$(curl -s -o /dev/null -w '%{http_code}' -I "$(url "$s")/v2/bench/big/blobs/$BIG_DIGEST")
  if [[ $code != 200 ]]; then
    if [[ $s == berth-* ]]; then
      log "${NAME[$s]} answers $code for the seeded layer: this jar does not serve storage.s3; not measured"
      BERTH_NOTE="Berth (commit $BERTH_VERSION) did not serve the seeded bucket (HEAD of the layer: $code): its columns are not measured."
      stop_pid "$s" 100
      continue
    fi
    log "${NAME[$s]} answers $code for the seeded layer"; exit 1
  fi
  ACTIVE+=("$s")
done
PARTICIPANTS=("${ACTIVE[@]}" limit)

# ---------------------------------------------------------------- workloads ---
push() { # push ROUND WHO
  local r=$1 s=$2 out d hex
  if [[ $s == limit ]]; then
    out=$(limit put -key "limit/push-$r" -size "$BIG" -seed 1 -part "$CHUNK" -concurrency "$PART_CONCURRENCY")
    record "$r" push limit mib_per_s "$(jget "$out" mib_per_s)"
    limit delete -key "limit/push-$r" >/dev/null
    out=$(limit put -key "limit/push-$r-signed" -size "$BIG" -seed 1 -part "$CHUNK" -concurrency "$PART_CONCURRENCY" -signed)
    record "$r" push limit-signed mib_per_s "$(jget "$out" mib_per_s)"
    limit delete -key "limit/push-$r-signed" >/dev/null
  else
    out=$(client "$s" push -repo bench/push -size "$BIG" -seed 1 -mode stream -nonce "s3-push-$r-$s")
    record "$r" push "$s" mib_per_s "$(jget "$out" mib_per_s)"
    record "$r" push "$s" commit_seconds "$(jget "$out" commit_seconds)"
    d=$(jget "$out" digest); hex=${d#sha256:}
    limit delete -key "$(blob_key "$d")" >/dev/null
    limit delete -key "$RROOT/docker/registry/v2/repositories/bench/push/_layers/sha256/$hex/link" >/dev/null
  fi
  log "  push ${NAME[$s]:-$s}: $(jget "$out" mib_per_s | cut -d. -f1) MiB/s"
}

pull() {
  local r=$1 s=$2 out i
  for ((i = 1; i <= PULL_REPEAT; i++)); do
    if [[ $s == limit ]]; then
      out=$(limit get -key "$BIG_KEY")
    else
      out=$(client "$s" pull -repo bench/big -digest "$BIG_DIGEST")
    fi
    [[ $(jget "$out" bytes) == "$BIG" ]] || { log "pull ${NAME[$s]:-$s}: $(jget "$out" bytes) bytes, not $BIG"; exit 1; }
    record "$r" pull "$s" mib_per_s "$(jget "$out" mib_per_s)"
  done
  log "  pull ${NAME[$s]:-$s}: $(jget "$out" mib_per_s | cut -d. -f1) MiB/s"
}

pulls() {
  local r=$1 s=$2 out
  if [[ $s == limit ]]; then
    out=$(limit gets -key "$APP_LAYER_KEY" -concurrency "$PULLS")
  else
    out=$(client "$s" pulls -repo bench/app -tag v1 -concurrency "$PULLS")
  fi
  record "$r" pulls "$s" p99 "$(jget "$out" p99)"
  record "$r" pulls "$s" p50 "$(jget "$out" p50)"
  record "$r" pulls "$s" mib_per_s "$(jget "$out" mib_per_s)"
  log "  $PULLS pulls ${NAME[$s]:-$s}: p99 $(jget "$out" p99 | cut -c1-5) s"
}

catalog() {
  local r=$1 s=$2 out i n
  for ((i = 1; i <= CATALOG_REPEAT; i++)); do
    if [[ $s == limit ]]; then
      out=$(limit list -prefix "$RROOT/docker/registry/v2/repositories/cat/" -delimiter /)
      n=$(jget "$out" prefixes)
    else
      out=$(client "$s" catalog -n "$PAGE")
      n=$(jget "$out" repositories)
    fi
    ((n >= REPOS)) || { log "catalog ${NAME[$s]:-$s}: $n repositories, fewer than $REPOS"; exit 1; }
    record "$r" catalog "$s" seconds "$(jget "$out" seconds)"
    record "$r" catalog "$s" repositories "$n"
  done
  log "  catalog ${NAME[$s]:-$s}: $(jget "$out" seconds | cut -c1-6) s, $n repositories"
}

# ----------------------------------------------------------------- the run ---
{
  echo "# Environment"
  echo
  echo "- date: $DATE; command: bench/s3.sh $( ((SMOKE)) && echo --smoke) --rounds $ROUNDS"
  echo "- cpu: $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -sr); disk for the bucket: $(df -h --output=source,fstype,size "$WORK" | tail -1 | tr -s ' ')"
  echo "- S3 server: versitygw $VERSITYGW_VERSION, posix backend on $WORK/s3, $S3_URL"
  echo "- JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); Berth JVM options: $BERTH_JAVA_OPTS ${BERTH_AOT_OPTS[*]:-(no AOT cache)}; Berth commit $BERTH_VERSION"
  echo "- registry:2: Debian docker-registry $BENCH_REGISTRY2_VERSION; distribution: $BENCH_DISTRIBUTION_VERSION; limit: bench/s3limit (aws-sdk-go-v2 $(awk '$1 == "github.com/aws/aws-sdk-go-v2/service/s3" {print "service/s3 " $2}' "$BENCH/s3limit/go.mod"), feature/s3/manager $(awk '$1 == "require" && $2 ~ /manager/ {print $3} $1 ~ /manager$/ {print $2}' "$BENCH/s3limit/go.mod")); $(go version | awk '{print $3}')"
  echo "- sizes: push and pull $((BIG / MiB)) MiB; $PULLS pulls × (one $((APP_LAYER / MiB)) MiB layer + config); catalog $REPOS repositories (+ bench/big, bench/app, bench/push), n=$PAGE; chunksize / part size $((CHUNK / MiB)) MiB, Berth's partConcurrency and the limit's $PART_CONCURRENCY"
  echo "- measured: ${ACTIVE[*]} limit${BERTH_NOTE:+; $BERTH_NOTE}"
} >"$OUT/env.md"

started=$SECONDS
N=${#PARTICIPANTS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
  ORDER=()
  for ((i = 0; i < N; i++)); do ORDER+=("${PARTICIPANTS[$(((round - 1 + i) % N))]}"); done
  log "round $round/$ROUNDS, order ${ORDER[*]}, load $(cut -d' ' -f1-3 /proc/loadavg)"
  record "$round" machine start loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
  for w in catalog pull pulls push; do
    for s in "${ORDER[@]}"; do "$w" "$round" "$s"; done
  done
  record "$round" machine end loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
done
for s in "${ACTIVE[@]}"; do stop_pid "$s" 100; done
stop_pid versitygw 100
log "done in $((SECONDS - started))s"

python3 "$BENCH/s3_table.py" "$RAW" "$OUT/env.md" "$SMOKE" "$BERTH_NOTE" >"$OUT/table.md"
cat "$OUT/table.md"
rm -rf "${WORK:?}/s3"
