#!/usr/bin/env bash
# Install the Debian packages the sim's real worker nodes run on (`make sim-up NODES=real`):
# containerd + runc (the container runtime), the CNI plugins (bridge, host-local, portmap,
# loopback), iptables/nftables and conntrack (kube-proxy; iptables-legacy for the NetworkPolicy
# queue, workshop/sim/netpol.py), socat (forwarders to the API server and of kind's port
# mappings), gcc with a static libc (the pause image, built from Kubernetes' pause.c) and
# busybox-static (the tests' tiny app image).
#
#   scripts/sim/setup-nodes.sh       # idempotent: installs only what is missing
#
# With CI=true, or as root, missing packages are installed with apt-get; otherwise it says what to run.
# Exit codes: 0 ready, 2 cannot set up.
set -euo pipefail

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "$*"; exit 2; }

# package: a file it installs (what we check for).
declare -A PACKAGES=(
  [containerd]=/usr/bin/containerd
  [runc]=/usr/sbin/runc
  [containernetworking-plugins]=/usr/lib/cni/bridge
  [iptables]=/usr/sbin/iptables-legacy
  [nftables]=/usr/sbin/nft
  [conntrack]=/usr/sbin/conntrack
  [socat]=/usr/bin/socat
  [gcc]=/usr/bin/gcc
  [libc6-dev]=/usr/lib/x86_64-linux-gnu/libc.a
  [busybox-static]=/bin/busybox
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/bin/nsenter
)

missing_packages() {
  local package
  for package in "${!PACKAGES[@]}"; do
    [[ -e "${PACKAGES[$package]}" ]] || printf '%s\n' "$package"
  done | sort
}

main() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "ready: every package of the real-node sim is installed"
    return 0
  fi
  if [[ $(id -u) != 0 ]]; then
    die "missing ${missing[*]} and not root: run sudo apt-get install ${missing[*]}"
  fi
  log "installing ${missing[*]} with apt-get"
  # A stale or unreachable third-party source must not stop us: apt-get install decides.
  apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed."
  # Debian's containerd package enables a systemd unit; here PID 1 is not systemd, and the sim
  # starts its own containerd per node, so nothing else runs.
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "still missing after apt-get: ${missing[*]}"
  log "ready"
}

main "$@"
