#!/usr/bin/env bash
# Run the sample app with plain podman (no compose needed): the same wiring as compose.yaml.
#
#   scripts/containers/app.sh up     # gateway on http://127.0.0.1:8080
#   scripts/containers/app.sh down   # remove the containers, keep the data volumes
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

NETWORK=workshop
GATEWAY_PORT="${GATEWAY_PORT:-8080}"

run() {
  local service="$1"; shift
  podman run -d --name "workshop-$service" --network "$NETWORK" --network-alias "$service" \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    -e "POD_NAME=workshop-$service" "$@" "$(image_of "$service")" >/dev/null
  log "started workshop-$service"
}

up() {
  podman network exists "$NETWORK" || podman network create "$NETWORK" >/dev/null
  run account -v workshop-account-data:/data
  run order -v workshop-order-data:/data
  run customer -v workshop-customer-data:/data
  run gateway -p "127.0.0.1:$GATEWAY_PORT:8080"
  log "open http://127.0.0.1:$GATEWAY_PORT/ (stop with: make app-down)"
}

down() {
  for service in gateway customer order account; do
    podman rm -f -t 10 "workshop-$service" >/dev/null 2>&1 && log "removed workshop-$service" || true
  done
}

ensure_containers_conf
case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: $0 up|down" ;;
esac
