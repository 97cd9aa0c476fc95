#!/usr/bin/env bash
# The crash harness: CrashIT kills Berth with SIGKILL KILLS times (default 100, as in CI) while clients push, move
# tags and delete, with online garbage collection every 300 ms (one kill in four aimed at a collection), restarts it
# on the same volume each time, and checks every acknowledged write, every read's
# digest and `berth fsck`. The totals go to conformance/target/crash-report.md.
#
#   scripts/crash-harness.sh [KILLS] [SEED]      # e.g. scripts/crash-harness.sh 1000; SEED replays a run
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-100}
[[ "$kills" =~ ^[0-9]+$ && "$kills" -gt 0 ]] || { echo "usage: $0 [KILLS] [SEED]" >&2; exit 2; }
seed_opt=()
if [[ $# -ge 2 ]]; then
  [[ "$2" =~ ^-?[0-9]+$ ]] || { echo "usage: $0 [KILLS] [SEED]" >&2; exit 2; }
  seed_opt=("-Dcrash.seed=$2")
fi
. scripts/java-env.sh
rm -f conformance/target/crash-report.md
status=0
mvn -B -ntp -o -pl conformance -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=CrashIT -Dfailsafe.failIfNoSpecifiedTests=false -Dcrash.kills="$kills" "${seed_opt[@]}" || status=$?
cat conformance/target/crash-report.md 2>/dev/null || echo "no report: the build failed before CrashIT ran" >&2
exit "$status"
