# Level 1 (containerize): no cluster, only your container engine (Docker or Podman).
# Sourced by scripts/lab.sh: `make lab-1`, `make solve-1` and `make reset-1` call deploy,
# solve and reset. LAB_NEEDS_CLUSTER=0 tells the runner not to look for a kube context.

LAB_NEEDS_CLUSTER=0
SERVICES=(gateway customer order account)

log() { echo "$*" >&2; }

# Docker when it answers, else Podman; WORKSHOP_ENGINE chooses.
engine() {
  if [[ -n "${WORKSHOP_ENGINE:-}" ]]; then echo "$WORKSHOP_ENGINE"; return; fi
  local name
  for name in docker podman; do
    if command -v "$name" >/dev/null && "$name" version >/dev/null 2>&1; then echo "$name"; return; fi
  done
  log "$(say 'No container engine answers: install Docker (or Podman) as level 0 shows, then try again.')"
  return 2
}

# `docker compose` / `podman compose` when a compose provider is there.
has_compose() { "$1" compose version >/dev/null 2>&1; }

deploy() {
  local name
  name="$(engine)" || return 2
  log "$(say 'Level 1 needs no cluster: it runs on {engine}. Build the images and start them with compose,' engine="$name")"
  log "$(say 'as the page shows (labs/01-containerize/README.md), then run make check-1.')"
}

# The solution: the images built and the application running.
solve() {
  local name
  name="$(engine)" || return 2
  cd "$REPO_ROOT"
  if has_compose "$name"; then
    "$name" compose up -d --build >&2
  elif [[ "$name" == podman ]]; then
    # No compose provider: the same wiring with plain podman (scripts/containers/app.sh).
    scripts/containers/build.sh "${SERVICES[@]}" >&2
    scripts/containers/app.sh up >&2
  else
    log "$(say "docker compose is missing: install Docker's compose plugin.")"
    return 2
  fi
  log "$(say 'Level 1 is solved: the application runs; make check-1 should pass.')"
}

# Remove the containers, their network and their data volumes; keep the images for level 2.
reset() {
  local name
  name="$(engine)" || return 2
  cd "$REPO_ROOT"
  if has_compose "$name"; then
    "$name" compose down --volumes >&2
  elif [[ "$name" == podman ]]; then
    scripts/containers/app.sh down >&2
    podman volume ls -q | { grep -E '^workshop-(customer|order|account)-data$' || true; } | xargs -r podman volume rm -f >/dev/null
    podman network rm -f workshop >/dev/null 2>&1 || true
  fi
  log "$(say 'Level 1 is reset: no container, network or volume of the application is left (images are kept).')"
}
