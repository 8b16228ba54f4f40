# Shared helpers for scripts/services: paths, timing, waiting, apt installs, daemons.
# Sourced, not executed. Expects SCRIPTS_DIR, REPO_ROOT and STATE_DIR to be set.

HOST=127.0.0.1

log() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Wall-clock seconds with microseconds, from bash itself (no fork).
now() { local t=$EPOCHREALTIME; echo "${t/,/.}"; }
# Seconds elapsed since a `now` value, two decimals.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# True if something accepts TCP connections on 127.0.0.1:<port>.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# wait_until <seconds> <command...>: poll the command until it succeeds or time runs out.
wait_until() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# A zombie counts as gone: daemons re-parented to a pid 1 that reaps lazily linger as zombies.
pid_gone() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [[ -z $stat || $stat == Z* ]]
}
# True while the pid stored in <pidfile> is alive.
pid_alive() { [[ -s $1 ]] && ! pid_gone "$(<"$1")"; }

# stop_pid <pidfile> <seconds>: SIGTERM, wait, then SIGKILL as a last resort.
stop_pid() {
  local pidfile=$1 limit=$2 pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$limit" pid_gone "$pid"; then
    warn "pid $pid did not stop within ${limit}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
}

# spawn <logfile> <pidfile> <command...>: run a daemon in its own session, detached from
# this shell's terminal and lock fd (fd 9), so it outlives the script and never holds the lock.
spawn() {
  local logfile=$1 pidfile=$2; shift 2
  mkdir -p "$(dirname "$logfile")" "$(dirname "$pidfile")"
  setsid nohup "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

# Print the tail of a log to stderr, to explain a failed start.
show_log() {
  [[ -f $1 ]] || return 0
  warn "---- last lines of $1 ----"
  tail -n "${2:-30}" "$1" >&2 || true
  warn "----"
}

# Serialise up/down/restart between concurrent callers (parallel test jobs, several engineers).
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 900 9 || die "could not lock $STATE_DIR/.lock within 900s"
}

pkg_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == 'install ok installed' ]]; }

# ensure_packages <pkg...>: apt-get install whatever is missing, without starting daemons.
ensure_packages() {
  local missing=() p
  for p in $(printf '%s\n' "$@" | sort -u); do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  ((EUID == 0)) || die "packages missing (${missing[*]}) and not root: install them with apt-get"
  local t0 marker="$STATE_DIR/.apt-updated" made_policy=""
  t0=$(now)
  log "installing Debian packages: ${missing[*]}"
  mkdir -p "$STATE_DIR"
  # Debian's postinst would start system-wide daemons on our ports; policy-rc.d exit 101 forbids it.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  # apt-get update once per state dir; retry with a fresh update if the cached lists are stale.
  [[ -e $marker ]] || { apt-get update -qq && touch "$marker"; }
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$STATE_DIR/apt.log" 2>&1 9>&- || rc=$?
  if ((rc != 0)); then
    apt-get update -qq && touch "$marker"
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >"$STATE_DIR/apt.log" 2>&1 9>&- || rc=$?
  fi
  if [[ -n $made_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || { show_log "$STATE_DIR/apt.log"; die "apt-get install ${missing[*]} failed"; }
  log "installed ${missing[*]} in $(since "$t0")s"
}
