# Shell helpers shared by the bench scripts (run.sh, admission.sh, proxy.sh, s3.sh; sourced; each keeps its processes in the
# associative array PID, name -> pid).

# stop_pid NAME [TENTHS]: SIGTERM, up to TENTHS tenths of a second (default 50) for it to exit, then SIGKILL;
# reaps it and forgets its pid. A name with no pid is a no-op.
stop_pid() {
  local s=$1 tenths=${2:-50} p=${PID[$1]:-}
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 "$tenths"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "PID[$s]"
}

# ensure_berth_jar ROOT: builds Berth's jar (mvn package, tests skipped) when it is missing or older than the sources,
# then prints its path. Callers define log().
ensure_berth_jar() {
  local root=$1 jar="$1/registry-server/target/berth-server.jar"
  if [[ ! -f "$jar" || -n "$(find "$root"/storage/src/main "$root"/auth/src/main "$root"/registry-server/src/main "$root"/pom.xml "$root"/*/pom.xml -newer "$jar" -type f 2>/dev/null | head -1)" ]]; then
    log "building Berth (mvn package, tests skipped)"
    (cd "$root" && mvn -B -q -ntp -Dmaven.test.skip=true -pl registry-server -am package >&2)
  fi
  printf '%s\n' "$jar"
}

# The options bench/proxy.sh and bench/s3.sh share: --smoke (ROUNDS=1), --rounds N, --out DIR, --help (the calling
# script's header comment). Sets SMOKE, ROUNDS and OUT, which the caller gives defaults first; exits 2 on anything else.
bench_options() {
  local name; name=$(basename "$0")
  while (($#)); do
    case "$1" in
      --smoke) SMOKE=1; ROUNDS=1 ;;
      --rounds) ROUNDS="${2:?--rounds N}"; shift ;;
      --rounds=*) ROUNDS="${1#*=}" ;;
      --out) OUT="${2:?--out DIR}"; shift ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$name: unknown option $1" >&2; exit 2 ;;
    esac
    shift
  done
  [[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "$name: --rounds wants a positive number" >&2; exit 2; }
}
