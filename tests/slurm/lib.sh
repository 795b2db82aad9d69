# Shared by start.sh and stop.sh (sourced). Paths match slurm.conf.in and slurmdbd.conf.in.
# shellcheck shell=bash
# shellcheck disable=SC2034

LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
# A daemon that start.sh started is recorded as $RUN_DIR/started-by-tests/<name>; stop.sh stops
# exactly those (or every one with --all), never a daemon somebody else had running.
STARTED_DIR=$RUN_DIR/started-by-tests

# name -> "pidfile comm"
daemon_pidfile() {
  case $1 in
  munged) echo /run/munge/munged.pid ;;
  mariadbd) echo /run/mysqld/mysqld.pid ;;
  slurmdbd | slurmctld | slurmd) echo "$RUN_DIR/$1.pid" ;;
  *) return 1 ;;
  esac
}

say() { printf '[tests/slurm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

dump_logs() {
  local f
  for f in "$LOG_DIR"/slurmctld.log "$LOG_DIR"/slurmd.log "$LOG_DIR"/slurmdbd.log \
    "$LOG_DIR"/mariadb.log /var/log/munge/munged.log; do
    [ -s "$f" ] || continue
    printf -- '--- tail of %s ---\n' "$f" >&2
    tail -n 20 "$f" >&2 || true
  done
}

fail() {
  say "ERROR: $*"
  dump_logs
  exit 1
}

# running NAME -> prints the pid when NAME's pidfile names a live process called NAME
running() {
  local file pid
  file=$(daemon_pidfile "$1") || return 1
  [ -s "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

# poll SECONDS WHAT CMD... -> runs CMD once a second until it succeeds or SECONDS have passed
poll() {
  local limit=$1 what=$2 end
  shift 2
  end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then
      say "gave up after ${limit}s waiting for: $what"
      return 1
    fi
    sleep 1
  done
}

# halt NAME -> SIGTERM the daemon's pid, SIGKILL after 30 s; forget that we started it
halt() {
  local name=$1 pid file
  file=$(daemon_pidfile "$name")
  if pid=$(running "$name"); then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || break
      sleep 0.2
    done
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
      say "$name (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
    fi
    rm -f "$file"
  fi
  rm -f "$STARTED_DIR/$name"
}
