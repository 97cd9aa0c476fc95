#!/usr/bin/env bash
# Makes the image's start-up cache (a JDK 25 AOT cache, as scripts/berth-aot.sh makes for bin/berth) with the
# image's own JVM and file system, without a Docker daemon: the base image's layers are unpacked into a
# temporary root, the application (APP_DIR, a directory Jib lays at the image's root: app/berth-server.jar and
# app/lib) is put into it with the modification time Jib gives every file (1970-01-01T00:00:01Z), and `berth aot-training`
# runs there as the image's user, under chroot in a private mount namespace (/dev, /proc, a /tmp of its own).
# An AOT cache holds only for the very JVM build, runtime image and class path (paths, sizes, times) it was
# trained with, which this reproduces.
#
#   k8s/image/aot-train.sh APP_DIR OUT_DIR [BASE.tar]
#
# Without BASE.tar (or with an empty one) it makes no cache: OUT_DIR/app is left empty. BASE.tar is the base image as a `docker save` tarball (what k8s/image/test-base.sh writes, or what
# `crane pull IMAGE BASE.tar` writes for a published base). Writes OUT_DIR/app/berth.aot and
# OUT_DIR/app/berth.aot.release (the base's /opt/java/openjdk/release, which the entrypoint compares with the
# running JVM's before it uses the cache). Reuses them while they are newer than BASE.tar, APP_DIR and this script.
#
# Needs root (bin/test and CI run as root) or unprivileged user namespaces. Never fails the build: when training
# cannot run it says why, leaves OUT_DIR/app empty, and the image starts without a cache (the entrypoint says so).
set -euo pipefail
app=$1 out=$2 base=${3:-}
cache="$out/app/berth.aot"
# The JVM options the entrypoint starts Berth with (src/main/jib/usr/local/bin/berth): training and use must agree.
jvm_opts=(-XX:MaxRAMPercentage=60 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData --enable-native-access=ALL-UNNAMED)

log() { echo "[aot-train] $*" >&2; }
if [[ -z "$base" ]]; then
  rm -rf "$out/app"
  mkdir -p "$out/app"
  log "no base image tarball given: $out gets no start-up cache"
  exit 0
fi
if [[ -s "$cache" && -z "$(find "$base" "$app" "${BASH_SOURCE[0]}" -newer "$cache" 2>/dev/null | head -1)" ]]; then
  log "$cache is up to date"
  exit 0
fi
rm -rf "$out/app"
mkdir -p "$out/app"

work=$(mktemp -d /tmp/berth-aot-train.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$work/image" "$root"
tar -xf "$base" -C "$work/image"
# Layers in order, with OCI whiteouts (.wh.NAME removes NAME from the layers below; .wh..wh..opq empties a directory).
python3 - "$work/image" "$root" <<'EOF'
import json, os, shutil, subprocess, sys
image, root = sys.argv[1], sys.argv[2]
for layer in json.load(open(os.path.join(image, "manifest.json")))[0]["Layers"]:
    names = subprocess.run(["tar", "--warning=no-unknown-keyword", "-tf", os.path.join(image, layer)], check=True, capture_output=True, text=True).stdout.split("\n")
    for name in names:
        base = os.path.basename(name.rstrip("/"))
        if base == ".wh..wh..opq":
            d = os.path.join(root, os.path.dirname(name))
            for entry in os.listdir(d) if os.path.isdir(d) else []:
                p = os.path.join(d, entry)
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
        elif base.startswith(".wh."):
            p = os.path.join(root, os.path.dirname(name), base[4:])
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.remove(p)
    subprocess.run(["tar", "--warning=no-unknown-keyword", "-xf", os.path.join(image, layer), "-C", root, "--exclude=*/.wh.*", "--exclude=.wh.*"], check=True)
EOF
java="$root/opt/java/openjdk/bin/java"
[[ -x "$java" ]] || { log "no JVM at /opt/java/openjdk in $base: no start-up cache"; exit 0; }
mkdir -p "$root/app" "$root/dev" "$root/proc" "$root/tmp" "$work/tmp"
chmod 1777 "$work/tmp"
cp -r "$app/." "$root/"
find "$root/app" -exec touch -h -d @1 {} +

# The root is bind-mounted on itself so that it is a mount point: Berth asks the file store of its data
# directory for free space, which needs the directory's mount in /proc/self/mounts.
script="mount --bind '$root' '$root' && mount --rbind /dev '$root/dev' && mount -t proc proc '$root/proc' \
  && mount --bind '$work/tmp' '$root/tmp' && exec chroot --userspec=65532:0 '$root' /opt/java/openjdk/bin/java \
  ${jvm_opts[*]} -XX:AOTCacheOutput=/tmp/berth.aot -jar /app/berth-server.jar aot-training"
if [[ $(id -u) == 0 ]]; then
  ns=(unshare --mount --fork)
else
  ns=(unshare --user --map-root-user --mount --fork)
fi
log "training with $(sed -n 's/^JAVA_RUNTIME_VERSION=//p; s/^JAVA_VERSION=//p' "$root/opt/java/openjdk/release" | head -1) from $base"
if "${ns[@]}" sh -c "$script" >"$work/train.log" 2>&1 && [[ -s "$work/tmp/berth.aot" ]]; then
  cp "$work/tmp/berth.aot" "$cache"
  cp "$root/opt/java/openjdk/release" "$cache.release"
  log "wrote $cache ($(du -h "$cache" | cut -f1))"
else
  tail -20 "$work/train.log" >&2
  rm -rf "$out/app"
  mkdir -p "$out/app"
  log "training failed (above): the image starts without a start-up cache"
fi
