#!/usr/bin/env bash
# Run one action of one level: scripts/lab.sh deploy|solve|reset N
# Each lab folder holds a lab.sh with a function per action. This runner finds it,
# prints the kube context and refuses a non-local one before anything changes.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
WORKSHOP="${WORKSHOP:-$REPO_ROOT/.venv/bin/workshop}"

log() { echo "$*" >&2; }
# shellcheck source=lib/say.sh
source "$SCRIPT_DIR/lib/say.sh"

# After a rollout timed out: each container that waits, and why (ErrImageNeverPull names the
# image to `kind load`). Lab scripts call it before they give up.
explain_stuck_pods() {
  local namespace="$1"
  kubectl -n "$namespace" get pods -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.state.waiting.reason}{" "}{.image}{"\n"}{end}{range .status.initContainerStatuses[*]}{.state.waiting.reason}{" "}{.image}{"\n"}{end}{end}' 2>/dev/null |
    awk 'NF == 2 && $1 != "PodInitializing" && $1 != "ContainerCreating"' | sort -u |
    while read -r reason image; do
      case "$reason" in
        ErrImageNeverPull | ErrImagePull | ImagePullBackOff)
          log "  $(say "{image} is not in the cluster ({reason}): kind load docker-image {image} --name workshop" image="$image" reason="$reason")" ;;
        *) log "  $(say "a container of image {image} waits: {reason} (kubectl -n {namespace} describe pods)" image="$image" reason="$reason" namespace="$namespace")" ;;
      esac
    done
}

main() {
  local action="${1:?usage: scripts/lab.sh deploy|solve|reset N}"
  local number="${2:?usage: scripts/lab.sh deploy|solve|reset N}"
  case "$action" in deploy|solve|reset) ;; *) log "$(say "unknown action '{action}': use deploy, solve or reset" action="$action")"; exit 2 ;; esac

  local folder title
  folder="$("$WORKSHOP" lab folder "$number")" || exit 2
  title="$("$WORKSHOP" lab title "$number")"
  if [[ ! -f "$folder/lab.sh" ]] || ! grep -q "^${action}()" "$folder/lab.sh"; then
    log "$(say "Level {number} ({title}) has no '{action}' step yet: its page, labs/{folder}/README.md, says what is coming." \
      number="$number" title="$title" action="$action" folder="$(basename "$folder")")"
    exit 2
  fi
  # shellcheck source=lib/converge.sh
  source "$SCRIPT_DIR/lib/converge.sh"
  # shellcheck source=lib/istio.sh
  source "$SCRIPT_DIR/lib/istio.sh"
  # shellcheck source=/dev/null
  source "$folder/lab.sh"
  # A lab that only uses containers (level 1) sets LAB_NEEDS_CLUSTER=0.
  if [[ "${LAB_NEEDS_CLUSTER:-1}" == 1 ]]; then
    "$WORKSHOP" guard || exit 3
  fi
  LAB_DIR="$folder" REPO_ROOT="$REPO_ROOT" "$action"
}

main "$@"
