#!/usr/bin/env bash
# For tests/test_container.py (Debian, root): install what containers/build.sh needs when it is
# missing, then build (or reuse) the workflow's image; prints the image's name on stdout.
# The session runs it in the background from its start when it will run the container test
# (tests/background.py), so that the first build on a fresh machine overlaps the other tests.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
missing=()
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
((${#missing[@]} == 0)) || bash "$HERE/apt_install.sh" "${missing[@]}"
exec bash "$HERE/../containers/build.sh"
