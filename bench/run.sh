#!/usr/bin/env bash
# Berth vs registry:2 vs distribution v3, side by side on this machine, loopback only.
#
#   bench/run.sh                  # the full run: 3 rounds, 1 GiB layers, W6 with 10 GiB (~20-25 min here)
#   bench/run.sh --rounds 3       # fewer rounds
#   bench/run.sh --only W1,W4     # some workloads only (W1..W7, L = physical limits, A = admission)
#   bench/run.sh --smoke          # tiny sizes, one round, < 2 minutes (for CI)
#   bench/run.sh --jfr            # also record a JFR profile of Berth (results dir, berth-*.jfr)
#
# It installs its tools once (scripts/install-bench.sh: wrk, htpasswd, registry:2 from Debian,
# distribution v3 built from the Go module proxy), builds Berth if its jar is stale, builds the Go
# client in bench/client, and then for each round:
#   plain HTTP: start the three servers (W7 is their time to a first 200 on /v2/), run W1 W2 W3 W4 W5
#               and the physical limits, each workload against each server in turn, A B C, then the
#               next round rotates the order (B C A, C A B, ...); stop them;
#   TLS:        the same three servers, same data, with TLS on: W1 W2 W3 W4 and W7 again.
# After the rounds, W6 restarts each server alone and reads its peak RSS (VmHWM) after a 1 GiB
# and a 10 GiB push. Every server gets the same kind of config: its own directory on the same disk,
# the same certificate and bcrypt htpasswd file, delete enabled, access logs off. Last, A runs
# bench/admission.sh (with --smoke under --smoke): Berth's admission webhook beside sigstore
# policy-controller, results in <results>/admission/.
#
# Output: bench/results/<UTC date>/{raw.tsv,table.md,env.md,logs/} and the table on stdout.
# Environment: BERTH_TOOLS (tool cache, default /var/cache/berth-tools), BENCH_WORK (scratch data,
# default /var/tmp/berth-bench; it is wiped at start), BENCH_BERTH_JAVA_OPTS (default: bin/berth's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
WORK="${BENCH_WORK:-/var/tmp/berth-bench}"
ROUNDS=3
SMOKE=0
ONLY=""
JFR=0
OUT=""

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --smoke) SMOKE=1; ROUNDS=1 ;;
    --rounds) ROUNDS="${2:?--rounds N}"; shift ;;
    --rounds=*) ROUNDS="${1#*=}" ;;
    --only) ONLY="${2:?--only W1,W4}"; shift ;;
    --only=*) ONLY="${1#*=}" ;;
    --jfr) JFR=1 ;;
    --out) OUT="${2:?--out DIR}"; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds wants a positive number" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
want() { [[ -z "$ONLY" || ",${ONLY^^}," == *",$1,"* ]]; }

# ------------------------------------------------------------------ sizes ---
MiB=$((1 << 20)); GiB=$((1 << 30))
if ((SMOKE)); then
  W1_SIZE=$((32 * MiB)); W3_LAYER=$((2 * MiB)); W3_CONC=16; W4_SECS=1; W4_WARM=1; W4_CONNS=16
  W5_BLOBS=80; W5_MANIFESTS=8; W6_SMALL=$((16 * MiB)); W6_LARGE=$((64 * MiB)); WAIT_TIMEOUT=60s
else
  W1_SIZE=$GiB; W3_LAYER=$((50 * MiB)); W3_CONC=64; W4_SECS=6; W4_WARM=2; W4_CONNS=64
  W5_BLOBS=2000; W5_MANIFESTS=200; W6_SMALL=$GiB; W6_LARGE=$((10 * GiB)); WAIT_TIMEOUT=120s
fi
W1_CHUNK=$((8 * MiB)); W3_LAYERS=4; W5_CONC=8; W4_THREADS=2
USER_NAME=bench; USER_PASS=bench-secret-1
SERVERS=(registry2 distribution berth)
declare -A PORT_PLAIN=([registry2]=15001 [distribution]=15002 [berth]=15003)
declare -A PORT_TLS=([registry2]=15101 [distribution]=15102 [berth]=15103)

# ------------------------------------------------------------ processes -----
declare -A PID=()
cleanup() {
  local s p
  for s in "${!PID[@]}"; do
    p=${PID[$s]}
    kill -TERM "$p" 2>/dev/null || true
  done
  for s in "${!PID[@]}"; do
    p=${PID[$s]}
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "PID[$s]"
  done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ setup ----
BERTH_TOOLS="$BERTH_TOOLS" bash "$ROOT/scripts/install-bench.sh" 2>"$WORK.install.log" || {
  cat "$WORK.install.log" >&2; log "scripts/install-bench.sh failed"; exit 1; }
# shellcheck disable=SC1091
. "$BERTH_TOOLS/bench-env.sh"
# shellcheck disable=SC1091
. "$ROOT/scripts/java-env.sh"
. "$BENCH/lib.sh"

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
SUFFIX=""; ((SMOKE)) && SUFFIX=-smoke
OUT="${OUT:-$BENCH/results/$DATE$SUFFIX}"
mkdir -p "$OUT/logs"
RAW="$OUT/raw.tsv"
printf 'round\tphase\tworkload\tvariant\tserver\tmetric\tvalue\n' >"$RAW"

log "work dir $WORK (wiped), results $OUT"
rm -rf "$WORK"
mkdir -p "$WORK"/{bin,berth,conf,state,tls,data}

# Berth: build when the jar is older than the sources, then run a private copy, because others
# rebuild the tree while the bench runs.
jar=$(ensure_berth_jar "$ROOT")
cp "$jar" "$WORK/berth/"
cp -r "$ROOT/registry-server/target/lib" "$WORK/berth/lib"
BERTH_VERSION=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
BERTH_JAVA_OPTS="${BENCH_BERTH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=25}"   # bin/berth's defaults
# bin/berth's start-up cache, made for the copy (the cache holds only for the jar path it was trained with)
# shellcheck disable=SC1091
. "$ROOT/scripts/berth-aot.sh"
# shellcheck disable=SC2086
berth_aot_prepare "$WORK/berth/berth-server.jar" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS

log "building the Go client"
(cd "$BENCH/client" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$WORK/bin/benchclient" .)
CLIENT="$WORK/bin/benchclient"

# One throwaway CA and a server certificate for 127.0.0.1, shared by all three servers.
(
  cd "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj "/CN=berth-bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.csr \
    -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >ext.cnf
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 2 \
    -extfile ext.cnf 2>/dev/null
)
# bcrypt at htpasswd's default cost (5), as registry:2's documentation creates it.
htpasswd -Bbc "$WORK/htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null
AUTH_B64=$(printf '%s:%s' "$USER_NAME" "$USER_PASS" | base64 -w0)

# config SERVER PHASE: the same registry:2 config.yml for all three (Berth reads registry:2's keys).
config() {
  local s=$1 phase=$2 port f
  if [[ $phase == tls ]]; then port=${PORT_TLS[$s]}; else port=${PORT_PLAIN[$s]}; fi
  f="$WORK/conf/$s-$phase.yml"
  mkdir -p "$WORK/data/$s"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $WORK/data/$s"
    echo "  delete:"
    echo "    enabled: true"
    echo "  cache:"
    echo "    blobdescriptor: inmemory"
    echo "  maintenance:"
    echo "    uploadpurging:"
    echo "      enabled: false"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: berth-bench-not-a-secret"
    if [[ $phase == tls ]]; then
      echo "  tls:"
      echo "    certificate: $WORK/tls/tls.crt"
      echo "    key: $WORK/tls/tls.key"
    fi
    echo "auth:"
    echo "  htpasswd:"
    echo "    realm: berth-bench"
    echo "    path: $WORK/htpasswd"
  } >"$f"
  printf '%s\n' "$f"
}

url() { if [[ $2 == tls ]]; then echo "https://127.0.0.1:${PORT_TLS[$1]}"; else echo "http://127.0.0.1:${PORT_PLAIN[$1]}"; fi; }
client() { # client SERVER PHASE COMMAND [flags...]
  local s=$1 phase=$2 cmd=$3; shift 3
  local tlsflag=()
  [[ $phase == tls ]] && tlsflag=(-cacert "$WORK/tls/ca.crt")
  timeout 1800 "$CLIENT" "$cmd" -url "$(url "$s" "$phase")" -user "$USER_NAME" -pass "$USER_PASS" \
    "${tlsflag[@]}" -state "$WORK/state" "$@"
}
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }

JFR_N=0
start_server() { # start_server SERVER PHASE ROUND -> records W7
  local s=$1 phase=$2 round=$3 conf t0 ms
  conf=$(config "$s" "$phase")
  local logf="$OUT/logs/$s-$phase-r$round.log"
  t0=$(date +%s%N)
  case "$s" in
    registry2) "$BENCH_REGISTRY2" serve "$conf" >"$logf" 2>&1 & ;;
    distribution) "$BENCH_DISTRIBUTION" serve "$conf" >"$logf" 2>&1 & ;;
    berth)
      local jfr=()
      if ((JFR)); then
        JFR_N=$((JFR_N + 1))
        jfr=("-XX:StartFlightRecording=filename=$OUT/berth-$phase-r$round-$JFR_N.jfr,settings=profile,dumponexit=true")
      fi
      # shellcheck disable=SC2086
      "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS "${BERTH_AOT_OPTS[@]}" "${jfr[@]}" \
        -jar "$WORK/berth/berth-server.jar" serve "$conf" >"$logf" 2>&1 & ;;
  esac
  PID[$s]=$!
  if ! ms=$(client "$s" "$phase" wait-ready -since-ns "$t0" -timeout "$WAIT_TIMEOUT"); then
    log "$s ($phase) did not become ready; its log:"; tail -20 "$logf" >&2; exit 1
  fi
  record "$round" "$phase" W7 startup "$s" ms "$(jget "$ms" ms)"
  # CPU the process used until then (user + system), which other load on the machine does not inflate
  record "$round" "$phase" W7 startup "$s" cpu_ms "$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/${PID[$s]}/stat")"
}

stop_server() { stop_pid "$1" 100; }   # up to 10 s, then SIGKILL

# The servers in this round's order: round 1 A B C, round 2 B C A, round 3 C A B, ...
order() {
  local r=$1 i n=${#SERVERS[@]}
  for ((i = 0; i < n; i++)); do printf '%s\n' "${SERVERS[$(((r - 1 + i) % n))]}"; done
}

# Removes a pushed blob from a server's disk once it has answered (its digest is never used again).
drop_blob() {
  local s=$1 repo=$2 digest=$3 hex=${3#sha256:}
  local v2="$WORK/data/$s/docker/registry/v2"
  rm -rf "$v2/blobs/sha256/${hex:0:2}/$hex" "$v2/repositories/$repo/_layers/sha256/$hex"
}

peak_rss_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# ---------------------------------------------------------------- workloads ---
SEED_LAYER=""     # W2's layer digest (same content on every server)
seed_all() {
  local s out
  for s in "${SERVERS[@]}"; do
    out=$(client "$s" plain seed-blob -repo bench/big -size "$W1_SIZE" -seed 2 -nonce w2-layer)
    SEED_LAYER=$(jget "$out" digest)
    client "$s" plain seed-image -repo bench/app -tag v1 -layers "$W3_LAYERS" -layer-size "$W3_LAYER" -seed 3 >/dev/null
  done
}

w1() { # w1 ROUND PHASE SERVER MODE
  local r=$1 phase=$2 s=$3 mode=$4 out
  out=$(client "$s" "$phase" push -repo bench/push -size "$W1_SIZE" -seed 1 -mode "$mode" -chunk "$W1_CHUNK" \
    -nonce "w1-$r-$phase-$s-$mode")
  record "$r" "$phase" W1 "$mode" "$s" seconds "$(jget "$out" seconds)"
  record "$r" "$phase" W1 "$mode" "$s" mib_per_s "$(jget "$out" mib_per_s)"
  record "$r" "$phase" W1 "$mode" "$s" commit_seconds "$(jget "$out" commit_seconds)"   # the final PUT alone
  drop_blob "$s" bench/push "$(jget "$out" digest)"
}

w2() {
  local r=$1 phase=$2 s=$3 out
  out=$(client "$s" "$phase" pull -repo bench/big -digest "$SEED_LAYER")
  record "$r" "$phase" W2 full "$s" mib_per_s "$(jget "$out" mib_per_s)"
  out=$(client "$s" "$phase" pull -repo bench/big -digest "$SEED_LAYER" -from $((W1_SIZE / 2)))
  record "$r" "$phase" W2 range "$s" mib_per_s "$(jget "$out" mib_per_s)"
  # The first download of a fresh process also pays for its JIT warm-up; the third one much less.
  out=$(client "$s" "$phase" pull -repo bench/big -digest "$SEED_LAYER")
  record "$r" "$phase" W2 again "$s" mib_per_s "$(jget "$out" mib_per_s)"
}

w3() {
  local r=$1 phase=$2 s=$3 out
  out=$(client "$s" "$phase" pulls -repo bench/app -tag v1 -concurrency "$W3_CONC")
  record "$r" "$phase" W3 pulls "$s" p99 "$(jget "$out" p99)"
  record "$r" "$phase" W3 pulls "$s" p50 "$(jget "$out" p50)"
  record "$r" "$phase" W3 pulls "$s" mib_per_s "$(jget "$out" mib_per_s)"
}

w4() { # HEAD with the Go load generator (wrk and h2load wait for a body after HEAD), GET with wrk
  local r=$1 phase=$2 s=$3 line errs
  local path=/v2/bench/app/manifests/v1 accept="application/vnd.oci.image.manifest.v1+json"
  local methods=(HEAD)
  [[ $phase == plain ]] && methods+=(GET)   # the Go generator's GET: a cross-check of wrk's numbers
  for method in "${methods[@]}"; do
    line=$(client "$s" "$phase" load -method "$method" -path "$path" -accept "$accept" -concurrency "$W4_CONNS" \
      -warmup "${W4_WARM}s" -duration "${W4_SECS}s")
    errs=$(jget "$line" errors)
    if [[ "$errs" != 0 ]]; then log "W4 $s $phase $method: $line"; exit 1; fi
    record "$r" "$phase" W4 "${method,,}" "$s" req_per_s "$(jget "$line" req_per_s)"
    record "$r" "$phase" W4 "${method,,}" "$s" p99_ms "$(jget "$line" p99_ms)"
  done
  local env=(BENCH_METHOD=GET BENCH_PATH="$path" BENCH_AUTH="$AUTH_B64" BENCH_ACCEPT="$accept")
  env "${env[@]}" timeout 120 wrk -t "$W4_THREADS" -c "$W4_CONNS" -d "${W4_WARM}s" --timeout 30s -s "$BENCH/wrk/manifest.lua" \
    "$(url "$s" "$phase")" >/dev/null 2>&1 || true
  line=$(env "${env[@]}" timeout 120 wrk -t "$W4_THREADS" -c "$W4_CONNS" -d "${W4_SECS}s" --timeout 30s \
    -s "$BENCH/wrk/manifest.lua" "$(url "$s" "$phase")" 2>&1 | sed -n 's/^BENCHJSON //p')
  [[ -n "$line" ]] || { log "wrk printed no result for $s $phase"; exit 1; }
  errs=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(sum(j[k] for k in j if k.startswith("err_")))' "$line")
  if [[ "$errs" != 0 ]]; then log "W4 $s $phase GET (wrk): errors $line"; exit 1; fi
  record "$r" "$phase" W4 get-wrk "$s" req_per_s "$(jget "$line" req_per_s)"
  record "$r" "$phase" W4 get-wrk "$s" p99_ms "$(jget "$line" p99_ms)"
}

w5() {
  local r=$1 phase=$2 s=$3 out
  out=$(client "$s" "$phase" ci -blobs "$W5_BLOBS" -manifests "$W5_MANIFESTS" -concurrency "$W5_CONC" -nonce "w5-$r-$phase-$s")
  record "$r" "$phase" W5 ci "$s" seconds "$(jget "$out" seconds)"
  record "$r" "$phase" W5 ci "$s" req_per_s "$(jget "$out" req_per_s)"
}

limits() { # the physical limits for W1/W2 on the same disk, same bytes
  local r=$1 out k
  out=$("$CLIENT" limits -size "$W1_SIZE" -seed 1 -dir "$WORK/data")
  for k in sha256_s disk_fsync_s disk_direct_s loopback_s; do record "$r" plain L limit machine "$k" "$(jget "$out" "$k")"; done
  out=$("$JAVA_HOME/bin/java" "$BENCH/tools/Sha256Rate.java" "$W1_SIZE")
  for k in java_direct64k_mib_s java_heap1m_mib_s; do record "$r" plain L limit machine "$k" "$(jget "$out" "$k")"; done
  out=$(openssl speed -seconds 2 -bytes 1048576 sha256 2>/dev/null | awk '/^sha256/ {sub("k","",$2); print $2}')
  record "$r" plain L limit machine openssl_sha256_mib_s "$(python3 -c "print(round($out * 1000 / 1048576, 1))")"
}

w6() { # peak RSS after pushing one layer of SIZE to a freshly started server
  local s=$1 size=$2 label=$3 out
  start_server "$s" plain w6 >/dev/null
  out=$(client "$s" plain push -repo bench/rss -size "$size" -seed 1 -mode stream -nonce "w6-$s-$size")
  record 1 plain W6 "$label" "$s" peak_rss_mib "$(peak_rss_mib "${PID[$s]}")"
  record 1 plain W6 "$label" "$s" seconds "$(jget "$out" seconds)"
  record 1 plain W6 "$label" "$s" size_mib $((size / MiB))
  drop_blob "$s" bench/rss "$(jget "$out" digest)"
  stop_server "$s"
}

# ----------------------------------------------------------------- the run ---
{
  echo "# Environment"
  echo
  echo "- date: $DATE; command: bench/run.sh $([ $SMOKE = 1 ] && echo --smoke) --rounds $ROUNDS ${ONLY:+--only $ONLY}"
  echo "- cpu: $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -sr); disk for data: $(df -h --output=source,fstype,size "$WORK" | tail -1 | tr -s ' ')"
  echo "- JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); Berth JVM options: $BERTH_JAVA_OPTS ${BERTH_AOT_OPTS[*]:-(no AOT cache)}; Berth commit $BERTH_VERSION"
  echo "- registry:2: Debian docker-registry $BENCH_REGISTRY2_VERSION; distribution: $BENCH_DISTRIBUTION_VERSION ($(go version | awk '{print $3}')); wrk $BENCH_WRK_VERSION"
  echo "- sizes: W1/W2 $((W1_SIZE / MiB)) MiB (chunks $((W1_CHUNK / MiB)) MiB); W3 $W3_CONC pulls × $W3_LAYERS × $((W3_LAYER / MiB)) MiB;" \
    "W4 $W4_CONNS connections, $W4_THREADS threads, ${W4_SECS}s after ${W4_WARM}s warm-up; W5 $W5_BLOBS blobs + $W5_MANIFESTS manifests at $W5_CONC;" \
    "W6 $((W6_SMALL / MiB)) and $((W6_LARGE / MiB)) MiB"
} >"$OUT/env.md"

started=$SECONDS
seeded=0
for ((round = 1; round <= ROUNDS; round++)); do
  mapfile -t ORDER < <(order "$round")
  log "round $round/$ROUNDS, plain HTTP, order ${ORDER[*]}"
  record "$round" plain ENV load start loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
  for s in "${ORDER[@]}"; do start_server "$s" plain "$round"; done
  if ((!seeded)); then log "seeding"; seed_all; seeded=1; fi
  if want W1; then
    for s in "${ORDER[@]}"; do w1 "$round" plain "$s" stream; done
    for s in "${ORDER[@]}"; do w1 "$round" plain "$s" chunked; done
  fi
  if want L; then limits "$round"; fi
  if want W2; then for s in "${ORDER[@]}"; do w2 "$round" plain "$s"; done; fi
  if want W3; then for s in "${ORDER[@]}"; do w3 "$round" plain "$s"; done; fi
  if want W4; then for s in "${ORDER[@]}"; do w4 "$round" plain "$s"; done; fi
  if want W5; then for s in "${ORDER[@]}"; do w5 "$round" plain "$s"; done; fi
  for s in "${ORDER[@]}"; do stop_server "$s"; done

  log "round $round/$ROUNDS, TLS, order ${ORDER[*]}"
  for s in "${ORDER[@]}"; do start_server "$s" tls "$round"; done
  if want W1; then for s in "${ORDER[@]}"; do w1 "$round" tls "$s" stream; done; fi
  if want W2; then for s in "${ORDER[@]}"; do w2 "$round" tls "$s"; done; fi
  if want W3; then for s in "${ORDER[@]}"; do w3 "$round" tls "$s"; done; fi
  if want W4; then for s in "${ORDER[@]}"; do w4 "$round" tls "$s"; done; fi
  for s in "${ORDER[@]}"; do stop_server "$s"; done
  record "$round" tls ENV load end loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
  log "round $round done ($((SECONDS - started))s so far)"
done

if want W6; then
  log "W6: peak RSS after a $((W6_SMALL / MiB)) MiB and a $((W6_LARGE / MiB)) MiB push, each on a fresh process"
  for s in "${SERVERS[@]}"; do
    ((SMOKE)) || w6 "$s" "$W6_SMALL" small
    w6 "$s" "$W6_LARGE" large
  done
fi

if want A; then
  log "A: the admission webhook (bench/admission.sh$( ((SMOKE)) && echo " --smoke"))"
  admission=(--out "$OUT/admission")
  ((SMOKE)) && admission+=(--smoke)
  bash "$BENCH/admission.sh" "${admission[@]}" >/dev/null
  log "A: table in $OUT/admission/table.md"
fi

log "done in $((SECONDS - started))s"
# Keep the logs small enough to commit: the peers log every 404 HEAD of W5 as an error.
for f in "$OUT"/logs/*.log; do
  n=$(wc -l <"$f")
  if ((n > 40)); then
    { head -n 40 "$f"; echo "[bench: $((n - 40)) more lines cut]"; } >"$f.tmp" && mv "$f.tmp" "$f"
  fi
done
python3 "$BENCH/summarize.py" "$RAW" "$OUT/env.md" >"$OUT/table.md"
cat "$OUT/table.md"
rm -rf "$WORK/data"
