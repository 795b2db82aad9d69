#!/usr/bin/env bash
# For tests/test_container.py (Debian, root): install what containers/build.sh needs when it is
# missing, then build (or reuse) the workflow's image; prints the image's name on stdout.
# conftest.py starts it in the background when the session collects the container test, so that
# the first build on a fresh machine (mostly downloads) overlaps the other tests.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
missing=()
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  installed=0
  for attempt in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
      installed=1
      break
    fi
    echo "apt-get attempt $attempt failed" >&2
    sleep 5
  done
  ((installed)) || { echo "could not install ${missing[*]}" >&2; exit 1; }
fi
exec bash "$HERE/../containers/build.sh"
