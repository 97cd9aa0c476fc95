#!/usr/bin/env bash
# Admission: Berth's AdmissionReview webhook under load, beside sigstore policy-controller on the same reviews and key.
#
#   bench/admission.sh            # the full run: Berth, then policy-controller (about 4 minutes; the first run
#                                 # also builds policy-controller, about 3 more)
#   bench/admission.sh --smoke    # Berth only, 2 s per row (under a minute): checks the harness and every verdict
#   bench/admission.sh --no-peer  # Berth only, full length
#   bench/admission.sh --smoke --peer  # the smoke run with policy-controller too (about a minute once built)
#   bench/admission.sh --secs 30  # measure each row for 30 s (default 20), after 5 s of warm-up (15 s more
#                                 # before a webhook's first row, for the JIT)
#   bench/admission.sh --out DIR  # results directory (default bench/results/<UTC date>-admission[-smoke])
#
# What it does, all on loopback inside a private network namespace (unshare --net, so that policy-controller's
# fixed ports, which it opens on every interface, are private too, and nothing reaches the internet):
#   1. starts Berth (plain HTTP registry on 127.0.0.1:15203) with berth.trust (bench/** needs a signature by one
#      cosign key) and berth.admission (its TLS webhook on 127.0.0.1:15201, hosts [registry.bench.local]);
#   2. pushes 3 small images to bench/app-a, -b, -c with crane and signs them air-gapped: a and b with cosign v3
#      (sigstore bundles as OCI 1.1 referrers), c with cosign v2 (the legacy .sig tag); pushes 3 unsigned images to
#      the same repositories;
#   3. loads the webhook with wrk (bench/wrk/admission.lua): the AdmissionReview of a Pod with the 3 images, each
#      pinned by digest, POSTed over TLS on 64 keep-alive connections (2 wrk threads); every answer must be a 200
#      carrying "allowed":true (or "allowed":false for the unsigned pod), or the run fails. Rows: signed (64
#      connections, as fast as they go), unsigned (the same, refusals), paced (Berth only: 64 connections, each
#      pausing 11 ms between reviews, a little over 5,000 reviews/s, the target rate), single (1 connection, one
#      review every 50 ms: the latency of a webhook that is not loaded);
#   4. unless --smoke or --no-peer: starts etcd and kube-apiserver (scripts/install-k8s.sh), installs
#      policy-controller's CRDs and ConfigMaps, one ClusterImagePolicy with the same public key, and runs
#      policy-controller's webhook binary (scripts/install-bench.sh policy-controller) against that API server;
#      it fetches signatures from Berth over loopback HTTP. The same three rows against it. policy-controller
#      v0.13.1 cannot verify key-signed cosign v3 bundles, so the harness first checks that it refuses a and b,
#      then adds cosign v2 signatures to them (the same key) before its rows.
#
# Output: <results>/{raw.tsv,table.md,env.md,logs/} and the table on stdout. It exits non-zero on an error (a
# server that does not start, a wrong verdict, an HTTP error under load), never on a missed target.
# Environment: BERTH_TOOLS (tool cache, default /var/cache/berth-tools), BENCH_WORK (scratch, default
# /var/tmp/berth-bench-admission, wiped at start), BENCH_BERTH_JAVA_OPTS (default: bin/berth's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
WORK="${BENCH_WORK:-/var/tmp/berth-bench-admission}"
SMOKE=0
PEER=1
SECS=20
WARM=5
OUT=""
FORCE_PEER=0
ARGS=("$@")

usage() { sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --smoke) SMOKE=1; PEER=0 ;;
    --no-peer) PEER=0; FORCE_PEER=0 ;;
    --peer) FORCE_PEER=1 ;;
    --secs) SECS="${2:?--secs N}"; shift ;;
    --secs=*) SECS="${1#*=}" ;;
    --out) OUT="${2:?--out DIR}"; shift ;;
    --out=*) OUT="${1#*=}" ;;
    -h|--help) usage 0 ;;
    *) echo "admission.sh: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done
((FORCE_PEER)) && PEER=1
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "admission.sh: --secs wants a positive number" >&2; exit 2; }
FIRST_WARM=15   # before a webhook's first row: the JIT's warm-up (at 5 s the first row's p99 was still twice the next's)
if ((SMOKE)); then SECS=2; WARM=1; FIRST_WARM=1; fi
SINGLE_SECS=$(( SECS / 2 > 1 ? SECS / 2 : 1 ))
CONNS=64; THREADS=2; SINGLE_DELAY_MS=50
PACED_DELAY_MS=11   # 64 connections, each pausing 11 ms before a review: a little over 5,000 reviews/s

log() { printf '[admission %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Ports, private to the network namespace. policy-controller's are fixed by knative (webhook 8443, probes 8080,
# profiling 8008, metrics 9090) and open on every interface.
REGISTRY_PORT=15203; ADMISSION_PORT=15201; STANDALONE_PORT=15202
ETCD_PORT=15210; ETCD_PEER_PORT=15211; ETCD_METRICS_PORT=15212; APISERVER_PORT=15213
PC_PORT=8443
HOST=registry.bench.local

# ------------------------------------------------ outside the namespace: tools, build, then re-enter ---
if [[ "${BENCH_ADMISSION_INSIDE:-0}" != 1 ]]; then
  install_args=()
  ((PEER)) && install_args=(policy-controller)
  BERTH_TOOLS="$BERTH_TOOLS" bash "$ROOT/scripts/install-bench.sh" "${install_args[@]}" 2>"$WORK.install.log" || {
    cat "$WORK.install.log" >&2; log "scripts/install-bench.sh failed"; exit 1; }
  [[ -f "$BERTH_TOOLS/env.sh" ]] || { log "no $BERTH_TOOLS/env.sh: run scripts/install-peers.sh (cosign, crane)"; exit 1; }
  # shellcheck disable=SC1091
  . "$ROOT/scripts/java-env.sh"
  jar="$ROOT/registry-server/target/berth-server.jar"
  if [[ ! -f "$jar" || -n "$(find "$ROOT"/storage/src/main "$ROOT"/auth/src/main "$ROOT"/registry-server/src/main "$ROOT"/pom.xml "$ROOT"/*/pom.xml -newer "$jar" -type f 2>/dev/null | head -1)" ]]; then
    log "building Berth (mvn package, tests skipped)"
    (cd "$ROOT" && mvn -B -q -ntp -Dmaven.test.skip=true -pl registry-server -am package >&2)
  fi
  rm -rf "$WORK"
  mkdir -p "$WORK"/{berth,conf,tls,keys,home,layers,k8s,reviews}
  # A private copy, because others rebuild the tree while the bench runs.
  cp "$jar" "$WORK/berth/"
  cp -r "$ROOT/registry-server/target/lib" "$WORK/berth/lib"
  export BENCH_ADMISSION_INSIDE=1 BERTH_TOOLS BENCH_WORK="$WORK"
  if unshare --net true 2>/dev/null; then
    exec unshare --net -- "$BASH" "${BASH_SOURCE[0]}" "${ARGS[@]}"
  fi
  if ((PEER)); then
    log "cannot make a private network namespace (unshare --net needs root): policy-controller skipped," \
      "since it opens fixed ports on every interface"
  fi
  export BENCH_ADMISSION_NO_NETNS=1
  exec "$BASH" "${BASH_SOURCE[0]}" "${ARGS[@]}" --no-peer
fi

# ------------------------------------------------------------------ inside: the measurement ---
if [[ "${BENCH_ADMISSION_NO_NETNS:-0}" != 1 ]]; then
  ip link set lo up
fi
# shellcheck disable=SC1091
. "$BERTH_TOOLS/bench-env.sh"
# shellcheck disable=SC1091
. "$BERTH_TOOLS/env.sh"
# shellcheck disable=SC1091
. "$ROOT/scripts/java-env.sh"
. "$BENCH/lib.sh"
if ((PEER)); then
  if [[ -z "${BENCH_POLICY_CONTROLLER:-}" || ! -f "$BERTH_TOOLS/k8s-env.sh" ]]; then
    log "policy-controller or kube-apiserver not installed (scripts/install-bench.sh policy-controller," \
      "scripts/install-k8s.sh): policy-controller skipped"
    PEER=0
  else
    # shellcheck disable=SC1091
    . "$BERTH_TOOLS/k8s-env.sh"
  fi
fi
export HOME="$WORK/home" COSIGN_PASSWORD=""   # cosign and crane keep their files out of the real home

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
SUFFIX=-admission; ((SMOKE)) && SUFFIX=-admission-smoke
OUT="${OUT:-$BENCH/results/$DATE$SUFFIX}"
mkdir -p "$OUT/logs"
RAW="$OUT/raw.tsv"
printf 'round\tphase\tworkload\tvariant\tserver\tmetric\tvalue\n' >"$RAW"
record() { printf '1\ttls\tA\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }   # variant server metric value

declare -A PID=()
stop() { stop_pid "$1" 50; }   # up to 5 s, then SIGKILL
cleanup() {
  local s
  for s in policy-controller kube-apiserver etcd standalone berth; do stop "$s"; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

wait_for() { # wait_for WHAT SECONDS COMMAND...: polls every 0.2 s
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$what did not become ready in ${secs}s"; return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # user + system, in clock ticks
# Requests the API server has answered so far (all verbs and resources), from its own metrics.
api_requests() {
  curl -sfk -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$APISERVER_PORT/metrics" |
    awk '/^apiserver_request_total\{/ {s += $NF} END {printf "%d\n", s}'
}

# ------------------------------------------------------------------ keys, TLS, Berth ---
log "results $OUT, scratch $WORK"
(
  cd "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj "/CN=berth-bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.csr \
    -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >ext.cnf
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 2 -extfile ext.cnf 2>/dev/null
)
# One cosign key pair (cosign v3's generate-key-pair, empty password) signs with both versions; v3 signs air-gapped
# with an empty signing config and trusted root.
(
  cd "$WORK/keys"
  "$BERTH_COSIGN" generate-key-pair --output-key-prefix cosign >/dev/null 2>&1
  "$BERTH_COSIGN" signing-config create --out signing-config.json >/dev/null 2>&1
  "$BERTH_COSIGN" trusted-root create --out trusted-root.json >/dev/null 2>&1
)
KEY="$WORK/keys/cosign.key"; PUB="$WORK/keys/cosign.pub"

BERTH_JAVA_OPTS="${BENCH_BERTH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=25}"   # bin/berth's defaults
cat >"$WORK/conf/berth.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  secret: berth-bench-not-a-secret
berth:
  trust:
    - repositories: ["bench/**"]
      keys: [$PUB]
  admission:
    addr: 127.0.0.1:$ADMISSION_PORT
    tls: {certificate: $WORK/tls/tls.crt, key: $WORK/tls/tls.key}
    hosts: [$HOST]
  limits:
    # policy-controller opens new registry connections for every review and keeps them idle; past the default
    # 200 per client Berth would refuse some, and the registry, not the webhook, would be measured.
    maxConnectionsPerClient: 10000
EOF
log "starting Berth"
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS -jar "$WORK/berth/berth-server.jar" \
  serve "$WORK/conf/berth.yml" >"$OUT/logs/berth.log" 2>&1 &
PID[berth]=$!
REGISTRY="127.0.0.1:$REGISTRY_PORT"
WEBHOOK="https://127.0.0.1:$ADMISSION_PORT"
wait_for Berth 60 curl -sf "http://$REGISTRY/v2/" || { tail -20 "$OUT/logs/berth.log" >&2; exit 1; }
wait_for "Berth's webhook" 30 curl -sf --cacert "$WORK/tls/ca.crt" "$WEBHOOK/healthz" || exit 1

# ------------------------------------------------------------------ images and signatures ---
declare -A SIGNED=() UNSIGNED=()
push_image() { # push_image REPO TAG -> digest; one 1 KiB random layer
  local repo=$1 tag=$2 dir="$WORK/layers/${1//\//-}-$2" out
  mkdir -p "$dir"
  head -c 1024 /dev/urandom >"$dir/file"
  tar -C "$dir" -cf "$dir.tar" file
  out=$("$BERTH_CRANE" append -f "$dir.tar" -t "$REGISTRY/$repo:$tag" 2>>"$OUT/logs/crane.log")
  printf '%s\n' "${out##*@}"
}
sign_v3() { "$BERTH_COSIGN" sign --key "$KEY" --signing-config "$WORK/keys/signing-config.json" \
  --trusted-root "$WORK/keys/trusted-root.json" --yes "$1" >>"$OUT/logs/cosign.log" 2>&1; }
sign_v2() { "$BERTH_COSIGN2" sign --key "$KEY" --tlog-upload=false --yes "$1" >>"$OUT/logs/cosign.log" 2>&1; }
log "pushing 3 signed and 3 unsigned images; signing with cosign $BERTH_COSIGN_VERSION (a, b) and $BERTH_COSIGN2_VERSION (c)"
for n in a b c; do
  SIGNED[$n]=$(push_image "bench/app-$n" signed)
  UNSIGNED[$n]=$(push_image "bench/app-$n" unsigned)
done
sign_v3 "$REGISTRY/bench/app-a@${SIGNED[a]}" || { log "cosign v3 sign failed"; tail "$OUT/logs/cosign.log" >&2; exit 1; }
sign_v3 "$REGISTRY/bench/app-b@${SIGNED[b]}" || { log "cosign v3 sign failed"; tail "$OUT/logs/cosign.log" >&2; exit 1; }
sign_v2 "$REGISTRY/bench/app-c@${SIGNED[c]}" || { log "cosign v2 sign failed"; tail "$OUT/logs/cosign.log" >&2; exit 1; }

# review FILE HOST a=DIGEST b=DIGEST c=DIGEST: a Pod CREATE review as the API server sends it
review() {
  python3 - "$@" <<'EOF'
import json, sys
out, host, *images = sys.argv[1:]
containers = []
for spec in images:
    name, digest = spec.split("=", 1)
    containers.append({"name": "app-" + name, "image": f"{host}/bench/app-{name}@{digest}"})
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "bench"},
       "spec": {"containers": containers}}
request = {"uid": "0f6e2f42-5d3c-4d51-9a36-7b0c3c0e0a01", "kind": {"group": "", "version": "v1", "kind": "Pod"},
           "resource": {"group": "", "version": "v1", "resource": "pods"},
           "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
           "requestResource": {"group": "", "version": "v1", "resource": "pods"},
           "namespace": "bench", "operation": "CREATE",
           "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller", "groups": ["system:authenticated"]},
           "object": pod, "oldObject": None, "dryRun": False,
           "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}
with open(out, "w") as f:
    json.dump({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}, f)
EOF
}
R="$WORK/reviews"
review "$R/berth-signed.json" "$HOST" a="${SIGNED[a]}" b="${SIGNED[b]}" c="${SIGNED[c]}"
review "$R/berth-unsigned.json" "$HOST" a="${UNSIGNED[a]}" b="${UNSIGNED[b]}" c="${UNSIGNED[c]}"

# verdict URL FILE -> "allowed" or "refused: <message>"; fails on anything but a 200 review. Berth's certificate is
# checked against the bench CA; policy-controller's (made by knative for webhook.cosign-system.svc) is not.
verdict() {
  local url=$1 file=$2 body tls=(--cacert "$WORK/tls/ca.crt")
  [[ "$url" == "$WEBHOOK"* ]] || tls=(-k)
  body=$(curl -sS --fail-with-body "${tls[@]}" -H 'Content-Type: application/json' --data-binary "@$file" "$url") || {
    log "POST $url: $body"; return 1; }
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])["response"]
print("allowed" if r["allowed"] else "refused: " + r.get("status", {}).get("message", "").replace("\n", " "))' "$body"
}
expect() { # expect WHAT WANT(allowed|refused) ACTUAL
  if [[ "$3" != "$2"* ]]; then log "$1: expected $2, got: $3"; exit 1; fi
  log "$1: ${3:0:300}"
}
expect "Berth, signed pod" allowed "$(verdict "$WEBHOOK/validate" "$R/berth-signed.json")"
expect "Berth, unsigned pod" refused "$(verdict "$WEBHOOK/validate" "$R/berth-unsigned.json")"

# ------------------------------------------------------------------ load ---
# load SERVER VARIANT URL PATH REVIEW EXPECT CONNS THREADS SECS DELAY_MS PIDS...: a warm-up, then the measured run;
# records reviews/s, latency and the CPU each process in PIDS used per review.
load() {
  local server=$1 variant=$2 url=$3 path=$4 file=$5 want=$6 conns=$7 threads=$8 secs=$9 delay=${10}; shift 10
  local pids=("$@") env line errs before=() i p name n api_before=""
  env=(BENCH_REVIEW="$file" BENCH_EXPECT="$want" BENCH_PATH="$path" BENCH_DELAY_MS="$delay")
  env "${env[@]}" timeout 300 wrk -t "$threads" -c "$conns" -d "${WARM}s" --timeout 30s -s "$BENCH/wrk/admission.lua" \
    "$url" >/dev/null 2>&1 || true
  record "$variant" "$server" loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
  for p in "${pids[@]}"; do before+=("$(cpu_ticks "${p#*=}")"); done
  [[ -n "${PID[kube-apiserver]:-}" ]] && api_before=$(api_requests)
  line=$(env "${env[@]}" timeout 300 wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 30s --latency \
    -s "$BENCH/wrk/admission.lua" "$url" 2>&1 | tee -a "$OUT/logs/wrk.log" | sed -n 's/^BENCHJSON //p')
  [[ -n "$line" ]] || { log "wrk printed no result for $server $variant"; exit 1; }
  errs=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(sum(v for k, v in j.items() if k.startswith(("err_", "bad_"))))' "$line")
  if [[ "$errs" != 0 ]]; then
    log "$server $variant: errors or wrong verdicts: $line"; grep '^BENCHSAMPLE' "$OUT/logs/wrk.log" | tail -1 >&2; exit 1
  fi
  n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$line")
  for i in "${!pids[@]}"; do
    name=${pids[$i]%%=*}; p=${pids[$i]#*=}
    record "$variant" "$server" "cpu_us_per_review_$name" \
      "$(python3 -c "print(round(($(cpu_ticks "$p") - ${before[$i]}) * 1e6 / $(getconf CLK_TCK) / max($n, 1), 1))")"
  done
  if [[ -n "$api_before" ]]; then
    record "$variant" "$server" api_requests_per_review \
      "$(python3 -c "print(round(($(api_requests) - $api_before) / max($n, 1), 2))")"
  fi
  for k in requests req_per_s p50_ms p90_ms p99_ms max_ms; do
    record "$variant" "$server" "$k" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$line" "$k")"
  done
  log "$server $variant: $line"
}
rows() { # rows SERVER URL PATH SIGNED_REVIEW UNSIGNED_REVIEW PIDS...
  local server=$1 url=$2 path=$3 signed=$4 unsigned=$5; shift 5
  log "$server: ${FIRST_WARM}s of signed reviews on $CONNS connections to warm up"
  BENCH_REVIEW="$signed" BENCH_EXPECT=allowed BENCH_PATH="$path" timeout 300 \
    wrk -t "$THREADS" -c "$CONNS" -d "${FIRST_WARM}s" --timeout 30s -s "$BENCH/wrk/admission.lua" "$url" >/dev/null 2>&1 || true
  log "$server: $CONNS connections, signed pod, ${WARM}s warm-up then ${SECS}s"
  load "$server" signed "$url" "$path" "$signed" allowed "$CONNS" "$THREADS" "$SECS" 0 "$@"
  log "$server: $CONNS connections, unsigned pod (refusals)"
  load "$server" unsigned "$url" "$path" "$unsigned" refused "$CONNS" "$THREADS" "$SECS" 0 "$@"
  if [[ $server == berth ]]; then   # policy-controller does not come near this rate
    log "$server: $CONNS connections, each pausing ${PACED_DELAY_MS} ms between reviews (a little over 5,000/s)"
    load "$server" paced "$url" "$path" "$signed" allowed "$CONNS" "$THREADS" "$SECS" "$PACED_DELAY_MS" "$@"
  fi
  log "$server: 1 connection, a signed review every ${SINGLE_DELAY_MS} ms, ${SINGLE_SECS}s"
  load "$server" single "$url" "$path" "$signed" allowed 1 1 "$SINGLE_SECS" "$SINGLE_DELAY_MS" "$@"
}

started=$SECONDS
rows berth "$WEBHOOK" /validate "$R/berth-signed.json" "$R/berth-unsigned.json" "webhook=${PID[berth]}"
expect "Berth after the load, signed pod" allowed "$(verdict "$WEBHOOK/validate" "$R/berth-signed.json")"

# ------------------------------------------------------------------ berth admission, cold ---
# The standalone webhook (`berth admission`) reading the same images and signatures from Berth's registry over
# loopback, as it would from Harbor; its verdicts are kept 1 ms, so (nearly) every review is cold: the manifest,
# the referrers, the .sig/.att tags and the signature layers of each of the 3 images are fetched anew.
cat >"$WORK/conf/standalone.yml" <<EOF
version: 0.1
log:
  level: warn
berth:
  trust:
    - repositories: ["bench/**"]
      keys: [$PUB]
  admission:
    addr: 127.0.0.1:$STANDALONE_PORT
    tls: {certificate: $WORK/tls/tls.crt, key: $WORK/tls/tls.key}
    hosts: [$HOST]
    registry:
      url: http://$REGISTRY
      cacheTtl: 1ms
EOF
log "starting berth admission (standalone, verdicts kept 1 ms: cold reviews)"
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS -jar "$WORK/berth/berth-server.jar" \
  admission "$WORK/conf/standalone.yml" >"$OUT/logs/standalone.log" 2>&1 &
PID[standalone]=$!
STANDALONE="https://127.0.0.1:$STANDALONE_PORT"
wait_for "berth admission" 60 curl -sf --cacert "$WORK/tls/ca.crt" "$STANDALONE/healthz" || { tail -20 "$OUT/logs/standalone.log" >&2; exit 1; }
expect "berth admission, signed pod" allowed "$(verdict "$STANDALONE/validate" "$R/berth-signed.json")"
expect "berth admission, unsigned pod" refused "$(verdict "$STANDALONE/validate" "$R/berth-unsigned.json")"
log "berth admission (cold): 1 connection, a signed review every ${SINGLE_DELAY_MS} ms, ${SINGLE_SECS}s"
load standalone-cold single "$STANDALONE" /validate "$R/berth-signed.json" allowed 1 1 "$SINGLE_SECS" "$SINGLE_DELAY_MS" \
  "webhook=${PID[standalone]}" "registry=${PID[berth]}"
log "berth admission (cold): $CONNS connections, signed pod"
load standalone-cold signed "$STANDALONE" /validate "$R/berth-signed.json" allowed "$CONNS" "$THREADS" "$SECS" 0 \
  "webhook=${PID[standalone]}" "registry=${PID[berth]}"

# ------------------------------------------------------------------ policy-controller ---
PC_NOTE=""
if ((PEER)); then
  log "starting etcd and kube-apiserver ($BERTH_KUBERNETES_VERSION) for policy-controller"
  K8S="$WORK/k8s"
  "$BERTH_ETCD" --name bench --data-dir "$K8S/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT" \
    --log-level warn >"$OUT/logs/etcd.log" 2>&1 &
  PID[etcd]=$!
  wait_for etcd 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health" || exit 1
  openssl genrsa -out "$K8S/sa.key" 2048 2>/dev/null
  TOKEN=berth-bench-admin-token
  printf '%s,admin,admin,"system:masters"\n' "$TOKEN" >"$K8S/tokens.csv"
  "$BERTH_KUBE_APISERVER" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" --cert-dir "$K8S/certs" \
    --service-cluster-ip-range 10.96.0.0/24 --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$K8S/sa.key" --service-account-signing-key-file "$K8S/sa.key" \
    --token-auth-file "$K8S/tokens.csv" --authorization-mode RBAC --endpoint-reconciler-type none \
    --profiling=false --v=1 >"$OUT/logs/kube-apiserver.log" 2>&1 &
  PID[kube-apiserver]=$!
  wait_for kube-apiserver 180 sh -c "curl -sfk -H 'Authorization: Bearer $TOKEN' https://127.0.0.1:$APISERVER_PORT/readyz | grep -q ok" || exit 1
  cat >"$K8S/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: bench
    cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$K8S/certs/apiserver.crt"}
users:
  - name: admin
    user: {token: $TOKEN}
contexts:
  - name: bench
    context: {cluster: bench, user: admin}
current-context: bench
EOF
  kc() { "$BERTH_KUBECTL" --kubeconfig "$K8S/kubeconfig" "$@" >>"$OUT/logs/kubectl.log" 2>&1; }
  PCC="$BENCH_POLICY_CONTROLLER_CONFIG"
  # What the policy-controller Deployment reads: its namespace, ConfigMaps and CRDs. The ClusterImagePolicy CRD
  # names a conversion webhook behind a Service, which no cluster network routes here; its two versions share one
  # schema, so None.
  for f in 300-clusterimagepolicy.yaml 300-trustroot.yaml; do
    python3 - "$PCC/$f" "$K8S/$f" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
text, n = re.subn(r"  conversion:\n    strategy: Webhook\n(?:    .*\n)*", "  conversion:\n    strategy: None\n", text)
assert "strategy: Webhook" not in text, "a conversion webhook left in " + sys.argv[1]
open(sys.argv[2], "w").write(text)
EOF
  done
  kc apply -f "$PCC/100-namespace.yaml" -f "$PCC/config-logging.yaml" -f "$PCC/config-observability.yaml" \
    -f "$PCC/config-leader-election.yaml" -f "$PCC/config-image-policies.yaml" -f "$PCC/config-sigstore-keys.yaml" \
    -f "$PCC/config-policy-controller.yaml" -f "$K8S/300-clusterimagepolicy.yaml" -f "$K8S/300-trustroot.yaml" \
    || { tail "$OUT/logs/kubectl.log" >&2; exit 1; }
  kc -n cosign-system create secret generic webhook-certs   # knative's certificate controller fills it
  kc create namespace bench
  kc -n bench create serviceaccount default   # no controller-manager runs here to make it
  kc wait --for condition=established --timeout=60s crd/clusterimagepolicies.policy.sigstore.dev
  {
    printf 'apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: bench\nspec:\n'
    printf '  images:\n    - glob: "%s/bench/**"\n  authorities:\n    - name: ci-key\n      key:\n' "$REGISTRY"
    printf '        hashAlgorithm: sha256\n        data: |\n'
    sed 's/^/          /' "$PUB"
  } >"$K8S/cip.yaml"
  kc apply -f "$K8S/cip.yaml" || { tail "$OUT/logs/kubectl.log" >&2; exit 1; }

  log "starting policy-controller $BENCH_POLICY_CONTROLLER_VERSION (webhook on :$PC_PORT, TUF disabled)"
  mkdir -p "$WORK/home/pc"
  # The Deployment's environment (config/webhook.yaml), pointed at this API server.
  SYSTEM_NAMESPACE=cosign-system CONFIG_LOGGING_NAME=config-logging METRICS_DOMAIN=sigstore.dev/policy \
    WEBHOOK_NAME=webhook KUBERNETES_MIN_VERSION=1.21.0 HOME="$WORK/home/pc" KUBECONFIG="$K8S/kubeconfig" \
    "$BENCH_POLICY_CONTROLLER" --disable-tuf >"$OUT/logs/policy-controller.log" 2>&1 &
  PID[policy-controller]=$!
  PC_URL="https://127.0.0.1:$PC_PORT"
  review "$R/pc-c.json" "$REGISTRY" c="${SIGNED[c]}"
  review "$R/pc-signed.json" "$REGISTRY" a="${SIGNED[a]}" b="${SIGNED[b]}" c="${SIGNED[c]}"
  review "$R/pc-unsigned.json" "$REGISTRY" a="${UNSIGNED[a]}" b="${UNSIGNED[b]}" c="${UNSIGNED[c]}"
  # Ready when the policy is loaded: the cosign v2-signed image alone is admitted.
  wait_for policy-controller 120 sh -c "curl -sk -H 'Content-Type: application/json' --data-binary @$R/pc-c.json $PC_URL/validations | grep -q '\"allowed\":true'" || {
    grep -v 'Reconcile error' "$OUT/logs/policy-controller.log" | tail -20 >&2; exit 1; }
  v=$(verdict "$PC_URL/validations" "$R/pc-signed.json")
  log "policy-controller, pod of cosign v3 (a, b) and v2 (c) images: ${v:0:400}"
  if [[ "$v" == refused* && "$v" == *"no signatures found"* ]]; then
    PC_NOTE="refuses the images signed with cosign v3 (sigstore bundle referrers): no signatures found"
  else
    PC_NOTE="on the images signed with cosign v3: ${v:0:200}"
  fi
  record v3-bundles policy-controller verdict "$PC_NOTE"
  log "adding cosign v2 signatures (the same key) to a and b for policy-controller"
  sign_v2 "$REGISTRY/bench/app-a@${SIGNED[a]}" && sign_v2 "$REGISTRY/bench/app-b@${SIGNED[b]}" || {
    log "cosign v2 sign failed"; tail "$OUT/logs/cosign.log" >&2; exit 1; }
  expect "policy-controller, signed pod" allowed "$(verdict "$PC_URL/validations" "$R/pc-signed.json")"
  expect "policy-controller, unsigned pod" refused "$(verdict "$PC_URL/validations" "$R/pc-unsigned.json")"
  rows policy-controller "$PC_URL" /validations "$R/pc-signed.json" "$R/pc-unsigned.json" \
    "webhook=${PID[policy-controller]}" "registry=${PID[berth]}" "apiserver=${PID[kube-apiserver]}"
  expect "policy-controller after the load, signed pod" allowed "$(verdict "$PC_URL/validations" "$R/pc-signed.json")"
fi

log "done in $((SECONDS - started))s"
{
  echo "# Environment"
  echo
  echo "- date: $DATE; command: bench/admission.sh ${ARGS[*]}"
  echo "- cpu: $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel: $(uname -sr)"
  echo "- JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); Berth JVM options: $BERTH_JAVA_OPTS; Berth commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- cosign $BERTH_COSIGN_VERSION and $BERTH_COSIGN2_VERSION; crane; wrk $BENCH_WRK_VERSION"
  if ((PEER)); then
    echo "- policy-controller $BENCH_POLICY_CONTROLLER_VERSION ($(go version | awk '{print $3}')), kube-apiserver $BERTH_KUBERNETES_VERSION, etcd $BERTH_ETCD_VERSION"
  fi
  echo "- load: wrk -t$THREADS -c$CONNS, ${FIRST_WARM}s warm-up before a webhook's first row, ${WARM}s before each row, then ${SECS}s (paced: each connection pauses ${PACED_DELAY_MS} ms before a review); single: wrk -t1 -c1, one review every ${SINGLE_DELAY_MS} ms, ${SINGLE_SECS}s"
  echo "- network: $([[ "${BENCH_ADMISSION_NO_NETNS:-0}" == 1 ]] && echo "the host's loopback" || echo "loopback of a private network namespace")"
} >"$OUT/env.md"
for f in "$OUT"/logs/*.log; do   # keep the servers' logs small enough to commit
  [[ "$f" == */wrk.log ]] && continue
  if [[ "$f" == */policy-controller.log ]]; then   # what client-go says of its own rate limiter, before the cut
    pat='client-side throttling\|client rate limiter'
    { echo "[bench: $(grep -a -c "$pat" "$f" || true) lines of policy-controller's log mention client-go's rate limiter; the first 10]"
      grep -a "$pat" "$f" | head -10 | cut -c1-400 || true; } >"$OUT/logs/policy-controller-throttling.txt"
  fi
  n=$(wc -l <"$f")
  if ((n > 60)); then
    { head -n 60 "$f"; echo "[bench: $((n - 60)) more lines cut]"; } >"$f.tmp" && mv "$f.tmp" "$f"
  fi
done
python3 "$BENCH/admission_table.py" "$RAW" "$OUT/env.md" >"$OUT/table.md"
cat "$OUT/table.md"
cleanup
rm -rf "$WORK/data" "$WORK/k8s/etcd"
