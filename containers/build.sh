#!/usr/bin/env bash
# Build the workflow's image with Podman from containers/Dockerfile, also where no container
# registry can be reached, and print its name on stdout (progress goes to stderr).
#
#   bash containers/build.sh                 # -> localhost/extreme-sparsity:recipe-<hash>
#   podman tag <that name> extreme-sparsity:0.1.0
#
# Base image: the Dockerfile's default (official python slim) when a registry answers, else one
# made from Debian's packages with mmdebstrap (kept as localhost/extreme-sparsity-base:bookworm).
# The tag is a hash of the Dockerfile and the base image: an image of this exact recipe that is
# already in Podman's store is reused (no rebuild), and older recipe-* images are removed.
# pip inside the build uses this machine's CA bundle (TLS-inspecting proxies) and PIP_INDEX_URL
# when it is set. Needs root or rootless Podman, runc, and mmdebstrap for the fallback base.
#
#   PODMAN_RUNTIME  OCI runtime (default runc: crun fails on some hosts' cgroup layout)
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf '[containers/build.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
PODMAN=(podman --runtime "${PODMAN_RUNTIME:-runc}" --cgroup-manager=cgroupfs)
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
command -v podman >/dev/null || { say "podman not found (Debian: apt-get install podman runc mmdebstrap)"; exit 1; }

OFFICIAL=$(sed -n 's/^ARG BASE_IMAGE=//p' "$HERE/Dockerfile")
LOCAL_BASE=localhost/extreme-sparsity-base:bookworm
if "${PODMAN[@]}" image exists "$OFFICIAL" || timeout 300 "${PODMAN[@]}" pull -q "$OFFICIAL" >/dev/null 2>&1; then
  base=$OFFICIAL
else
  base=$LOCAL_BASE
  if ! "${PODMAN[@]}" image exists "$base"; then
    command -v mmdebstrap >/dev/null || { say "no registry answers and mmdebstrap is missing (apt-get install mmdebstrap)"; exit 1; }
    say "no registry answers: making $base from Debian's packages (mmdebstrap)"
    mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates bookworm - |
      "${PODMAN[@]}" import --quiet - "$base" >/dev/null
  fi
fi
base_id=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$base")
recipe=$( (cat "$HERE/Dockerfile"; echo "$base_id"; echo "${PIP_INDEX_URL:-}") | sha256sum | cut -c1-12)
image=localhost/extreme-sparsity:recipe-$recipe

if "${PODMAN[@]}" image exists "$image"; then
  say "reusing $image (same Dockerfile and base)"
else
  say "building $image on $base (a few minutes: about 4 GB of packages)"
  args=(--network host --build-arg "BASE_IMAGE=$base" -t "$image" -f "$HERE/Dockerfile")
  [ -n "${PIP_INDEX_URL:-}" ] && args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
  for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    if [ -r "$bundle" ]; then
      args+=(--volume "$bundle:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
      break
    fi
  done
  log=$(mktemp)
  if ! "${PODMAN[@]}" build "${LIMITS[@]}" "${args[@]}" "$HERE" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    say "podman build failed (whole log: $log)"
    exit 1
  fi
  rm -f "$log"
  "${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}}' |
    { grep '^localhost/extreme-sparsity:recipe-' || true; } | { grep -vx "$image" || true; } |
    while read -r old; do "${PODMAN[@]}" rmi --force "$old" >/dev/null && say "removed $old"; done
fi
echo "$image"
