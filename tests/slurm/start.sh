#!/usr/bin/env bash
# Start a real single-node SLURM cluster on localhost for tests/test_slurm.py: munged, MariaDB,
# slurmdbd (so that sacct works), slurmctld and slurmd, without systemd or cgroups.
# Debian 12, as root. Idempotent: installs only missing packages, rewrites a config only when it
# changed, restarts only the daemons whose config changed, then waits (bounded) until the node is
# idle, the account exists and a one-second job runs. Prints what it did on stderr; on failure
# exits 1 with the tail of every daemon's log.
#
#   SLURM_TEST_PARTITION  partition of the node (default debug)
#   SLURM_TEST_ACCOUNT    account created for root (default ci)
#   SLURM_TEST_TIMEOUT    seconds allowed for each wait (default 60)
#   SLURM_TEST_MEM_MB     RealMemory of the node (default 85 % of MemTotal, at most MemAvailable)
#
# Stop with tests/slurm/stop.sh (stops exactly the daemons this script started).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

T0=$SECONDS
CLUSTER=testcluster
PARTITION=${SLURM_TEST_PARTITION:-debug}
ACCOUNT=${SLURM_TEST_ACCOUNT:-ci}
WAIT=${SLURM_TEST_TIMEOUT:-60}
DBPASS=slurmtests
[ "$(id -u)" = 0 ] || fail "must run as root"
HOST=$(hostname -s)

# 1. Packages (tests/apt_install.sh: only the missing ones, daemons not started by apt).
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
bash "$HERE/../apt_install.sh" "${PACKAGES[@]}" || fail "could not install ${PACKAGES[*]}"

# 2. Host name, directories, munge key.
getent hosts "$HOST" >/dev/null || printf '127.0.0.1\t%s\n' "$HOST" >>/etc/hosts
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o slurm -g slurm -m 0755 "$RUN_DIR" /var/spool/slurmctld "$LOG_DIR"
install -d -o root -g root -m 0755 /var/spool/slurmd /etc/slurm "$STARTED_DIR"
install -d -o mysql -g root -m 0755 /run/mysqld
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key

# 3. Configs. The node declares what slurmd detects (or only the CPU count when nproc is limited
# below the hardware) and 85 % of MemTotal rounded down to 1000 MB (MemAvailable drifts; using it
# would rewrite the config, and restart the daemons, on every call).
cpus=$(nproc)
hw=$(slurmd -C 2>/dev/null | head -n 1 || true)
field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
if [ "$(field CPUs)" = "$cpus" ]; then
  cpuspec="CPUs=$cpus Boards=$(field Boards) SocketsPerBoard=$(field SocketsPerBoard) CoresPerSocket=$(field CoresPerSocket) ThreadsPerCore=$(field ThreadsPerCore)"
else
  cpuspec="CPUs=$cpus"
fi
total=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
available=$(($(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024))
mem=$((total * 85 / 100))
((mem <= available)) || mem=$available
mem=${SLURM_TEST_MEM_MB:-$((mem / 1000 * 1000))}
hw_mem=$(field RealMemory)
[ -z "$hw_mem" ] || ((mem <= hw_mem)) || mem=$hw_mem
((mem >= 2000)) || fail "only ${mem} MB for the node; the workflow's jobs need 2000"

# write_config TEMPLATE DEST OWNER MODE -> 0 when DEST changed
write_config() {
  local rendered
  rendered=$(mktemp)
  sed -e "s|@CLUSTER@|$CLUSTER|g" -e "s|@HOST@|$HOST|g" -e "s|@CPUSPEC@|$cpuspec|g" \
    -e "s|@MEM@|$mem|g" -e "s|@PARTITION@|$PARTITION|g" -e "s|@DBPASS@|$DBPASS|g" "$1" >"$rendered"
  if [ -f "$2" ] && cmp -s "$rendered" "$2"; then
    rm -f "$rendered"
    return 1
  fi
  install -o "${3%:*}" -g "${3#*:}" -m "$4" "$rendered" "$2"
  rm -f "$rendered"
  say "wrote $2"
}
slurm_changed=0 dbd_changed=0
# A slurm.conf written where there was none is recorded, and stop.sh removes it again.
[ -e /etc/slurm/slurm.conf ] || touch "$STARTED_DIR/slurm.conf"
write_config "$HERE/slurm.conf.in" /etc/slurm/slurm.conf root:root 0644 && slurm_changed=1
write_config "$HERE/slurmdbd.conf.in" /etc/slurm/slurmdbd.conf slurm:slurm 0600 && dbd_changed=1

# launch NAME CMD... -> start NAME unless it runs; record that we started it
launch() {
  local name=$1 pid
  shift
  if pid=$(running "$name"); then
    say "$name already running (pid $pid)"
    return 0
  fi
  say "starting $name"
  "$@"
  touch "$STARTED_DIR/$name"
}

# 4. munge, MariaDB, slurmdbd, slurmctld, slurmd (a changed config restarts its daemons).
launch munged runuser -u munge -- /usr/sbin/munged
poll "$WAIT" "munge round trip" bash -c 'munge -n </dev/null | unmunge' || fail "munged does not work"

if ! mariadb-admin ping >/dev/null 2>&1; then
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >>"$LOG_DIR/mariadb.log" 2>&1
  launch mariadbd bash -c "setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
    --pid-file=/run/mysqld/mysqld.pid --innodb-buffer-pool-size=128M </dev/null >>$LOG_DIR/mariadb.log 2>&1 &"
fi
poll "$WAIT" "MariaDB" mariadb-admin ping || fail "MariaDB did not start"
mariadb <<SQL || fail "could not create the accounting database"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL

((dbd_changed)) && running slurmdbd >/dev/null && halt slurmdbd
launch slurmdbd /usr/sbin/slurmdbd
poll "$WAIT" "slurmdbd (sacctmgr list cluster)" sacctmgr -n list cluster || fail "slurmdbd does not answer"

if ((slurm_changed)); then # node and accounting settings need a restart, not a reconfigure
  running slurmd >/dev/null && halt slurmd
  running slurmctld >/dev/null && halt slurmctld
fi
launch slurmctld /usr/sbin/slurmctld
poll "$WAIT" "slurmctld (scontrol ping)" bash -c 'scontrol ping | grep -q "is UP"' || fail "slurmctld is not up"
launch slurmd /usr/sbin/slurmd

# 5. The node idle (a node left down by an earlier run is resumed once).
state() { sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n 1; }
end=$((SECONDS + WAIT)) resumed=0
until [[ "$(state)" =~ ^(idle|mixed|allocated|completing)$ ]]; do
  ((SECONDS < end)) || { scontrol show node "$HOST" >&2 || true; fail "node $HOST is '$(state)' after ${WAIT}s"; }
  if [[ "$(state)" =~ ^(down|drain|fail) ]] && ((!resumed)) && ((SECONDS > end - WAIT + 5)); then
    scontrol update NodeName="$HOST" State=RESUME || true
    resumed=1
  fi
  sleep 1
done

# 6. Account for root (AccountingStorageEnforce=associations rejects jobs without one).
poll "$WAIT" "cluster $CLUSTER registered in slurmdbd" \
  bash -c "sacctmgr -n -P list cluster format=cluster | grep -qx $CLUSTER" || fail "cluster not registered"
sacctmgr -n -P list account "$ACCOUNT" format=account | grep -qx "$ACCOUNT" ||
  sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description=tests Organization=tests >/dev/null
sacctmgr -n -P list assoc user=root account="$ACCOUNT" format=account | grep -qx "$ACCOUNT" ||
  sacctmgr -i add user root Account="$ACCOUNT" Cluster="$CLUSTER" >/dev/null

# 7. One job through the scheduler, with the account and partition the tests use.
poll "$WAIT" "srun -A $ACCOUNT -p $PARTITION true" \
  timeout 30 srun -A "$ACCOUNT" -p "$PARTITION" -N1 -n1 -t 1 --mem=50 true || fail "a trivial job does not run"
say "ready in $((SECONDS - T0)) s: cluster $CLUSTER, node $HOST ($cpuspec, RealMemory=$mem), partition $PARTITION, account $ACCOUNT"
