#!/usr/bin/env bash
# Pull-through cache (issue 9): Berth's `proxy` beside registry:2's, both in front of the same local upstream.
#
#   bench/proxy.sh               # 5 rounds, one image with a 1 GiB layer of random bytes (about 4 minutes here)
#   bench/proxy.sh --rounds 3    # fewer rounds
#   bench/proxy.sh --smoke       # a 10 MiB layer, one round, seconds; for bin/test (no timing assertions)
#
# The upstream is registry:2 (Debian's docker-registry) on 127.0.0.1:15301, plain HTTP, no auth, holding
# bench/big:v1: an OCI manifest, a small config and one layer of random bytes (generated once into the work dir and
# kept between runs). Each round starts two proxies of it, each on its own empty cache directory, with the same
# registry:2 config.yml (only the root directory and the port differ): registry:2 on 15302 and Berth on 15303.
# Then, for each proxy in turn (the order alternates between rounds):
#   cold: pull the image through the empty cache: GET the manifest by tag, then the config and the layer
#         (curl, bodies to /dev/null), timed from the first request to the last byte;
#   warm: once the layer is complete in both caches, the same pull three more times through each, taking turns
#         (A B A B A B); then the layer alone three more times each with bench/run.sh's Go client (W2's), a
#         cross-check of curl.
# Before that, right after its start, each proxy pulls a small other image (64 MiB layer), untimed: a proxy that has
# been running a while has fetched other images (and the JVM has compiled its paths).
# Every pull checks each blob's size; round 1 (and --smoke) also checks the layer's SHA-256 as each cache serves it,
# and the upstream's layer GETs are counted from its access log (registry:2's proxy makes two per cold pull).
# Both proxies are stopped and their caches removed at the end of each round.
#
# Output: bench/results/<UTC date>-proxy[-smoke]/{raw.tsv,table.md,env.md,logs/}, the table on stdout.
# Ratios are registry:2's time / Berth's time (the same as Berth's MiB/s / registry:2's): above 1, Berth is faster.
# Environment: BERTH_TOOLS (default /var/cache/berth-tools), BENCH_WORK (scratch, default /var/tmp/berth-proxy-bench;
# everything but the generated layers is wiped at the start), BENCH_BERTH_JAVA_OPTS (default: bin/berth's).
# Shares with bench/run.sh: bench/lib.sh (stop_pid, ensure_berth_jar), scripts/berth-aot.sh, the private copy of
# the jar and the JVM options. Only one run at a time (fixed ports 15301-15303).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
WORK="${BENCH_WORK:-/var/tmp/berth-proxy-bench}"
ROUNDS=5
WARM_PULLS=3
SMOKE=0
OUT=""
. "$BENCH/lib.sh"   # stop_pid, ensure_berth_jar, bench_options
bench_options "$@"
log() { printf '[proxy-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

MiB=$((1 << 20))
if ((SMOKE)); then LAYER_SIZE=$((10 * MiB)); WARMUP_SIZE=$((1 * MiB)); else LAYER_SIZE=$((1024 * MiB)); WARMUP_SIZE=$((64 * MiB)); fi
REPO=bench/big
WARMUP_REPO=bench/warmup
TAG=v1
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
SERVERS=(registry2 berth)
declare -A NAME=([upstream]="upstream registry:2" [registry2]=registry:2 [berth]=Berth)
declare -A PORT=([upstream]=15301 [registry2]=15302 [berth]=15303)

# ------------------------------------------------------------ processes -----
declare -A PID=()
cleanup() {
  local s
  for s in "${!PID[@]}"; do stop_pid "$s" 100; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ setup ----
[[ -f "$BERTH_TOOLS/env.sh" ]] && . "$BERTH_TOOLS/env.sh"
REGISTRY2="${BERTH_REGISTRY2:-/usr/bin/docker-registry}"
[[ -x "$REGISTRY2" ]] || { log "registry:2 ($REGISTRY2) is missing: run scripts/install-peers.sh"; exit 1; }
REGISTRY2_VERSION=$(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null || "$REGISTRY2" --version 2>/dev/null | head -1)
. "$ROOT/scripts/java-env.sh"

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
SUFFIX=-proxy; ((SMOKE)) && SUFFIX=-proxy-smoke
OUT="${OUT:-$BENCH/results/$DATE$SUFFIX}"
mkdir -p "$OUT/logs"
RAW="$OUT/raw.tsv"
printf 'round\tserver\tpull\tmetric\tvalue\n' >"$RAW"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }

# The work dir is wiped but for the generated layers, kept (as layer-<bytes>.bin) for later runs of either size.
LAYER_FILE="$WORK/layer-$LAYER_SIZE.bin"
mkdir -p "$WORK"
find "$WORK" -mindepth 1 -maxdepth 1 ! -name 'layer-*.bin' -exec rm -rf {} +
mkdir -p "$WORK"/{berth,conf,data}
log "work dir $WORK, results $OUT"

# Berth: a private copy of the jar (others rebuild the tree while this runs) with bin/berth's start-up cache,
# as bench/run.sh does.
jar=$(ensure_berth_jar "$ROOT")
cp "$jar" "$WORK/berth/"
cp -r "$ROOT/registry-server/target/lib" "$WORK/berth/lib"
BERTH_VERSION=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
BERTH_JAVA_OPTS="${BENCH_BERTH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=25}"   # bin/berth's defaults
. "$ROOT/scripts/berth-aot.sh"
# shellcheck disable=SC2086
berth_aot_prepare "$WORK/berth/berth-server.jar" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS

# W2's client (bench/client), for a cross-check of the warm layer GET; skipped without Go.
CLIENT=""
if command -v go >/dev/null; then
  mkdir -p "$WORK/bin"
  if (cd "$BENCH/client" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$WORK/bin/benchclient" .); then
    CLIENT="$WORK/bin/benchclient"
  fi
fi
[[ -n "$CLIENT" ]] || log "no Go toolchain: the cross-check with bench/client is skipped"

if [[ ! -f "$LAYER_FILE" || $(stat -c %s "$LAYER_FILE") != "$LAYER_SIZE" ]]; then
  log "generating the layer: $((LAYER_SIZE / MiB)) MiB of random bytes into $LAYER_FILE"
  head -c "$LAYER_SIZE" /dev/urandom >"$LAYER_FILE.tmp"
  mv "$LAYER_FILE.tmp" "$LAYER_FILE"
fi

# config WHO: one registry:2 config.yml; the proxies differ from each other only in root directory and port.
config() {
  local s=$1 f="$WORK/conf/$1.yml"
  mkdir -p "$WORK/data/$s"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  accesslog:"
    # the upstream's access log counts the proxies' fetches
    if [[ $s == upstream ]]; then echo "    disabled: false"; else echo "    disabled: true"; fi
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
    echo "  addr: 127.0.0.1:${PORT[$s]}"
    echo "  secret: berth-bench-not-a-secret"
    if [[ $s != upstream ]]; then
      echo "proxy:"
      echo "  remoteurl: http://127.0.0.1:${PORT[upstream]}"
    fi
  } >"$f"
  printf '%s\n' "$f"
}

url() { echo "http://127.0.0.1:${PORT[$1]}"; }

start() { # start WHO LOGFILE
  local s=$1 logf=$2 conf
  conf=$(config "$s")
  case "$s" in
    upstream|registry2) "$REGISTRY2" serve "$conf" >"$logf" 2>&1 & ;;
    berth)
      # shellcheck disable=SC2086
      "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS ${BERTH_AOT_OPTS[@]+"${BERTH_AOT_OPTS[@]}"} \
        -jar "$WORK/berth/berth-server.jar" serve "$conf" >"$logf" 2>&1 & ;;
  esac
  PID[$s]=$!
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "$(url "$s")/v2/" 2>/dev/null; then return 0; fi
    kill -0 "${PID[$s]}" 2>/dev/null || break
    sleep 0.05
  done
  log "${NAME[$s]} did not start; its log:"; tail -20 "$logf" >&2; exit 1
}

stop() { stop_pid "$1" 100; }

# ----------------------------------------------------------- the upstream ---
start upstream "$OUT/logs/upstream.log"
up=$(url upstream)
push_blob() { # push_blob REPO FILE DIGEST: a monolithic upload (POST, then PUT with the body, streamed from the file)
  local repo=$1 loc
  shift
  loc=$(curl -fsS -X POST -o /dev/null -D - "$up/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ $loc == http* ]] || loc="$up$loc"
  [[ $loc == *\?* ]] && loc="$loc&digest=$2" || loc="$loc?digest=$2"
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' -T "$1" -o /dev/null "$loc"
}
push_image() { # push_image REPO LAYER_FILE: a config and the layer, then the OCI manifest as :$TAG; prints the layer digest
  local repo=$1 file=$2 layer config
  layer="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' "$layer" >"$WORK/config.json"
  config="sha256:$(sha256sum "$WORK/config.json" | cut -d' ' -f1)"
  push_blob "$repo" "$WORK/config.json" "$config"
  push_blob "$repo" "$file" "$layer"
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
    "$OCI_MANIFEST" "$config" "$(stat -c %s "$WORK/config.json")" "$layer" "$(stat -c %s "$file")" >"$WORK/manifest.json"
  curl -fsS -X PUT -H "Content-Type: $OCI_MANIFEST" --data-binary "@$WORK/manifest.json" -o /dev/null "$up/v2/$repo/manifests/$TAG"
  printf '%s\n' "$layer"
}
log "pushing $REPO:$TAG and $WARMUP_REPO:$TAG to the upstream"
LAYER_DIGEST=$(push_image "$REPO" "$LAYER_FILE")
head -c "$WARMUP_SIZE" /dev/urandom >"$WORK/warmup.bin"
push_image "$WARMUP_REPO" "$WORK/warmup.bin" >/dev/null
upstream_layer_gets() { grep -c "\"GET /v2/$REPO/blobs/$LAYER_DIGEST " "$OUT/logs/upstream.log" || true; }

# ----------------------------------------------------------------- a pull ---
# pull WHO ROUND LABEL [REPO]: the manifest by tag, then each blob it names in turn on one connection, bodies
# discarded. Records the wall time from the first request to the last byte, the layer GET's own time and its first
# byte (for REPO $REPO only; the warm-up image's pull records nothing).
pull() {
  local s=$1 r=$2 label=$3 repo=${4:-$REPO} base manifest rest digests=() sizes=() lines i code size ttfb total
  base=$(url "$s")
  T0=$EPOCHREALTIME
  manifest=$(curl -fsS -H "Accept: $OCI_MANIFEST" "$base/v2/$repo/manifests/$TAG")
  rest=$manifest
  while [[ $rest =~ \"digest\":\"(sha256:[0-9a-f]{64})\",\"size\":([0-9]+) ]]; do
    digests+=("${BASH_REMATCH[1]}"); sizes+=("${BASH_REMATCH[2]}")
    rest=${rest#*"${BASH_REMATCH[0]}"}
  done
  ((${#digests[@]} == 2)) || { log "${NAME[$s]}: unexpected manifest: $manifest"; exit 1; }
  local args=()
  for i in "${!digests[@]}"; do args+=(-o /dev/null "$base/v2/$repo/blobs/${digests[$i]}"); done
  mapfile -t lines < <(curl -sS -w '%{http_code} %{size_download} %{time_starttransfer} %{time_total}\n' "${args[@]}")
  T1=$EPOCHREALTIME
  for i in "${!digests[@]}"; do
    read -r code size ttfb total <<<"${lines[$i]:-0 0 0 0}"
    if [[ $code != 200 || $size != "${sizes[$i]}" ]]; then
      log "${NAME[$s]} ($label): ${digests[$i]} answered $code with $size bytes, not 200 with ${sizes[$i]}"; exit 1
    fi
  done
  [[ $repo == "$REPO" ]] || return 0
  # the layer is the manifest's second blob
  read -r code size ttfb total <<<"${lines[1]}"
  local secs
  secs=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.4f", b - a}')
  record "$r" "$s" "$label" seconds "$secs"
  record "$r" "$s" "$label" mib_per_s "$(awk -v n="$LAYER_SIZE" -v t="$secs" 'BEGIN {printf "%.1f", n / 1048576 / t}')"
  record "$r" "$s" "$label" layer_ttfb_s "$ttfb"
  record "$r" "$s" "$label" layer_get_s "$total"
  log "  ${NAME[$s]} $label: $secs s (layer: first byte after $ttfb s, last after $total s)"
}

# cached WHO ROUND: waits until WHO's cache holds the layer (its data file, complete, in registry:2's layout) and
# records when that was, from the start of the cold pull (T0); the pull's end (T1) if it was complete by the first
# look. registry:2 2.8 streams the client's copy and stores its own from a second upstream GET in the background,
# which may finish later than the client's.
cached() {
  local s=$1 r=$2 hex=${LAYER_DIGEST#sha256:} f t=$T1
  f="$WORK/data/$s/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
  for _ in $(seq 1 60000); do
    if [[ -f $f && $(stat -c %s "$f") == "$LAYER_SIZE" ]]; then
      record "$r" "$s" cold cached_s "$(awk -v a="$T0" -v b="$t" 'BEGIN {printf "%.4f", b - a}')"
      return 0
    fi
    sleep 0.01
    t=$EPOCHREALTIME
  done
  log "${NAME[$s]} never stored the layer in its cache ($f)"; exit 1
}

verify() { # verify WHO: the layer's SHA-256 as the cache serves it (untimed)
  local got
  got="sha256:$(curl -fsS "$(url "$1")/v2/$REPO/blobs/$LAYER_DIGEST" | sha256sum | cut -d' ' -f1)"
  [[ $got == "$LAYER_DIGEST" ]] || { log "${NAME[$1]} served a layer with digest $got, not $LAYER_DIGEST"; exit 1; }
}

# ----------------------------------------------------------------- the run ---
{
  echo "# Environment"
  echo
  echo "- date: $DATE; command: bench/proxy.sh $( ((SMOKE)) && echo --smoke) --rounds $ROUNDS"
  echo "- cpu: $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -sr); disk for data: $(df -h --output=source,fstype,size "$WORK" | tail -1 | tr -s ' ')"
  echo "- JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); Berth JVM options: $BERTH_JAVA_OPTS ${BERTH_AOT_OPTS[*]:-(no AOT cache)}; Berth commit $BERTH_VERSION"
  echo "- registry:2 (upstream and proxy): Debian docker-registry $REGISTRY2_VERSION; client: $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "- image: $REPO:$TAG, one layer of $((LAYER_SIZE / MiB)) MiB of random bytes ($LAYER_DIGEST) and a config; $WARM_PULLS warm pulls per round"
} >"$OUT/env.md"

started=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then ORDER=(registry2 berth); else ORDER=(berth registry2); fi
  log "round $round/$ROUNDS, order ${ORDER[*]}, load $(cut -d' ' -f1-3 /proc/loadavg)"
  record "$round" machine start loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
  for s in "${ORDER[@]}"; do
    rm -rf "${WORK:?}/data/$s"
    start "$s" "$OUT/logs/$s-r$round.log"
    # A proxy that has been running a while has fetched other images: one small image first, untimed.
    pull "$s" "$round" warmup "$WARMUP_REPO"
  done
  for s in "${ORDER[@]}"; do
    before=$(upstream_layer_gets)
    pull "$s" "$round" cold
    cached "$s" "$round"
    record "$round" "$s" cold upstream_layer_gets $(($(upstream_layer_gets) - before))
  done
  # Warm pulls take turns (A B A B ...), so that load from outside hits both alike.
  declare -A WARM_GETS=([registry2]=0 [berth]=0)
  for ((i = 1; i <= WARM_PULLS; i++)); do
    for s in "${ORDER[@]}"; do
      before=$(upstream_layer_gets)
      pull "$s" "$round" "warm$i"
      WARM_GETS[$s]=$((WARM_GETS[$s] + $(upstream_layer_gets) - before))
    done
  done
  # The cross-check: the layer alone with W2's client (bench/client, Go), also taking turns.
  if [[ -n "$CLIENT" ]]; then
    for ((i = 1; i <= WARM_PULLS; i++)); do
      for s in "${ORDER[@]}"; do
        out=$("$CLIENT" pull -url "$(url "$s")" -repo "$REPO" -digest "$LAYER_DIGEST")
        record "$round" "$s" "warm$i" go_layer_mib_per_s "$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["mib_per_s"], 1))' "$out")"
      done
    done
  fi
  for s in "${ORDER[@]}"; do
    record "$round" "$s" warm upstream_layer_gets "${WARM_GETS[$s]}"
    if ((round == 1)); then verify "$s"; fi
  done
  for s in "${ORDER[@]}"; do stop "$s"; rm -rf "${WORK:?}/data/$s"; done
  record "$round" machine end loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
done
stop upstream
log "done in $((SECONDS - started))s"

python3 - "$RAW" "$OUT/env.md" >"$OUT/table.md" <<'EOF'
import collections, statistics, sys
raw, env = sys.argv[1], sys.argv[2]
v = collections.defaultdict(list)
with open(raw) as f:
    next(f)
    for line in f:
        r, s, pull, metric, value = line.rstrip("\n").split("\t")
        kind = "warm" if pull.startswith("warm") else pull
        v[(s, kind, metric)].append(float(value))
med = lambda s, k, m: statistics.median(v[(s, k, m)]) if v[(s, k, m)] else float("nan")
print(open(env).read())
print("# Pull-through cache: Berth's proxy vs registry:2's, same upstream\n")
print("Medians over the rounds (warm: every warm pull of every round). The ratio is registry:2's time / Berth's "
      "(= Berth's MiB/s / registry:2's): above 1, Berth is faster.\n")
print("| pull | metric | registry:2 | Berth | Berth vs registry:2 | target | met |")
print("|---|---|---|---|---|---|---|")
for kind, target in (("cold", 1.0), ("warm", 1.2)):
    a, b = med("registry2", kind, "seconds"), med("berth", kind, "seconds")
    ratio = a / b
    print(f"| {kind} | whole pull (manifest + config + layer), s | {a:.3f} | {b:.3f} | {ratio:.2f}× | ≥ {target}× | {'yes' if ratio >= target else '**no**'} |")
    a2, b2 = med("registry2", kind, "mib_per_s"), med("berth", kind, "mib_per_s")
    print(f"| {kind} | layer bytes / whole pull time, MiB/s | {a2:.0f} | {b2:.0f} | {b2 / a2:.2f}× |  |  |")
    for m, label in (("layer_ttfb_s", "layer GET, time to first byte, s"), ("layer_get_s", "layer GET, time to last byte, s")):
        a3, b3 = med("registry2", kind, m), med("berth", kind, m)
        print(f"| {kind} | {label} | {a3:.3f} | {b3:.3f} | {a3 / b3 if b3 else float('nan'):.2f}× |  |  |")
    if kind == "cold":
        a5, b5 = med("registry2", kind, "cached_s"), med("berth", kind, "cached_s")
        print(f"| cold | the layer complete in the cache, s after the pull began (polled every 10 ms) | {a5:.3f} | {b5:.3f} | {a5 / b5:.2f}× |  |  |")
    if kind == "warm" and v[("berth", "warm", "go_layer_mib_per_s")]:
        a6, b6 = med("registry2", kind, "go_layer_mib_per_s"), med("berth", kind, "go_layer_mib_per_s")
        print(f"| warm | layer GET alone with W2's Go client, MiB/s (cross-check) | {a6:.0f} | {b6:.0f} | {b6 / a6:.2f}× | ≥ 1.2× | {'yes' if b6 / a6 >= 1.2 else '**no**'} |")
    a4, b4 = med("registry2", kind, "upstream_layer_gets"), med("berth", kind, "upstream_layer_gets")
    print(f"| {kind} | the upstream's layer GETs per {'pull' if kind == 'cold' else 'round'} | {a4:g} | {b4:g} |  |  |  |")
loads = v[("machine", "start", "loadavg1")] + v[("machine", "end", "loadavg1")]
print(f"\nRounds: {len(v[('berth', 'cold', 'seconds')])}; 1-minute load average at round boundaries: {min(loads):g}–{max(loads):g} "
      "(2 cores; the upstream, the proxy and curl share them).")
for s, name in (("registry2", "registry:2"), ("berth", "Berth")):
    print(f"\n{name} samples (s): cold {', '.join(f'{x:.3f}' for x in v[(s, 'cold', 'seconds')])}; "
          f"warm {', '.join(f'{x:.3f}' for x in v[(s, 'warm', 'seconds')])}")
EOF
cat "$OUT/table.md"
rm -rf "${WORK:?}/data"
