#!/usr/bin/env bash
# Bounded fuzzing of Berth's @FuzzTest targets (Jazzer; issue 11).
#
#   scripts/fuzz.sh [seconds-per-target] [Class#method ...]
#
# Builds the test classes once, then fuzzes each target for the given time (default 3 s: all 14 targets take about
# 1.5 minutes of wall time on 2 cores, two targets at a time). Names such as ManifestFuzzTest#anyBodyIsAManifestOrManifestInvalid
# (or just ManifestFuzzTest) pick targets. Exits non-zero if any target found a crash.
#
# A finding is written as crash-<sha1> into the target's seed directory,
# <module>/src/test/resources/<package>/<Class>Inputs/<method>/, so that a plain `mvn test` replays it from then on
# (commit it with the fix). The corpus each run grows is kept in <module>/.cifuzz-corpus/ (git-ignored) and reused.
#
# Long run, 30 minutes per target (about 3.5 hours for all 14, two at a time): scripts/fuzz.sh 1800
# One target for 30 minutes in the background, at low priority:
#   nice -n 19 scripts/fuzz.sh 1800 HttpPipelineFuzzTest > fuzz-http.log 2>&1 &
# The same through Maven (Jazzer's JUnit fuzzing mode: one @FuzzTest per JVM, picked with -Dtest):
#   JAZZER_FUZZ=1 JAZZER_MAX_DURATION=30m mvn -pl storage -am test -Dsurefire.failIfNoSpecifiedTests=false \
#     -Dtest='ManifestFuzzTest#anyBodyIsAManifestOrManifestInvalid'
# Each target runs as its own JVM through Jazzer's driver (--target_class/--target_method), with the options of the
# test JVMs (paranoid leak detection, the pod's heap) and a hosts file of its own, so that a fuzzed host name in the
# config loader is never looked up in DNS. Without Maven around each target, one costs about 6 s of start-up, not 20.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/java-env.sh

seconds="${1:-3}"
shift || true
parallel="${FUZZ_PARALLEL:-2}"

targets=(
  "storage io.berth.storage.ManifestFuzzTest anyBodyIsAManifestOrManifestInvalid"
  "storage io.berth.storage.NameFuzzTest anyRepositoryNameIsValidAndStaysUnderTheRootOrNameInvalid"
  "storage io.berth.storage.NameFuzzTest anyReferenceIsATagOrADigestOrRefusedWithItsCode"
  "storage io.berth.storage.NameFuzzTest anyDigestIsCanonicalOrDigestInvalid"
  "auth io.berth.auth.token.TokenFuzzTest anyTokenTextIsValidOrInvalidTokenException"
  "auth io.berth.auth.token.TokenFuzzTest anySignedHeaderAndClaimsAreValidOrInvalidTokenException"
  "auth io.berth.auth.HtpasswdFuzzTest anyFileIsBcryptAccountsOrRefusedNamingTheLine"
  "auth io.berth.auth.HeaderFuzzTest anyAuthorizationHeaderIsBasicCredentialsOrMalformed"
  "auth io.berth.auth.HeaderFuzzTest anyScopeParameterReadsBackTheSame"
  "registry-server io.berth.server.http.HttpPipelineFuzzTest anyBytesFromAClientGetWellFormedAnswersAndLeakNothing"
  "registry-server io.berth.server.http.HttpPipelineFuzzTest anyBytesFromAClientOfAnAuthenticatedRegistryGetWellFormedAnswersAndLeakNothing"
  "registry-server io.berth.server.http.RangeFuzzTest anyRangeHeaderIsTheWholeBlobUnsatisfiableOrInsideIt"
  "registry-server io.berth.server.http.RangeFuzzTest anyContentRangeContinuesTheUploadOrIsRefused"
  "registry-server io.berth.server.config.ConfigFuzzTest anyYamlAndOverridesAreAConfigOrConfigException"
)

selected=()
for t in "${targets[@]}"; do
  read -r module class method <<<"$t"
  if [ "$#" -eq 0 ]; then
    selected+=("$t")
    continue
  fi
  for want in "$@"; do
    if [ "$want" = "${class##*.}#$method" ] || [ "$want" = "${class##*.}" ]; then
      selected+=("$t")
    fi
  done
done
if [ "${#selected[@]}" -eq 0 ]; then
  echo "fuzz.sh: no target matches $*" >&2
  exit 2
fi

echo "== fuzz: building the test classes and their class paths"
mvn -B -ntp -q -pl storage,auth,registry-server -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/fuzz-classpath.txt

work="$(mktemp -d "${TMPDIR:-/tmp}/berth-fuzz.XXXXXX")"
trap '[ -n "${FUZZ_KEEP:-}" ] || rm -rf "$work"' EXIT
printf '127.0.0.1 localhost\n::1 localhost\n' >"$work/hosts"

# Runs one target in its module's directory (where Jazzer finds the seeds and writes findings); prints one line.
run_target() {
  local module="$1" class="$2" method="$3" log="$work/$2#$3.log"
  local cp="target/test-classes:target/classes:$(cat "$module/target/fuzz-classpath.txt")"
  if (cd "$module" && java -XX:+EnableDynamicAgentLoading --enable-native-access=ALL-UNNAMED \
        -Dio.netty.leakDetection.level=paranoid -Dio.netty.leakDetectionLevel=paranoid \
        -XX:MaxRAM=1g -XX:MaxRAMPercentage=60 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
        -Djdk.net.hosts.file="$work/hosts" \
        -cp "$cp" com.code_intelligence.jazzer.Jazzer \
        --target_class="$class" --target_method="$method" --max_duration="${seconds}s" \
        -rss_limit_mb=4096 ) >"$log" 2>&1; then
    echo "fuzz: ok     ${class##*.}#$method ($(grep -o 'Done [0-9]* runs' "$log" | tail -1 || true))"
  else
    echo "fuzz: FAILED ${class##*.}#$method"
    grep -v '^INFO: \(Instrumented\|Loaded\)' "$log" | grep -A40 -m1 '== Java Exception\|FuzzerSecurityIssue\|Failure\|Exception' | head -60 | sed 's/^/    /'
    find "$module/src/test/resources" -path "*Inputs/$method/crash-*" -newer "$work/hosts" | sed 's/^/    finding: /'
    return 1
  fi
}
export -f run_target
export work seconds

echo "== fuzz: ${#selected[@]} targets, ${seconds}s each, $parallel at a time"
printf '%s\n' "${selected[@]}" \
  | xargs -P "$parallel" -I{} bash -c 'run_target {}' | tee "$work/summary" || true
passed=$(grep -c '^fuzz: ok' "$work/summary" || true)
failed=$(( ${#selected[@]} - passed ))
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
