#!/usr/bin/env bash
# Build the service images workshop/<service>:dev with podman, from services/<service>/Dockerfile.
#
#   scripts/containers/build.sh                 # all five
#   scripts/containers/build.sh account order   # some
#
# BASE_IMAGE: the Python base (default: the local Debian base from setup.sh when it exists,
# else the Dockerfile's own default, the official image from versions.env).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

build_one() {
  local service="$1" base
  host_build_args
  base="$(base_image_arg)"
  log "building workshop/$service:dev${base:+ on $base}"
  podman build "${HOST_BUILD_ARGS[@]}" --layers -q -t "workshop/$service:dev" \
    -f "$REPO_ROOT/services/$service/Dockerfile" "$REPO_ROOT/services" >/dev/null
}

main() {
  command -v podman >/dev/null || die "podman is not installed: run scripts/containers/setup.sh first."
  local services=("$@")
  ((${#services[@]})) || services=("${SERVICES[@]}")
  for service in "${services[@]}"; do
    [[ -f "$REPO_ROOT/services/$service/Dockerfile" ]] || die "no such service: $service (have: ${SERVICES[*]})"
    build_one "$service"
  done
}

main "$@"
