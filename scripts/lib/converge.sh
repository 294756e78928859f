# Shared by every level's lab.sh (scripts/lab.sh sources it first): how `make solve-N`
# converges whatever the learner changed by hand. The functions read NAMESPACE, which each
# lab.sh sets, and log().

# Make the level's objects exactly what the files say, whatever was changed by hand: create
# what is missing, then replace (a full update: a container, a port or a selector key added by
# patch or edit goes, where `kubectl apply` would keep it). --save-config keeps later applies
# working. Arguments are kubectl's: -f FILE, -f DIR/, -k DIR. Idempotent.
converge() {
  kubectl create --save-config "$@" 2>&1 >/dev/null | grep -v AlreadyExists >&2 || true
  local attempt
  for attempt in 1 2 3; do  # a controller may write the object between kubectl's read and write
    kubectl replace --save-config "$@" >&2 && return 0
    log "$(say 'kubectl replace failed (attempt {attempt} of 3), trying again.' attempt="$attempt")"
    sleep 1
  done
  return 1
}

# kubectl replace resets the replicas a manifest leaves to the autoscaler (the gateway's) to 1:
# give back what ran before, at least the autoscaler's minimum, so the budgets and spread hold.
keep_autoscaled_replicas() {  # keep_autoscaled_replicas DEPLOYMENT REPLICAS-BEFORE
  local name="$1" before="${2:-0}" minimum
  minimum="$(kubectl -n "$NAMESPACE" get hpa "$name" -o jsonpath='{.spec.minReplicas}' 2>/dev/null || true)"
  minimum="${minimum:-1}"
  kubectl -n "$NAMESPACE" scale "deployment/$name" --replicas="$(( before > minimum ? before : minimum ))" >&2
}

replicas_of() { kubectl -n "$NAMESPACE" get deployment "$1" -o jsonpath='{.spec.replicas}' 2>/dev/null || true; }

# Delete objects of KINDS in the namespace (NAMESPACE, or --namespace NS) that none of the files
# declares (a second budget, an extra policy the learner added beside the solution's).
prune_extras() {  # prune_extras [--namespace NS] KINDS -f FILE|-k DIR ...
  local namespace="$NAMESPACE"
  if [[ "$1" == --namespace ]]; then
    namespace="$2"
    shift 2
  fi
  local kinds="$1" wanted="" extra
  shift
  while (( $# >= 2 )); do  # one source at a time: kubectl takes -f or -k, not both
    wanted+="$(kubectl create --dry-run=client -o name "$1" "$2")"$'\n'
    shift 2
  done
  for extra in $(kubectl -n "$namespace" get "$kinds" -o name); do
    grep -qxF "$extra" <<<"$wanted" || kubectl -n "$namespace" delete "$extra" >&2
  done
}
