# Level 6 (Knative): deploy the starting state, solve it, or reset it.
# Sourced by scripts/lab.sh, which checks the kube context first and sets LAB_DIR and
# REPO_ROOT; `make lab-6`, `make solve-6` and `make reset-6` call deploy, solve and reset.
#
# deploy: Knative Serving with Kourier (the release YAML of KNATIVE_VERSION), configured for
#         a laptop (install/*.yaml), and invoice as a Knative Service that never scales to zero.
# solve:  the steps' manifests in order: v1 free to scale to zero, v2 dark, the 80/20 split, loadgen.
# reset:  deletes namespace serverless and Knative; `make reset-6 KNATIVE=keep` keeps Knative.
# Running any of them twice changes nothing the second time.

NAMESPACE=serverless
KNATIVE_NAMESPACE=knative-serving
KOURIER_NAMESPACE=kourier-system
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"

log() { echo "$*" >&2; }

apply() { kubectl apply -f "$@" >&2; }

# The sim cluster (tests only) has Knative's CRDs but runs no Knative controller.
on_sim() { [[ "$(kubectl config current-context)" == workshop-sim* ]]; }

knative_version() { "$REPO_ROOT/.venv/bin/workshop" versions KNATIVE_VERSION; }

# Knative publishes each component's install YAML with its release.
release_url() { echo "https://github.com/knative/$1/releases/download/knative-v$(knative_version)/$2"; }

install_knative() {
  log "$(say 'Installing Knative Serving {version} and Kourier ...' version="$(knative_version)")"
  apply "$(release_url serving serving-crds.yaml)"
  kubectl wait --for=condition=Established crd --all --timeout=60s >&2
  apply "$(release_url serving serving-core.yaml)"
  apply "$(release_url net-kourier kourier.yaml)"
  local namespace
  for namespace in "$KNATIVE_NAMESPACE" "$KOURIER_NAMESPACE"; do
    kubectl -n "$namespace" wait deployment --all --for=condition=Available --timeout="$ROLLOUT_TIMEOUT" >&2
  done
}

# What the sim can hold of an install: the namespace and the configuration ConfigMaps of the
# pinned source (sim.py finds them). config-network comes with Kourier's networking release
# on a real cluster; here it starts empty, and configure_knative fills it the same way.
install_knative_sim() {
  log "$(say 'Sim cluster: installing what it can hold of Knative Serving (configuration only, no controllers).')"
  local files
  files="$("$REPO_ROOT/.venv/bin/python" "$LAB_DIR/sim.py" files)" || exit 2
  local file args=()
  while IFS= read -r file; do args+=(-f "$file"); done <<<"$files"
  kubectl apply "${args[@]}" >&2
  kubectl -n "$KNATIVE_NAMESPACE" create configmap config-network --dry-run=client -o yaml | apply -
}

# Kourier as the ingress, sslip.io URLs, and images from `kind load` (see install/*.yaml).
configure_knative() {
  local name file
  for name in network-kourier domain-sslip deployment-local-images; do
    file="$LAB_DIR/install/config-$name.yaml"
    kubectl -n "$KNATIVE_NAMESPACE" patch "configmap/config-${name%%-*}" --type merge --patch-file "$file" >&2
  done
}

knative_installed() { kubectl get namespace "$KNATIVE_NAMESPACE" >/dev/null 2>&1 && kubectl -n "$KNATIVE_NAMESPACE" get configmap config-network >/dev/null 2>&1; }

install() {
  if knative_installed; then
    log "$(say 'Knative Serving is already installed in {namespace}.' namespace="$KNATIVE_NAMESPACE")"
  elif on_sim; then
    install_knative_sim
  else
    install_knative
  fi
  configure_knative
}

# Wait until Knative says the Service is Ready (a real cluster only: on the sim no controller
# ever writes a status).
wait_ready() {
  on_sim && return 0
  kubectl -n "$NAMESPACE" wait ksvc/invoice --for=condition=Ready --timeout="$ROLLOUT_TIMEOUT" >&2
}

deploy() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make lab-6}"
  install
  apply "$LAB_DIR/manifests/namespace-serverless.yaml"
  if kubectl -n "$NAMESPACE" get ksvc invoice >/dev/null 2>&1; then
    log "$(say 'invoice is already deployed: leaving it as it is (make reset-6 starts over).')"
  else
    apply "$LAB_DIR/start/service-invoice.yaml"
  fi
  wait_ready
  log ""
  log "$(say 'Level 6 is deployed: Knative Serving with Kourier, and invoice in namespace {namespace}.' namespace="$NAMESPACE")"
  log "$(say 'Next: kubectl -n {namespace} get ksvc,revisions; make check-6 shows what is still to do.' namespace="$NAMESPACE")"
}

solve() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make solve-6}"
  knative_installed || install
  apply "$LAB_DIR/manifests/namespace-serverless.yaml"
  # In order: the traffic of a later file names the revisions an earlier one created.
  local file
  for file in service-invoice-v1.yaml service-invoice-v2-candidate.yaml service-invoice-80-20.yaml; do
    apply "$LAB_DIR/manifests/$file"
    wait_ready
  done
  apply "$LAB_DIR/manifests/app-loadgen.yaml"
  on_sim || kubectl -n "$NAMESPACE" rollout status deployment/loadgen --timeout="$ROLLOUT_TIMEOUT" >&2
  log ""
  log "$(say 'Level 6 is solved. make check-6 should now pass.')"
}

reset() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make reset-6}"
  kubectl delete namespace "$NAMESPACE" --ignore-not-found --wait=false >&2
  if [[ "${KNATIVE:-}" != keep ]]; then
    uninstall_knative
  fi
  kubectl wait --for=delete "namespace/$NAMESPACE" --timeout=180s >/dev/null 2>&1 || true
  if kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
    log "$(say 'Namespace {namespace} is still being deleted: kubectl get namespace {namespace} -o yaml says why.' namespace="$NAMESPACE")"
    exit 1
  fi
  if [[ "${KNATIVE:-}" == keep ]]; then
    log "$(say 'Level 6 is reset: namespace {namespace} is gone; Knative Serving is kept (KNATIVE=keep).' namespace="$NAMESPACE")"
    return
  fi
  log "$(say 'Level 6 is reset: namespace {namespace} and Knative Serving are gone.' namespace="$NAMESPACE")"
}

uninstall_knative() {
  if on_sim; then
    kubectl delete namespace "$KNATIVE_NAMESPACE" --ignore-not-found --wait=true --timeout=120s >&2
    return
  fi
  kubectl delete --ignore-not-found -f "$(release_url net-kourier kourier.yaml)" >&2
  kubectl delete --ignore-not-found -f "$(release_url serving serving-core.yaml)" >&2
  kubectl delete --ignore-not-found -f "$(release_url serving serving-crds.yaml)" >&2
}
