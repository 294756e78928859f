#!/usr/bin/env bash
# Make podman usable here and build a local Debian+Python base image, so the services' own
# Dockerfiles build with no container registry: `--build-arg BASE_IMAGE=<that image>`.
#
#   scripts/containers/setup.sh          # idempotent: skips what is already there
#
# Exit codes: 0 ready, 2 cannot set up (not root and podman missing, apt failed, ...).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

install_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # Name resolution between containers on a podman network (CNI backend, podman 4.3).
  [[ -x /usr/lib/cni/dnsname ]] || missing+=(golang-github-containernetworking-plugin-dnsname)
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]} and not root: install them yourself (sudo apt-get install ${missing[*]})."
  log "installing ${missing[*]} with apt-get"
  # A stale or unreachable third-party source must not stop us: apt-get install decides.
  apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" uidmap fuse-overlayfs >/dev/null || die "apt-get install ${missing[*]} failed."
}

build_local_base() {
  if podman image exists "$LOCAL_BASE_IMAGE"; then
    log "base image $LOCAL_BASE_IMAGE exists: skipping debootstrap"
    return 0
  fi
  local rootfs="$CONTAINERS_CACHE/rootfs-$DEBIAN_SUITE"
  rm -rf "$rootfs"
  log "debootstrap $DEBIAN_SUITE (minbase + python3) into $rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$CONTAINERS_CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed: see $CONTAINERS_CACHE/debootstrap.log"
  # Trim what an image does not need (apt lists, docs) before importing it.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc "$rootfs"/usr/share/man
  tar -C "$rootfs" -c . | podman import -q --change 'CMD ["python3"]' - "$LOCAL_BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  log "built $LOCAL_BASE_IMAGE"
}

main() {
  install_packages
  ensure_containers_conf
  podman info >/dev/null 2>&1 || die "podman is installed but does not run here (try: CONTAINERS_CONF=$CONTAINERS_CONF podman info)."
  build_local_base
  log "ready: CONTAINERS_CONF=$CONTAINERS_CONF BASE_IMAGE=$LOCAL_BASE_IMAGE"
}

main "$@"
