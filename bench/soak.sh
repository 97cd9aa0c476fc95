#!/usr/bin/env bash
# Soak: Berth under 30 minutes of mixed push, pull, tag moves, deletes and online GC from many clients.
#
#   bench/soak.sh                         # 30 minutes, 16 clients (not in CI)
#   bench/soak.sh --minutes 2 --workers 4 # a short run, to try the harness
#
# One Berth process (the built jar, the StatefulSet's JVM options: 60 % of a 1 GiB limit, SerialGC,
# exit on OOM) on a fresh directory with delete enabled and berth.gc on (every 2 minutes, 1 minute of
# grace). bench/client's `soak` command runs the workers: each owns a repository, pushes images (a
# base layer shared by every image plus two unique blobs), pulls its images and the shared base image
# checking every digest, tags existing manifests again and deletes its oldest image by digest, so the
# GC always has garbage to collect while pushes and pulls go on. Every 10 s the harness samples the
# process's RSS, open file descriptors and threads. At the end `berth fsck` checks the volume.
#
# Output: bench/results/<UTC date>-soak/{soak.md,intervals.jsonl,samples.tsv,totals.json,berth.log}.
# It fails (non-zero) on any client error, a non-clean fsck, or a process that died.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="${BENCH_WORK:-/var/tmp/berth-soak}"
MINUTES=30
WORKERS=16
PORT=15201
while (($#)); do
  case "$1" in
    --minutes) MINUTES="${2:?--minutes N}"; shift ;;
    --workers) WORKERS="${2:?--workers N}"; shift ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[soak %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
declare -A PID=()
# shellcheck disable=SC1091
. "$BENCH/lib.sh"
cleanup() { stop_pid sampler 5; stop_pid berth 100; }
trap cleanup EXIT INT TERM

. "$ROOT/scripts/java-env.sh"
OUT="$BENCH/results/$(date -u +%Y-%m-%dT%H%M%SZ)-soak"
mkdir -p "$OUT"
rm -rf "$WORK" && mkdir -p "$WORK"/{bin,data}

jar=$(ensure_berth_jar "$ROOT")
cp "$jar" "$WORK/bin/" && cp -r "$ROOT/registry-server/target/lib" "$WORK/bin/lib"
(cd "$BENCH/client" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$WORK/bin/benchclient" .)

cat >"$WORK/config.yml" <<EOF
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
  addr: 127.0.0.1:$PORT
berth:
  gc:
    enabled: true
    interval: 2m
    gracePeriod: 1m
EOF

log "starting Berth on 127.0.0.1:$PORT ($MINUTES minutes, $WORKERS workers); results in $OUT"
"$JAVA_HOME/bin/java" -XX:MaxRAM=1g -XX:MaxRAMPercentage=60 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
  -Xlog:gc:file="$OUT/gc.log":uptime \
  --enable-native-access=ALL-UNNAMED -jar "$WORK/bin/berth-server.jar" serve "$WORK/config.yml" >"$OUT/berth.log" 2>&1 &
PID[berth]=$!
"$WORK/bin/benchclient" wait-ready -url "http://127.0.0.1:$PORT" -since-ns "$(date +%s%N)" -timeout 60s >/dev/null

berth_pid=${PID[berth]}
(
  printf 't_s\trss_mib\tfds\tthreads\n'
  start=$(date +%s)
  while kill -0 "$berth_pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print int($2/1024)}' "/proc/$berth_pid/status" 2>/dev/null || echo 0)
    threads=$(awk '/^Threads/ {print $2}' "/proc/$berth_pid/status" 2>/dev/null || echo 0)
    fds=$(find "/proc/$berth_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    printf '%s\t%s\t%s\t%s\n' "$(($(date +%s) - start))" "$rss" "$fds" "$threads"
    sleep 10
  done
) >"$OUT/samples.tsv" &
PID[sampler]=$!

"$WORK/bin/benchclient" soak -url "http://127.0.0.1:$PORT" -concurrency "$WORKERS" \
  -duration "${MINUTES}m" -interval 1m -blob-size 16384 >"$OUT/client.jsonl"
grep -v '"first_errors"' "$OUT/client.jsonl" >"$OUT/intervals.jsonl" || true
tail -1 "$OUT/client.jsonl" >"$OUT/totals.json"
alive=yes; kill -0 "$berth_pid" 2>/dev/null || alive=no
stop_pid sampler 5
stop_pid berth 100

fsck=skipped
if "$JAVA_HOME/bin/java" -jar "$WORK/bin/berth-server.jar" help 2>&1 | grep -q fsck; then
  if "$JAVA_HOME/bin/java" -jar "$WORK/bin/berth-server.jar" fsck "$WORK/config.yml" >"$OUT/fsck.txt" 2>&1; then fsck=clean; else fsck="problems (see fsck.txt)"; fi
fi

python3 - "$OUT" "$alive" "$fsck" <<'PY'
import json, sys
out, alive, fsck = sys.argv[1:4]
lines = [json.loads(l) for l in open(out + "/intervals.jsonl") if l.strip()]
totals = json.loads(open(out + "/totals.json").read())
samples = [l.rstrip("\n").split("\t") for l in open(out + "/samples.tsv")][1:]
samples = [tuple(int(x) for x in s) for s in samples if len(s) == 4]
def at(t):
    near = [s for s in samples if s[0] <= t]
    return near[-1] if near else (samples[0] if samples else (0, 0, 0, 0))
rows = ["| minute | ops | errors | p50 ms | p99 ms | RSS MiB | fds | threads |", "|---|---|---|---|---|---|---|---|"]
for l in lines:
    s = at(l["t_s"])
    rows.append(f"| {l['t_s'] // 60} | {l['ops']} | {l['errors']} | {l.get('p50_ms', 0):.1f} | {l.get('p99_ms', 0):.1f} | {s[1]} | {s[2]} | {s[3]} |")
first, last = (samples[len(samples) // 6] if samples else None), (samples[-1] if samples else None)
# The live heap: what each collection leaves, from -Xlog:gc ("... 120M->30M(200M) ..."), lowest per sixth of the run.
import re
after = []
for l in open(out + "/gc.log"):
    m = re.search(r"\[([0-9.]+)s\].*Pause.*->([0-9]+)M\(", l)
    if m:
        after.append((float(m.group(1)), int(m.group(2))))
def live(part):
    if not after:
        return "?"
    span = after[-1][0] / 6
    vals = [a for t, a in after if part * span <= t < (part + 1) * span] or [after[-1][1]]
    return min(vals)
summary = [
    f"- ops {totals['ops']}, errors {totals['errors']} (pushes {totals['pushes']}, pulls {totals['pulls']}, "
    f"tag moves {totals['tag_moves']}, deletes {totals['deletes']}) in {totals['seconds'] / 60:.1f} minutes",
    f"- RSS {first[1] if first else '?'} MiB after the first sixth, {last[1] if last else '?'} MiB at the end; "
    f"fds {first[2] if first else '?'} -> {last[2] if last else '?'}; threads {first[3] if first else '?'} -> {last[3] if last else '?'}",
    f"- heap left by collections (lowest per sixth of the run, MiB): {[live(p) for p in range(6)]}",
    f"- Berth still running at the end: {alive}; fsck: {fsck}",
]
if totals.get("first_errors"):
    summary.append("- first errors: " + "; ".join(totals["first_errors"][:5]))
open(out + "/soak.md", "w").write("\n".join(summary + [""] + rows) + "\n")
print("\n".join(summary + [""] + rows))
sys.exit(0 if totals["errors"] == 0 and alive == "yes" and fsck in ("clean", "skipped") else 1)
PY
