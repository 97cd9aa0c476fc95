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
