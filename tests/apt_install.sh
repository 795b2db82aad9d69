#!/usr/bin/env bash
# Install Debian packages for the tests (root): only those missing, one installer at a time (the
# tests prepare SLURM, Podman and Chromium side by side, and apt allows one), with up to 3 attempts.
# Maintainer scripts may not start daemons meanwhile (policy-rc.d): the tests start their own.
#
#   bash tests/apt_install.sh PACKAGE...
set -Eeuo pipefail
missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
((${#missing[@]})) || exit 0
exec 9>/var/lock/extreme-sparsity-tests-apt.lock
flock 9
echo "apt-get install ${missing[*]}" >&2
policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  policy=1
fi
trap 'if ((policy)); then rm -f /usr/sbin/policy-rc.d; fi' EXIT
log=$(mktemp)
for attempt in 1 2 3; do
  if DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    rm -f "$log"
    exit 0
  fi
  echo "apt-get attempt $attempt failed ($log)" >&2
  sleep 5
done
tail -n 20 "$log" >&2
echo "could not install ${missing[*]}" >&2
exit 1
