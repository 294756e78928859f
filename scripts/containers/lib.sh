# Shared by the scripts in scripts/containers/: where things live and how podman is called.
# Source it; it defines no side effects beyond variables and functions.

REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# Generated files (containers.conf, the debootstrap root) stay out of the repo, in a gitignored cache.
CONTAINERS_CACHE="${CONTAINERS_CACHE:-$REPO_ROOT/.cache/containers}"
# Why our own containers.conf: in a root sandbox without systemd or ulimit rights, podman's
# defaults (crun/systemd cgroups, copying the host's ulimits) fail; runc + cgroupfs work.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$CONTAINERS_CACHE/containers.conf}"
# The local Debian base that stands in for the official Python image when no registry is reachable.
LOCAL_BASE_IMAGE="${LOCAL_BASE_IMAGE:-localhost/workshop/base-python:bookworm}"
SERVICES=(gateway customer order account loadgen invoice)

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "$*"; exit 2; }

# BASE_IMAGE for `podman build`: the caller's choice, else the local base when it exists,
# else nothing (the Dockerfile's own default, the official image, is used).
base_image_arg() {
  if [[ -n "${BASE_IMAGE:-}" ]]; then
    printf '%s' "$BASE_IMAGE"
  elif podman image exists "$LOCAL_BASE_IMAGE" 2>/dev/null; then
    printf '%s' "$LOCAL_BASE_IMAGE"
  fi
}
