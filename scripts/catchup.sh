#!/usr/bin/env bash
# Bring the current cluster to the start of level N: scripts/catchup.sh N (make catchup-N).
#
# The state of a learner who finished levels 1 to N-1: what a later level added is removed
# first (its reset, from the last level down), then each earlier level's solution runs, in
# order (its `make solve-K`, which converges whatever was changed by hand). Every step is
# idempotent: run it again and the cluster ends the same. Like every target that changes a
# cluster, it prints the kube context and refuses one that is not local, before anything.
# Level 1 runs in the container engine, not the cluster: nothing of it to catch up here.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
WORKSHOP="${WORKSHOP:-$REPO_ROOT/.venv/bin/workshop}"
FIRST_CLUSTER_LEVEL=2
# Level 7 runs on two clusters of its own (east, west): the current cluster has nothing of it.
LAST_SINGLE_CLUSTER_LEVEL=6

log() { echo "$*" >&2; }

usage() {
  log "usage: scripts/catchup.sh N (make catchup-N), N from $FIRST_CLUSTER_LEVEL to 7: the cluster as after levels 1 to N-1"
  exit 2
}

title_of() { "$WORKSHOP" lab title "$1"; }

# One lab action, timed, its output kept to the lines a learner needs (context, summary).
run_step() {  # run_step ACTION LEVEL
  local action="$1" level="$2" started output
  started="$(date +%s)"
  log "catchup: make $action-$level ($(title_of "$level")) ..."
  if ! output="$("$SCRIPT_DIR/lab.sh" "$action" "$level" 2>&1)"; then
    log "$output"
    log "catchup: make $action-$level failed (above); the cluster holds levels 1 to $((level - 1)) as solved."
    exit 1
  fi
  log "catchup: make $action-$level done in $(($(date +%s) - started)) s: $(grep -E '^Level [0-9]+ is ' <<<"$output" | head -n 1)"
}

# Level 4's solution deploys from the learner's fork: ask for it before changing anything.
need_fork_url() {
  [[ -n "${REPO_URL:-}" ]] && return 0
  kubectl -n argocd get applications.argoproj.io workshop-dev -o jsonpath='{.spec.source.repoURL}' 2>/dev/null |
    grep -qv YOUR-GITHUB-USER && return 0
  log "make catchup-$1 runs level 4's solution, which needs your fork's URL (Argo CD deploys from it):"
  log "  make catchup-$1 REPO_URL=https://github.com/<you>/<fork>.git"
  exit 2
}

main() {
  local target="${1:-}"
  [[ "$target" =~ ^[0-9]+$ ]] || usage
  (( target >= FIRST_CLUSTER_LEVEL && target <= 7 )) || usage
  "$WORKSHOP" guard || exit 3
  (( target > 4 )) && need_fork_url "$target"
  local started level last=$((target - 1))
  started="$(date +%s)"
  log "catchup: the cluster as a learner has it after levels 1 to $last, ready for make lab-$target."
  log "catchup: level 1 ($(title_of 1)) runs in your container engine, not in the cluster: nothing to do here."
  for ((level = LAST_SINGLE_CLUSTER_LEVEL; level >= target; level--)); do
    # reset-5 keeps Istio for a learner who redoes level 5; before level 5 there is no Istio.
    if (( level == 5 )) && kubectl get namespace istio-system >/dev/null 2>&1; then
      ISTIO=uninstall run_step reset "$level"
    else
      run_step reset "$level"
    fi
  done
  for ((level = FIRST_CLUSTER_LEVEL; level <= last; level++)); do
    run_step solve "$level"
  done
  local solved="levels $FIRST_CLUSTER_LEVEL to $last solved"
  (( last == FIRST_CLUSTER_LEVEL )) && solved="level $last solved"
  (( last < FIRST_CLUSTER_LEVEL )) && solved="no level to solve"
  log "catchup-$target: done in $(($(date +%s) - started)) s, $solved. Next: make lab-$target."
}

main "$@"
