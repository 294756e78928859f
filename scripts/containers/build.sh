#!/usr/bin/env bash
# Build the service images (lib.sh's image_of: localhost/workshop/<service>:dev) with podman, from services/<service>/Dockerfile.
#
#   scripts/containers/build.sh                 # all of them, the database (postgres) included
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
  host_build_args "$REPO_ROOT/services/$service/Dockerfile"
  base="$(base_image_arg)"
  log "building $(image_of "$service")${base:+ on $base}"
  podman build "${HOST_BUILD_ARGS[@]}" --layers -q -t "$(image_of "$service")" \
    -f "$REPO_ROOT/services/$service/Dockerfile" "$REPO_ROOT/services" >/dev/null
}

main() {
  command -v podman >/dev/null || die "podman is not installed: run scripts/containers/setup.sh first."
  ensure_containers_conf
  local services=("$@")
  ((${#services[@]})) || services=("${SERVICES[@]}")
  for service in "${services[@]}"; do
    [[ -f "$REPO_ROOT/services/$service/Dockerfile" ]] || die "no such service: $service (have: ${SERVICES[*]})"
    build_one "$service"
  done
}

main "$@"
