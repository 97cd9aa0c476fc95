#!/usr/bin/env bash
# Assembles the base image the tests build Berth's image on, offline: a runtime jlink'd from the Temurin JDK
# at /opt/java/openjdk (where the published base, eclipse-temurin, has its JRE) with the glibc libraries it
# links against, and busybox-static for /bin/sh, as one layer, written as a `docker save` tarball (manifest.json, config, layer) for Jib's tar://
# base. Plain tar and sha256sum suffice; no registry or daemon is involved.
#
#   k8s/image/test-base.sh OUT.tar
#
# Reuses OUT.tar while it is newer than this script. Needs busybox-static (scripts/install-peers.sh) and
# a JDK of 21 or newer with jlink.
set -euo pipefail
out=$1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -s "$out" && "$out" -nt "${BASH_SOURCE[0]}" ]]; then
  echo "[test-base] $out is up to date" >&2
  exit 0
fi
. "$here/../../scripts/java-env.sh"
[[ -x /bin/busybox ]] || { echo "[test-base] /bin/busybox missing: run scripts/install-peers.sh" >&2; exit 1; }

# What Berth's classpath needs (jdeps --print-module-deps), plus java.logging and java.xml for logback.
modules=java.base,java.compiler,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.jfr,jdk.management,jdk.unsupported

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,tmp,opt/java}
chmod 1777 "$root/tmp"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --output "$root/opt/java/openjdk"
# The JDK's binaries are linked against glibc: copy the shared libraries they need (ldd), at their paths.
# libgcc_s is for netty's native transport and OpenSSL, which are unpacked at run time.
{
  find "$root/opt/java/openjdk" -type f \( -name '*.so' -o -perm -u+x \) -exec ldd {} \; 2>/dev/null |
    awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'
  # awk reads to the end: an early exit would kill ldconfig with SIGPIPE, which pipefail turns into failure.
  ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ && !found {print $NF; found=1}'
} | sort -u | while read -r lib; do
  # (ldd names the runtime's own libraries by their path in $root: they are there already)
  [[ -e $lib && $lib != "$root"/* ]] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp /bin/busybox "$root/bin/busybox"
for applet in sh ls cat env id wget grep tr; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nberth:x:65532:0:berth:/var/lib/registry:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nberth:x:65532:\n' >"$root/etc/group"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$work/layer.tar" .
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
image="$work/image"
mkdir -p "$image"
mv "$work/layer.tar" "$image/$layer.tar"
printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/opt/java/openjdk/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/opt/java/openjdk"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"k8s/image/test-base.sh"}]}' \
  "$layer" >"$image/config.json"
config=$(sha256sum "$image/config.json" | cut -d' ' -f1)
mv "$image/config.json" "$image/$config.json"
printf '[{"Config":"%s.json","RepoTags":["berth-test/base:latest"],"Layers":["%s.tar"]}]' "$config" "$layer" >"$image/manifest.json"
mkdir -p "$(dirname "$out")"
tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$image" -cf "$out.tmp" manifest.json "$config.json" "$layer.tar"
mv -f "$out.tmp" "$out"
echo "[test-base] wrote $out ($(du -h "$out" | cut -f1))" >&2
