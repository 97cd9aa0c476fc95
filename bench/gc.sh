#!/usr/bin/env bash
# Garbage collection: Berth's `berth garbage-collect` against registry:2's `docker-registry garbage-collect` on
# identical copies of one generated registry:2 volume (bench/gcgen.py: 100,000 blobs, 10,000 manifests in 100
# repositories, 10,000 of the blobs garbage, every file two days old).
#
#   bench/gc.sh [--smoke] [--rounds N] [--disk]
#
# Each round copies the volume twice, times each collector on its own copy (JVM or Go start-up included), and checks
# that both deleted exactly the generated garbage. Prints the times and registry:2's time over Berth's.
# --smoke: 2,000 blobs and 200 manifests, one round (seconds), for bin/test.
# --disk: each copy is a fresh ext4 filesystem on a loop device that reads its image file with O_DIRECT, mounted just
#   before its collector runs, so that every directory and inode comes from the disk (a volume not in the page cache,
#   as after a restart or on a large PV). Needs root, as the disk tests do; the images go to BENCH_DISK_WORK (default
#   /var/tmp/berth-gc-disk, about 1 GB each).
# Environment: BERTH_TOOLS (default /var/cache/berth-tools), BENCH_WORK (scratch, wiped; default
# /dev/shm/berth-gc-bench, about 2 GB of memory at full size), BENCH_BERTH_JAVA_OPTS (default: bin/berth's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BERTH_TOOLS="${BERTH_TOOLS:-/var/cache/berth-tools}"
# In memory by default: a shared disk's latency (hundreds of thousands of small files) would swamp both collectors.
WORK="${BENCH_WORK:-$( [[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm/berth-gc-bench || echo /var/tmp/berth-gc-bench )}"
BLOBS=100000; MANIFESTS=10000; REPOS=100; ROUNDS=1; DISK=0
while (($#)); do
  case "$1" in
    --disk) DISK=1 ;;
    --smoke) BLOBS=2000; MANIFESTS=200; REPOS=10; ROUNDS=1 ;;
    --rounds) ROUNDS="${2:?--rounds N}"; shift ;;
    --rounds=*) ROUNDS="${1#*=}" ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gc.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "gc.sh: --rounds wants a positive number" >&2; exit 2; }
log() { printf '[gc-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ -f "$BERTH_TOOLS/env.sh" ]] && . "$BERTH_TOOLS/env.sh"
REGISTRY2="${BERTH_REGISTRY2:-/usr/bin/docker-registry}"
[[ -x "$REGISTRY2" ]] || { log "registry:2 ($REGISTRY2) is missing: run scripts/install-peers.sh"; exit 1; }
. "$ROOT/scripts/java-env.sh"

. "$ROOT/bench/lib.sh"
jar=$(ensure_berth_jar "$ROOT")
BERTH_JAVA_OPTS="${BENCH_BERTH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=25}"   # bin/berth's defaults
# bin/berth's start-up cache too (scripts/berth-aot.sh), trained once per build.
. "$ROOT/scripts/berth-aot.sh"
berth_aot_prepare "$jar" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS

rm -rf "$WORK"
mkdir -p "$WORK"
log "generating $BLOBS blobs and $MANIFESTS manifests in $WORK/volume"
python3 "$ROOT/bench/gcgen.py" "$WORK/volume" "$WORK/garbage.txt" "$BLOBS" "$MANIFESTS" "$REPOS"

DISK_WORK="${BENCH_DISK_WORK:-/var/tmp/berth-gc-disk}"
declare -A LOOP=()
if ((DISK)); then
  rm -rf "$DISK_WORK"
  mkdir -p "$DISK_WORK" "$WORK/golden"
  # Room for every inode (a blob is a directory and a file; each link too) and the journal.
  truncate -s 4G "$DISK_WORK/golden.img"
  "${BERTH_MKFS_EXT4:-mkfs.ext4}" -q -F -N 1200000 -E lazy_itable_init=0,lazy_journal_init=0 "$DISK_WORK/golden.img"
  mount -o loop "$DISK_WORK/golden.img" "$WORK/golden"
  cp -a "$WORK/volume/." "$WORK/golden/"
  umount "$WORK/golden"
  log "disk mode: the volume is on a 4 GB ext4 image in $DISK_WORK"
fi
cleanup_disk() {
  local who
  for who in "${!LOOP[@]}"; do
    umount "$WORK/$who" 2>/dev/null || true
    losetup -d "${LOOP[$who]}" 2>/dev/null || true
  done
  if ((DISK)); then rm -rf "$DISK_WORK"; fi
}
trap cleanup_disk EXIT

# copy_volume WHO: WHO's own copy of the volume at $WORK/WHO; in disk mode a fresh, cold mount of the image.
copy_volume() {
  local who=$1
  rm -rf "${WORK:?}/$who"
  if ((DISK)); then
    cp --sparse=always "$DISK_WORK/golden.img" "$DISK_WORK/$who.img"
    LOOP[$who]=$(losetup --direct-io=on -f --show "$DISK_WORK/$who.img")
    mkdir -p "$WORK/$who"
    mount "${LOOP[$who]}" "$WORK/$who"
  else
    cp -a "$WORK/volume" "$WORK/$who"
  fi
}

release_volume() {
  local who=$1
  if ((DISK)); then
    umount "$WORK/$who"
    losetup -d "${LOOP[$who]}"
    unset "LOOP[$who]"
    rm -f "$DISK_WORK/$who.img"
  fi
  rm -rf "${WORK:?}/$who"
}

config() {  # config FILE ROOTDIR: the minimal registry:2 configuration, which Berth reads unchanged
  cat >"$1" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
http:
  addr: 127.0.0.1:15999
EOF
}
blobs() { (cd "$1/docker/registry/v2/blobs/sha256" && find . -name data | awk -F/ '{print "sha256:" $3}' | sort); }
# Listed from the generated volume, not the copy: listing a copy first would warm the disk mode's cold cache.
blobs "$WORK/volume" >"$WORK/before"

declare -a T_R2=() T_BERTH=() C_R2=() C_BERTH=()
for round in $(seq 1 "$ROUNDS"); do
  for who in registry2 berth; do
    copy="$WORK/$who"
    copy_volume "$who"
    config "$WORK/$who.yml" "$copy"
    TIMEFORMAT='%R %U %S'
    if [[ $who == registry2 ]]; then
      { time "$REGISTRY2" garbage-collect "$WORK/$who.yml" >"$WORK/$who.log" 2>&1; } 2>"$WORK/$who.time"
    else
      { time "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS ${BERTH_AOT_OPTS[@]+"${BERTH_AOT_OPTS[@]}"} \
          -jar "$jar" garbage-collect "$WORK/$who.yml" >"$WORK/$who.log" 2>&1; } 2>"$WORK/$who.time"
    fi
    read -r secs user sys <"$WORK/$who.time"
    cpu=$(echo "$user + $sys" | bc -l)
    blobs "$copy" >"$WORK/$who.after"
    comm -23 "$WORK/before" "$WORK/$who.after" >"$WORK/$who.deleted"
    if ! cmp -s "$WORK/$who.deleted" "$WORK/garbage.txt"; then
      log "round $round: $who deleted $(wc -l <"$WORK/$who.deleted") blobs, not the $(wc -l <"$WORK/garbage.txt") generated as garbage (see $WORK/$who.log)"
      exit 1
    fi
    log "round $round: $who $(printf '%.2f' "$secs") s elapsed, $(printf '%.2f' "$cpu") s CPU, $(wc -l <"$WORK/$who.deleted") blobs deleted"
    if [[ $who == registry2 ]]; then T_R2+=("$secs"); C_R2+=("$cpu"); else T_BERTH+=("$secs"); C_BERTH+=("$cpu"); fi
    release_volume "$who"
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
r2=$(median "${T_R2[@]}"); berth=$(median "${T_BERTH[@]}"); r2c=$(median "${C_R2[@]}"); berthc=$(median "${C_BERTH[@]}")
printf 'garbage-collect of %d blobs, %d manifests%s, median of %d round(s): elapsed registry:2 %.2f s, Berth %.2f s (%.1fx); CPU registry:2 %.2f s, Berth %.2f s (%.1fx); both deleted the same %d garbage blobs\n' \
  "$BLOBS" "$MANIFESTS" "$( ((DISK)) && echo ' on a cold ext4 disk' || echo ' in memory')" "$ROUNDS" "$r2" "$berth" "$(echo "$r2 / $berth" | bc -l)" "$r2c" "$berthc" "$(echo "$r2c / $berthc" | bc -l)" "$(wc -l <"$WORK/garbage.txt")"
rm -rf "$WORK"
