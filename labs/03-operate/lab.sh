# Level 3 (operate): deploy the starting state, solve it, or reset it.
# Sourced by scripts/lab.sh, which checks the kube context first and sets LAB_DIR and
# REPO_ROOT; `make lab-3`, `make solve-3` and `make reset-3` call deploy, solve and reset.
# Every command is plain kubectl, so the page can show exactly what each step does.

NAMESPACE=workshop
SERVICES=(gateway customer order account)
DATABASES=(customer-db order-db account-db)   # level 2's, unchanged here (database-*.yaml)
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-180s}"
# Where metrics-server comes from: its release on GitHub, or this file when set (an event's
# local copy of the same components.yaml, for a room without a good network).
METRICS_SERVER_MANIFEST="${METRICS_SERVER_MANIFEST:-}"

log() { echo "$*" >&2; }

apply() { kubectl apply -f "$@" >&2; }

version_of() { "${WORKSHOP:-$REPO_ROOT/.venv/bin/workshop}" versions "$1"; }

metrics_server_manifest() {
  echo "${METRICS_SERVER_MANIFEST:-https://github.com/kubernetes-sigs/metrics-server/releases/download/$(version_of METRICS_SERVER_VERSION)/components.yaml}"
}

# metrics-server reads CPU and memory from every kubelet. kind's kubelets serve a
# self-signed certificate, hence --kubelet-insecure-tls (a local cluster only).
install_metrics_server() {
  apply "$(metrics_server_manifest)"
  if ! kubectl -n kube-system get deployment metrics-server -o jsonpath='{.spec.template.spec.containers[0].args}' \
      | grep -q -- --kubelet-insecure-tls; then
    kubectl -n kube-system patch deployment metrics-server --type=json \
      -p '[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--kubelet-insecure-tls"}]' >&2
  fi
  kubectl -n kube-system rollout status deployment/metrics-server --timeout="$ROLLOUT_TIMEOUT" >&2
}

wait_for_rollouts() {
  local name
  for name in "$@"; do
    kubectl -n "$NAMESPACE" rollout status "deployment/$name" --timeout="$ROLLOUT_TIMEOUT" >&2
  done
}

# The starting state: level 2's app as it ends (solved), plus a load generator written
# without any securityContext, in a namespace that only warns about Pod Security.
deploy() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make lab-3}"
  local level2="$REPO_ROOT/labs/02-orchestrate/manifests" name
  apply "$level2/namespace-workshop.yaml"
  apply "$level2/config-map-settings.yaml" -f "$level2/secret-gateway.yaml"
  for name in "${DATABASES[@]}"; do
    apply "$level2/database-${name%-db}.yaml"
  done
  for name in "${SERVICES[@]}"; do
    apply "$level2/app-$name.yaml"
  done
  apply "$LAB_DIR/start/app-loadgen.yaml"
  wait_for_rollouts "${SERVICES[@]}"
  log ""
  log "$(say 'Level 3 is deployed in namespace {namespace}: the app of level 2 and a load generator.' namespace="$NAMESPACE")"
  log "$(say 'Next: make check-3 shows what production readiness still lacks.')"
}

# Nodes the running pods of a service are on; pods on their way out (a rollout just ended:
# they keep their node for their grace period) do not count.
nodes_of() {
  kubectl -n "$NAMESPACE" get pods -l "app=$1" \
    -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{"|"}{.status.phase}{"|"}{.spec.nodeName}{"\n"}{end}' \
    | awk -F'|' '$1 == "" && $2 != "Failed" && $3 != "" { print $3 }' | sort -u | grep -c . || true
}

# Pods a rollout or the drill left on one node stay there: a restart lets the spread
# constraints place them. They only score nodes (ScheduleAnyway), so a restart may place them
# together again: up to three tries.
respread() {
  local name try
  for name in "$@"; do
    for try in 1 2 3; do
      [[ "$(nodes_of "$name")" -ge 2 ]] && break
      kubectl -n "$NAMESPACE" rollout restart "deployment/$name" >&2
      kubectl -n "$NAMESPACE" rollout status "deployment/$name" --timeout="$ROLLOUT_TIMEOUT" >&2
    done
  done
}


# The solution: enforce Pod Security, then every manifest of the level (the namespace
# first, so that what follows is admitted under its rules), then metrics-server.
solve() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make solve-3}"
  local level2="$REPO_ROOT/labs/02-orchestrate/manifests"
  local gateway_replicas name databases=()
  for name in "${DATABASES[@]}"; do
    databases+=(-f "$level2/database-${name%-db}.yaml")
  done
  gateway_replicas="$(replicas_of gateway)"
  converge -f "$LAB_DIR/manifests/namespace-workshop.yaml"
  converge -f "$level2/config-map-settings.yaml" -f "$level2/secret-gateway.yaml" "${databases[@]}" \
    -f "$LAB_DIR/manifests/"
  keep_autoscaled_replicas gateway "$gateway_replicas"
  prune_extras deployments,statefulsets,services,poddisruptionbudgets,networkpolicies,horizontalpodautoscalers \
    -f "$LAB_DIR/manifests/" "${databases[@]}"
  install_metrics_server
  local node
  for node in $(kubectl get nodes -o jsonpath='{range .items[?(@.spec.unschedulable)]}{.metadata.name}{" "}{end}'); do
    kubectl uncordon "$node" >&2   # the drill's drain, undone
  done
  for name in "${DATABASES[@]}"; do
    kubectl -n "$NAMESPACE" rollout status "statefulset/$name" --timeout="$ROLLOUT_TIMEOUT" >&2
  done
  wait_for_rollouts "${SERVICES[@]}" loadgen
  respread "${SERVICES[@]}"
  log ""
  log "$(say 'Level 3 is solved. make check-3 should now pass.')"
}

# Remove everything the level created: metrics-server (which this level installed), then the
# namespace that holds the app. In that order: a namespace is deleted only once every API
# group answers, and metrics.k8s.io answers only while metrics-server runs and is reachable.
reset() {
  if kubectl -n kube-system get deployment metrics-server >/dev/null 2>&1 \
      || kubectl get apiservice v1beta1.metrics.k8s.io >/dev/null 2>&1; then
    kubectl delete --ignore-not-found -f "$(metrics_server_manifest)" >&2
  fi
  if kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
    kubectl delete namespace "$NAMESPACE" --wait=true --timeout=120s >&2
  fi
  log "$(say 'Level 3 is reset: namespace {namespace} and metrics-server are gone.' namespace="$NAMESPACE")"
}
