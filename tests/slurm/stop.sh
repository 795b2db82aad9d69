#!/usr/bin/env bash
# Stop the localhost SLURM cluster of tests/slurm/start.sh: cancel every job, then stop the
# daemons that start.sh started (recorded in /run/slurm/started-by-tests/), newest first, by pid,
# and remove the slurm.conf it wrote where there was none.
#   stop.sh         only the daemons start.sh started; leaves a cluster somebody else runs alone
#   stop.sh --all   every daemon of the cluster, whoever started it
#   stop.sh --purge like --all, and also wipes SLURM state, logs and the accounting database
# Idempotent; exits 0 when nothing is running.
set -Euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || { say "ERROR: must run as root"; exit 1; }
ALL=0 PURGE=0
case "${1:-}" in
"") ;;
--all) ALL=1 ;;
--purge) ALL=1 PURGE=1 ;;
*) say "usage: $0 [--all|--purge]"; exit 2 ;;
esac
ours() { ((ALL)) || [ -e "$STARTED_DIR/$1" ]; }

# Jobs first, so that no job step outlives slurmd (only when we stop slurmctld ourselves).
if ours slurmctld && running slurmctld >/dev/null; then
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | tr '\n' ' ' || true)
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs || true
    for _ in $(seq 20); do
      [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break
      sleep 1
    done
  fi
fi
for name in slurmd slurmctld slurmdbd; do
  ours "$name" && halt "$name"
done
if ours mariadbd; then
  if ((PURGE)) && mariadb-admin ping >/dev/null 2>&1; then
    mariadb -e 'DROP DATABASE IF EXISTS slurm_acct_db' || true
  fi
  halt mariadbd
fi
ours munged && halt munged
# Without a controller, SLURM's commands wait about 10 s for one while a slurm.conf names it; the
# SLURM executor plugin runs `scontrol show config` when snakemake loads it, so every snakemake
# command would wait too. Without the file they fail at once.
if [ -e "$STARTED_DIR/slurm.conf" ] && ! running slurmctld >/dev/null; then
  rm -f /etc/slurm/slurm.conf "$STARTED_DIR/slurm.conf"
  say "removed /etc/slurm/slurm.conf (start.sh wrote it)"
fi
if ((PURGE)); then
  say "wiping /var/spool/slurmctld, /var/spool/slurmd, $LOG_DIR"
  rm -rf /var/spool/slurmctld/* /var/spool/slurmd/* "${LOG_DIR:?}"/*
fi
left=$(for name in munged mariadbd slurmdbd slurmctld slurmd; do running "$name" >/dev/null && printf '%s ' "$name"; done)
say "stopped${left:+; still running (not started by start.sh): $left}"
