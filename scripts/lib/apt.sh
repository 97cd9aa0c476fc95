# Sourced by the install scripts: installs Debian packages idempotently, as root.
# Callers define log() first.

# Prints the packages among "$@" that are not installed.
apt_missing() {
  local p st
  for p in "$@"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ "$st" == ii* ]] || printf '%s\n' "$p"
  done
}

# Installs whatever of "$@" is missing; a no-op (no apt-get update) when everything is there.
# Package maintainer scripts are kept from starting services: tests start private instances.
apt_ensure() {
  local missing
  mapfile -t missing < <(apt_missing "$@")
  if ((${#missing[@]} == 0)); then
    log "apt: all $# packages already installed"
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "apt: missing ${missing[*]}; run this script as root"; exit 1
  fi
  log "apt: installing ${missing[*]}"
  local made_policy=0 rc=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || rc=$?
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || { log "apt-get failed ($rc)"; exit "$rc"; }
  mapfile -t missing < <(apt_missing "$@")
  if ((${#missing[@]})); then
    log "apt: still missing after install: ${missing[*]}"; exit 1
  fi
}

# Stops and disables a system service a package shipped (systemd or init.d).
apt_disable_service() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    systemctl disable --now "$1" >/dev/null 2>&1 || true
  elif [[ -x "/etc/init.d/$1" ]]; then
    "/etc/init.d/$1" stop >/dev/null 2>&1 || true
    update-rc.d "$1" disable >/dev/null 2>&1 || true
  fi
}
