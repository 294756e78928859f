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
# postgres: the database image (services/postgres), built the same way.
SERVICES=(gateway customer order account loadgen invoice postgres)
# The one place an image name is spelled: build.sh tags it, app.sh runs it.
IMAGE_REPO="${IMAGE_REPO:-localhost/workshop}"
image_of() { printf '%s/%s:dev' "$IMAGE_REPO" "$1"; }

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "$*"; exit 2; }

# Every script that calls podman needs CONTAINERS_CONF to exist (podman stops on a missing one):
# write it on first use, so `make app-up` works in a fresh checkout.
ensure_containers_conf() {
  [[ -f "$CONTAINERS_CONF" ]] && return 0
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  cat >"$CONTAINERS_CONF" <<'CONF'
# Written by scripts/containers/lib.sh for a root sandbox without systemd.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# BASE_IMAGE for `podman build`: the caller's choice, else the local base when it exists,
# else nothing (the Dockerfile's own default, the official image, is used).
base_image_arg() {
  if [[ -n "${BASE_IMAGE:-}" ]]; then
    printf '%s' "$BASE_IMAGE"
  elif podman image exists "$LOCAL_BASE_IMAGE" 2>/dev/null; then
    printf '%s' "$LOCAL_BASE_IMAGE"
  fi
}

# The options every `podman build` needs on this machine, into the array HOST_BUILD_ARGS.
# Used by build.sh, and by the doc runner's `podman` wrapper (workshop/doctest/runner.py), so
# that a learner's unchanged `docker build` / `docker compose up --build` builds here too.
# Given a Dockerfile that never runs pip (the database's: apt), the host's pip settings and
# certificates stay out: a package's postinst writing /etc/ssl/certs fails on the read-only mount.
host_build_args() {
  local dockerfile="${1:-}" base
  # docker format: an OCI image drops the Dockerfile's HEALTHCHECK, a Docker one keeps it.
  HOST_BUILD_ARGS=(--format docker --network=host)
  base="$(base_image_arg)"
  [[ -n "$base" ]] && HOST_BUILD_ARGS+=(--build-arg "BASE_IMAGE=$base")
  # The host's pip settings and CA certificates, read-only and only while building,
  # so pip inside the build reaches the package index the way the host does.
  if [[ -n "$dockerfile" ]] && ! grep -q 'pip install' "$dockerfile"; then
    return 0
  fi
  [[ -f /etc/pip.conf ]] && HOST_BUILD_ARGS+=(-v /etc/pip.conf:/etc/pip.conf:ro)
  [[ -d /etc/ssl/certs ]] && HOST_BUILD_ARGS+=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
  return 0
}
