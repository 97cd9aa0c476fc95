# Sourced by bin/berth and bench/run.sh, after scripts/java-env.sh: Berth's start-up cache, a JDK 25 AOT cache
# (JEP 483/514/515) of the classes a short training run loads and links and of the profiles it gathers, which
# roughly halves the CPU a start takes.
#
#   berth_aot_prepare JAR [JVM options...]   # creates the cache if needed, then as berth_aot_options
#   berth_aot_options JAR                    # sets the array BERTH_AOT_OPTS to use the cache if it is up to date
#
# The cache is $(dirname JAR)/berth.aot. It is made when it is missing or older than the jar or its lib/:
# `java -XX:AOTCacheOutput=... -jar JAR aot-training` starts Berth on a temporary directory at 127.0.0.1:0, pushes
# and pulls over HTTP and HTTPS, and exits, and the JVM writes the cache (about 10 s, once per build). Pass the
# JVM options Berth will run with, so that training and use agree. The cache holds only for this very jar path
# and class path: a copied jar needs its own.
#
# Never fails: with a JDK older than 25, BERTH_AOT=0, or a failed training (its log is berth.aot.log; it is not
# retried until the jar changes), BERTH_AOT_OPTS is empty and Berth starts as before. A cache that no longer
# matches the jar makes the JVM print a warning and start without it.
berth_aot_prepare() {
  local jar=$1; shift
  local cache log tmp
  BERTH_AOT_OPTS=()
  berth_aot_supported "$jar" || return 0
  jar=$(berth_aot_jar "$jar")
  cache="${jar%/*}/berth.aot"
  log="$cache.log"
  if berth_aot_stale "$jar" "$cache"; then
    if [[ -f "$log" ]] && ! berth_aot_stale "$jar" "$log"; then
      return 0   # training failed for this very jar (see the log), or runs right now in another start
    fi
    echo "berth: creating the start-up cache $cache (once per build, about 10 s)..." >&2
    tmp="$cache.$$.tmp"
    if "$JAVA_HOME/bin/java" "$@" -XX:AOTCacheOutput="$tmp" -jar "$jar" aot-training >"$log" 2>&1 && [[ -s "$tmp" ]]; then
      mv -f "$tmp" "$cache"
      rm -f "$log"
    else
      rm -f "$tmp" "$tmp.config"
      echo "berth: could not create the start-up cache (see $log); starting without it" >&2
      return 0
    fi
  fi
  BERTH_AOT_OPTS=("-XX:AOTCache=$cache")
}

berth_aot_options() {
  local jar
  BERTH_AOT_OPTS=()
  berth_aot_supported "$1" || return 0
  jar=$(berth_aot_jar "$1")
  berth_aot_stale "$jar" "${jar%/*}/berth.aot" || BERTH_AOT_OPTS=("-XX:AOTCache=${jar%/*}/berth.aot")
}

berth_aot_supported() {
  [[ "${BERTH_AOT:-1}" != 0 && -f "$1" ]] && [[ "$(berth_java_major "$JAVA_HOME")" -ge 25 ]] 2>/dev/null
}

# The jar's absolute path: the cache records the class path as the JVM was given it.
berth_aot_jar() {
  echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
}

# Whether FILE is missing or older than the jar or one of the jars in lib/ beside it.
berth_aot_stale() {
  local jar=$1 file=$2
  [[ -f "$file" ]] || return 0
  [[ -n "$(find "$jar" "$(dirname "$jar")/lib" -name '*.jar' -newer "$file" 2>/dev/null | head -1)" ]]
}
