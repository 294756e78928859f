# Level 2 (orchestrate): deploy the starting state, solve it, or reset it.
# Sourced by scripts/lab.sh, which checks the kube context first and sets LAB_DIR and
# REPO_ROOT; `make lab-2`, `make solve-2` and `make reset-2` call deploy, solve and reset.
# Every command is plain kubectl, so the page can show exactly what each step does.

NAMESPACE=workshop
SERVICES=(gateway customer order account)
DATABASES=(customer-db order-db account-db)   # database-per-service: one StatefulSet each
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-180s}"

log() { echo "$*" >&2; }

apply() { kubectl apply -f "$@" >&2; }

wait_for_rollouts() {
  local name
  for name in "${DATABASES[@]}"; do
    kubectl -n "$NAMESPACE" rollout status "statefulset/$name" --timeout="$ROLLOUT_TIMEOUT" >&2
  done
  for name in "${SERVICES[@]}"; do
    kubectl -n "$NAMESPACE" rollout status "deployment/$name" --timeout="$ROLLOUT_TIMEOUT" >&2
  done
}

# The starting state: the databases, and everything but two gaps (account has no probes and one replica,
# the order Service selects a label no pod has), for the learner to find with make check-2.
deploy() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make lab-2}"
  apply "$LAB_DIR/manifests/namespace-workshop.yaml"
  apply "$LAB_DIR/manifests/config-map-settings.yaml" -f "$LAB_DIR/manifests/secret-gateway.yaml"
  apply "$LAB_DIR/manifests/database-customer.yaml" -f "$LAB_DIR/manifests/database-order.yaml" \
    -f "$LAB_DIR/manifests/database-account.yaml"
  apply "$LAB_DIR/manifests/app-gateway.yaml" -f "$LAB_DIR/manifests/app-customer.yaml"
  apply "$LAB_DIR/start/app-order.yaml" -f "$LAB_DIR/start/app-account.yaml"
  log ""
  log "$(say 'Level 2 is deployed in namespace {namespace}, with a few gaps for you to fill.' namespace="$NAMESPACE")"
  log "$(say "Next: make check-2 shows what is still wrong (add CHECK_ARGS='--wait 60' while pods start).")"
}

# Has account been rolled out to v2 at some point (a ReplicaSet of it runs SERVICE_VERSION=v2)?
account_has_v2_history() {
  kubectl -n "$NAMESPACE" get replicasets -l app=account \
    -o jsonpath='{range .items[*]}{.spec.template.metadata.labels.version}{"\n"}{end}' | grep -qx v2
}

# The solution: every manifest as it should be, then the rolling update to v2 and the
# rollback to v1 that the steps ask for (skipped when they already happened).
solve() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make solve-2}"
  converge -f "$LAB_DIR/manifests/namespace-workshop.yaml"
  converge -f "$LAB_DIR/manifests/"
  prune_extras deployments,statefulsets,services -f "$LAB_DIR/manifests/"
  wait_for_rollouts
  if ! account_has_v2_history; then
    log "$(say 'Rolling account out to v2, then back to v1:')"
    apply "$LAB_DIR/steps/app-account-v2.yaml"
    kubectl -n "$NAMESPACE" rollout status deployment/account --timeout="$ROLLOUT_TIMEOUT" >&2
    kubectl -n "$NAMESPACE" rollout undo deployment/account >&2
    kubectl -n "$NAMESPACE" rollout status deployment/account --timeout="$ROLLOUT_TIMEOUT" >&2
  fi
  log ""
  log "$(say 'Level 2 is solved. make check-2 should now pass.')"
}

# Remove everything the level created: the namespace holds all of it.
reset() {
  if kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
    kubectl delete namespace "$NAMESPACE" --wait=true --timeout=120s >&2
  fi
  log "$(say 'Level 2 is reset: namespace {namespace} is gone.' namespace="$NAMESPACE")"
}
