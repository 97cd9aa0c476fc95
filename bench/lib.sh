# Shell helpers shared by bench/run.sh and bench/admission.sh (sourced; both keep their processes in the
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
