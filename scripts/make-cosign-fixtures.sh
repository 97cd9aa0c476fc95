#!/usr/bin/env bash
# Makes the cosign test fixtures in auth/src/test/resources/cosign/ with the real, pinned cosign builds
# (scripts/install-peers.sh) against a Berth of this worktree on 127.0.0.1 over plain HTTP, air-gapped.
#
#   . scripts/java-env.sh && mvn -B -ntp -o -q -pl registry-server -am package -Dmaven.test.skip=true
#   bash scripts/make-cosign-fixtures.sh [OUT]     # OUT defaults to auth/src/test/resources/cosign
#
# Each run makes new keys and new random images, so every file changes; the README is rewritten last.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-$root/auth/src/test/resources/cosign}")"
. "$root/scripts/java-env.sh"
. "${BERTH_TOOLS:-/var/cache/berth-tools}/env.sh"
jar="$root/registry-server/target/berth-server.jar"
[[ -f "$jar" ]] || { echo "build $jar first (see the header)" >&2; exit 1; }
COSIGN3=$BERTH_COSIGN COSIGN2=$BERTH_COSIGN2 CRANE=$BERTH_CRANE

work=$(mktemp -d /tmp/cosign-fixtures.XXXXXX)
berth_pid=
cleanup() {
  [[ -n "$berth_pid" ]] && kill "$berth_pid" 2>/dev/null && wait "$berth_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# cosign and crane with a home of their own; cosign keys with an empty password.
export HOME="$work/home" DOCKER_CONFIG="$work/home/.docker" COSIGN_PASSWORD= TMPDIR="$work"
mkdir -p "$HOME"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
R="127.0.0.1:$port"
cat >"$work/config.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/data
  delete:
    enabled: true
http:
  addr: $R
EOF
"$JAVA_HOME/bin/java" -jar "$jar" serve "$work/config.yml" >"$work/berth.log" 2>&1 &
berth_pid=$!
for _ in $(seq 100); do curl -sf "http://$R/v2/" >/dev/null && break; sleep 0.2; done
curl -sf "http://$R/v2/" >/dev/null || { cat "$work/berth.log" >&2; exit 1; }

[[ "$(basename "$out")" == cosign* ]] || { echo "refusing to replace $out (not a .../cosign* directory)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/keys"
cd "$work"

# ------------------------------------------------------------------ keys -----
( cd "$out/keys"
  "$COSIGN3" generate-key-pair --output-key-prefix ci >/dev/null 2>&1      # ECDSA P-256: signs every main case
  "$COSIGN3" generate-key-pair --output-key-prefix other >/dev/null 2>&1   # ECDSA P-256: signs nothing ("wrong key")
  openssl genpkey -algorithm ed25519 -out "$work/ed25519.pem" 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rsa.pem" 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$work/p384.pem" 2>/dev/null
  for k in ed25519 rsa p384; do
    "$COSIGN3" import-key-pair --key "$work/$k.pem" --output-key-prefix "$k" >/dev/null 2>&1
  done )

# An empty signing config: cosign v3 signs with no Fulcio, Rekor or TSA (v3 refuses --tlog-upload=false).
"$COSIGN3" signing-config create --out "$work/signing-config.json" >/dev/null 2>&1
cat >"$work/predicate.json" <<'EOF'
{"builder":{"id":"https://ci.mycorp.local/berth-fixtures"},"buildType":"https://ci.mycorp.local/build@v1","invocation":{"configSource":{"uri":"git+https://git.mycorp.local/app","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"},"entryPoint":"build"}},"materials":[{"uri":"git+https://git.mycorp.local/app","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]}
EOF

# --------------------------------------------------------------- images -----
# A one-layer image: a tar holding 88 random base64 bytes. Prints its digest.
image() {  # image REPO TAG [PLATFORM]
  local repo=$1 tag=$2 dir
  dir=$(mktemp -d "$work/layer.XXXXXX")
  head -c 64 /dev/urandom | base64 >"$dir/payload.txt"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf "$dir.tar" payload.txt
  "$CRANE" append -f "$dir.tar" -t "$R/$repo:$tag" >/dev/null 2>&1
  if [[ -n "${3:-}" ]]; then
    "$CRANE" mutate "$R/$repo:$tag" --set-platform "$3" -t "$R/$repo:$tag" >/dev/null 2>&1
  fi
  "$CRANE" digest "$R/$repo:$tag"
}

get() {  # get PATH -> the body, exactly as Berth serves it
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$R$1"
}

# Stores a manifest and every blob it names (config and layers) under $case/blobs/<hex>.
store_manifest() {  # store_manifest CASE REPO DIGEST FILE
  local case=$1 repo=$2 digest=$3 file=$4 d
  get "/v2/$repo/manifests/$digest" >"$out/$case/$file"
  [[ "sha256:$(sha256sum <"$out/$case/$file" | cut -d' ' -f1)" == "$digest" ]] || { echo "digest mismatch $digest" >&2; exit 1; }
  mkdir -p "$out/$case/blobs"
  for d in $(jq -r '[.config.digest] + [.layers[].digest] | .[]' "$out/$case/$file"); do
    get "/v2/$repo/blobs/$d" >"$out/$case/blobs/${d#sha256:}"
  done
}

# case NAME REPO COSIGN_VERSION KIND KEY COMMAND... ; KIND is tag-sig, tag-att or referrer
case_() {
  local name=$1 repo=$2 version=$3 kind=$4 key=$5; shift 5
  local subject=$SUBJECT sig tag="" verify verify_out status
  mkdir -p "$out/$name"
  printf '%s\n' "$subject" >"$out/$name/subject.digest"
  get "/v2/$repo/manifests/$subject" >"$out/$name/subject.json"
  "$@" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; exit 1; }
  get "/v2/$repo/tags/list" >"$out/$name/tags.json"
  get "/v2/$repo/referrers/$subject" >"$out/$name/referrers.json"
  case $kind in
    tag-sig|tag-att)
      tag="${subject/:/-}.${kind#tag-}"
      sig="sha256:$(get "/v2/$repo/manifests/$tag" | sha256sum | cut -d' ' -f1)" ;;
    referrer)
      sig=$(jq -r '.manifests[0].digest' "$out/$name/referrers.json") ;;
  esac
  store_manifest "$name" "$repo" "$sig" manifest.json
  printf '%s\n' "$sig" >"$out/$name/manifest.digest"
  # What cosign itself says of it, verifying with the public key (recorded, not required to pass).
  verify=("${VERIFY[@]}" "$R/$repo@$subject")
  if verify_out=$("${verify[@]}" 2>&1); then status=verified; else status="refused: $(grep -v WARNING <<<"$verify_out" | tail -1)"; fi
  jq -n --arg name "$name" --arg repo "$repo" --arg registry "$R" --arg subject "$subject" --arg cosign "$version" \
        --arg kind "$kind" --arg tag "$tag" --arg sig "$sig" --arg key "keys/$key.pub" \
        --arg command "$(printf '%q ' "${@/#$work\//}" | sed "s#$COSIGN3#cosign-$BERTH_COSIGN_VERSION#; s#$COSIGN2#cosign-$BERTH_COSIGN2_VERSION#; s#$out/##g; s# \$##")" \
        --arg verify "$(printf '%q ' "${verify[@]/#$work\//}" | sed "s#$COSIGN3#cosign-$BERTH_COSIGN_VERSION#; s#$COSIGN2#cosign-$BERTH_COSIGN2_VERSION#; s#$out/##g; s# \$##")" \
        --arg status "$status" \
        '{case: $name, cosign: $cosign, registry: $registry, repository: $repo, subject: $subject, kind: $kind,
          tag: (if $tag == "" then null else $tag end), signatureManifest: $sig, key: $key,
          command: $command, cosignVerify: $verify, cosignVerifyResult: $status}' >"$out/$name/case.json"
}

K="$out/keys"
SC="$work/signing-config.json"
V2_VERIFY=("$COSIGN2" verify --insecure-ignore-tlog)
V3_VERIFY=("$COSIGN3" verify --insecure-ignore-tlog --use-signed-timestamps=false)

SUBJECT=$(image fixtures/v2-sign build-1)
VERIFY=("${V2_VERIFY[@]}" --key "$K/ci.pub")
case_ v2-sign fixtures/v2-sign "$BERTH_COSIGN2_VERSION" tag-sig ci \
  "$COSIGN2" sign --key "$K/ci.key" --tlog-upload=false --yes "$R/fixtures/v2-sign@$SUBJECT"

SUBJECT=$(image fixtures/v2-attest build-1)
VERIFY=("$COSIGN2" verify-attestation --insecure-ignore-tlog --type slsaprovenance --key "$K/ci.pub")
case_ v2-attest fixtures/v2-attest "$BERTH_COSIGN2_VERSION" tag-att ci \
  "$COSIGN2" attest --key "$K/ci.key" --tlog-upload=false --yes --type slsaprovenance --predicate "$work/predicate.json" "$R/fixtures/v2-attest@$SUBJECT"

SUBJECT=$(image fixtures/v3-sign build-1)
VERIFY=("${V3_VERIFY[@]}" --key "$K/ci.pub")
case_ v3-sign fixtures/v3-sign "$BERTH_COSIGN_VERSION" referrer ci \
  "$COSIGN3" sign --key "$K/ci.key" --signing-config "$SC" --yes "$R/fixtures/v3-sign@$SUBJECT"

SUBJECT=$(image fixtures/v3-attest build-1)
VERIFY=("$COSIGN3" verify-attestation --insecure-ignore-tlog --use-signed-timestamps=false --type slsaprovenance --key "$K/ci.pub")
case_ v3-attest fixtures/v3-attest "$BERTH_COSIGN_VERSION" referrer ci \
  "$COSIGN3" attest --key "$K/ci.key" --signing-config "$SC" --yes --type slsaprovenance --predicate "$work/predicate.json" "$R/fixtures/v3-attest@$SUBJECT"

amd64=$(image fixtures/v3-sign-index amd64 linux/amd64)
arm64=$(image fixtures/v3-sign-index arm64 linux/arm64)
"$CRANE" index append -m "$R/fixtures/v3-sign-index@$amd64" -m "$R/fixtures/v3-sign-index@$arm64" -t "$R/fixtures/v3-sign-index:build-1" >/dev/null 2>&1
SUBJECT=$("$CRANE" digest "$R/fixtures/v3-sign-index:build-1")
VERIFY=("${V3_VERIFY[@]}" --key "$K/ci.pub")
case_ v3-sign-index fixtures/v3-sign-index "$BERTH_COSIGN_VERSION" referrer ci \
  "$COSIGN3" sign --key "$K/ci.key" --signing-config "$SC" --yes "$R/fixtures/v3-sign-index@$SUBJECT"

# Other key types, imported with `cosign import-key-pair`. cosign signs P-384 with SHA-384 (and verifies it only with
# --signature-digest-algorithm sha384), and Ed25519 as Ed25519ph, which its own `verify --key` does not accept.
for k in rsa p384 ed25519; do
  alg=()
  [[ $k == p384 ]] && alg=(--signature-digest-algorithm sha384)
  SUBJECT=$(image "fixtures/v2-sign-$k" build-1)
  VERIFY=("${V2_VERIFY[@]}" "${alg[@]}" --key "$K/$k.pub")
  case_ "v2-sign-$k" "fixtures/v2-sign-$k" "$BERTH_COSIGN2_VERSION" tag-sig "$k" \
    "$COSIGN2" sign --key "$K/$k.key" --tlog-upload=false --yes "$R/fixtures/v2-sign-$k@$SUBJECT"
  SUBJECT=$(image "fixtures/v3-sign-$k" build-1)
  VERIFY=("${V3_VERIFY[@]}" "${alg[@]}" --key "$K/$k.pub")
  case_ "v3-sign-$k" "fixtures/v3-sign-$k" "$BERTH_COSIGN_VERSION" referrer "$k" \
    "$COSIGN3" sign --key "$K/$k.key" --signing-config "$SC" --yes "$R/fixtures/v3-sign-$k@$SUBJECT"
done

cp "$work/predicate.json" "$work/signing-config.json" "$out/"
echo "fixtures in $out (write README.md last)" >&2
