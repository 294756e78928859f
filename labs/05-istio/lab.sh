# Level 5 (Istio): deploy the starting state, solve it, or reset it.
# Sourced by scripts/lab.sh, which checks the kube context first and sets LAB_DIR and
# REPO_ROOT; `make lab-5`, `make solve-5` and `make reset-5` call deploy, solve and reset.
#
# deploy: Istio (demo profile + ingress gateway), its dashboards, namespace workshop
#         labelled for injection, the app of level 2, account v2 and loadgen, with sidecars.
# solve:  every manifest of the steps, in their final state.
# reset:  removes the level's configuration; `make reset-5 ISTIO=uninstall` removes Istio too.
# Running any of them twice changes nothing the second time.

NAMESPACE=workshop
ISTIO_NAMESPACE=istio-system
APPS=(gateway customer order account)
DATABASES=(customer order account)   # level 2's database-<service>.yaml: a StatefulSet each
ADDONS=(prometheus grafana kiali jaeger)
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"
LEVEL2_MANIFESTS="${REPO_ROOT:?REPO_ROOT is not set: run this through make lab-5}/labs/02-orchestrate/manifests"

# The solution, in the order the steps apply it (allow-* before allow-nothing, so that
# turning on "deny by default" never cuts the app off).
SOLUTION=(
  gateway-workshop.yaml virtual-service-ingress.yaml
  destination-rule-account-circuit-breaker.yaml virtual-service-account-timeout-retries.yaml
  virtual-service-order-retries.yaml peer-authentication-strict.yaml
  authorization-policy-allow-gateway.yaml authorization-policy-allow-customer.yaml
  authorization-policy-allow-order.yaml authorization-policy-allow-account.yaml
  authorization-policy-allow-customer-db.yaml authorization-policy-allow-order-db.yaml
  authorization-policy-allow-account-db.yaml authorization-policy-allow-nothing.yaml telemetry-mesh-tracing.yaml
  request-authentication-ingress.yaml authorization-policy-ingress-users.yaml
)

log() { echo "$*" >&2; }

# apply FILE... : one `-f` per file (`kubectl apply -f a.yaml b.yaml` is "Unexpected args").
apply() {
  local file args=()
  for file in "$@"; do
    args+=(-f "$file")
  done
  kubectl apply "${args[@]}" >&2
}

install_istio() {
  local istioctl dir
  istioctl="$(find_istioctl lab-5)"
  if ! dir="$(istio_dir samples/addons)"; then
    log "$(say 'The Istio {version} release folder (with samples/addons) is not in the workshop folder or your home: download it as the Level 5 page says, or set ISTIO_DIR to where it is, then run make lab-5 again.' \
      version="$(istio_version)")"
    exit 2
  fi
  log "$(say 'Installing Istio (demo profile, ingress gateway on 127.0.0.1:9080) with {istioctl} ...' istioctl="$istioctl")"
  "$istioctl" install -y -f "$LAB_DIR/install/istio-operator-demo.yaml" >&2
  install_addons "$dir"
}

# Prometheus, Grafana, Kiali and Jaeger, as the Istio release ships them (samples/addons).
install_addons() {
  local dir="$1" addon
  log "$(say 'Installing the dashboards from {folder}/samples/addons ...' folder="$dir")"
  for addon in "${ADDONS[@]}"; do
    apply "$dir/samples/addons/$addon.yaml"
  done
  for addon in "${ADDONS[@]}"; do
    kubectl -n "$ISTIO_NAMESPACE" rollout status "deployment/$addon" --timeout="$ROLLOUT_TIMEOUT" >&2
  done
}

# The app label of every pod in the namespace, then the names of the containers it runs.
pod_containers() {
  kubectl -n "$NAMESPACE" get pods -o \
    jsonpath='{range .items[*]}{.metadata.labels.app}{" "}{.spec.containers[*].name}{" "}{.spec.initContainers[*].name}{"\n"}{end}'
}

# Pods started before the namespace was labelled have no sidecar: restart their Deployments.
restart_pods_without_sidecar() {
  local app
  for app in $(pod_containers | awk '$1 != "" && !/istio-proxy/ {print $1}' | sort -u); do
    log "$(say 'Pods of {app} started without a sidecar: restarting them.' app="$app")"
    kubectl -n "$NAMESPACE" rollout restart deployment,statefulset -l "app=$app" >&2
  done
}

restart_pods_with_sidecar() {
  local app
  for app in $(pod_containers | awk '$1 != "" && /istio-proxy/ {print $1}' | sort -u); do
    kubectl -n "$NAMESPACE" rollout restart deployment,statefulset -l "app=$app" >&2
  done
}

wait_for_app() {
  local name
  for name in $(kubectl -n "$NAMESPACE" get statefulsets,deployments -o name); do
    if ! kubectl -n "$NAMESPACE" rollout status "$name" --timeout="$ROLLOUT_TIMEOUT" >&2; then
      log "$(say '{name} did not become ready in {timeout}:' name="$name" timeout="$ROLLOUT_TIMEOUT")"
      explain_stuck_pods "$NAMESPACE"
      exit 1
    fi
  done
}

deploy_app() {
  apply "$LEVEL2_MANIFESTS/namespace-workshop.yaml"
  kubectl label namespace "$NAMESPACE" istio-injection=enabled --overwrite >&2
  apply "$LEVEL2_MANIFESTS/config-map-settings.yaml" "$LEVEL2_MANIFESTS/secret-gateway.yaml"
  local app files=()
  for app in "${DATABASES[@]}"; do
    files+=("$LEVEL2_MANIFESTS/database-$app.yaml")
  done
  for app in "${APPS[@]}"; do
    files+=("$LEVEL2_MANIFESTS/app-$app.yaml")
  done
  apply "${files[@]}" "$LAB_DIR/manifests/app-account-v2.yaml" "$LAB_DIR/manifests/app-loadgen.yaml"
  restart_pods_without_sidecar
  wait_for_app
}

deploy() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make lab-5}"
  install_istio
  deploy_app
  log ""
  log "$(say 'Level 5 is deployed: Istio, its dashboards, and the app with sidecars in namespace {namespace}.' namespace="$NAMESPACE")"
  log "$(say 'Open the app (after step 2): http://127.0.0.1:9080/')"
  log "$(say 'Open the dashboards: istioctl dashboard kiali | grafana | jaeger')"
  log "$(say 'Next: make check-5 shows what is still to do.')"
}

# The kinds of Istio configuration a learner writes: whatever of them the solution does not
# declare is removed by make solve-5.
ISTIO_CONFIG_KINDS="virtualservices.networking.istio.io,destinationrules.networking.istio.io,gateways.networking.istio.io"
ISTIO_SECURITY_KINDS="peerauthentications.security.istio.io,authorizationpolicies.security.istio.io,requestauthentications.security.istio.io"
ISTIO_TELEMETRY_KINDS="telemetries.telemetry.istio.io"

# The app exactly as level 2's manifests and this level's say, whatever was edited by hand (an
# opt-out of injection, a version in a selector, an extra container): converged, extras pruned.
converge_app() {
  local app args=() workloads=("$LAB_DIR/manifests/app-account-v2.yaml" "$LAB_DIR/manifests/app-loadgen.yaml")
  for app in "${APPS[@]}"; do
    workloads=("$LEVEL2_MANIFESTS/app-$app.yaml" "${workloads[@]}")
  done
  for app in "${DATABASES[@]}"; do
    workloads=("$LEVEL2_MANIFESTS/database-$app.yaml" "${workloads[@]}")
  done
  converge -f "$LEVEL2_MANIFESTS/namespace-workshop.yaml"
  kubectl label namespace "$NAMESPACE" istio-injection=enabled istio.io/rev- --overwrite >&2
  converge -f "$LEVEL2_MANIFESTS/config-map-settings.yaml" -f "$LEVEL2_MANIFESTS/secret-gateway.yaml"
  for app in "${workloads[@]}"; do
    args+=(-f "$app")
  done
  converge "${args[@]}"
  prune_extras deployments,statefulsets,services "${args[@]}"
  restart_pods_without_sidecar
  wait_for_app
}

solve() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make solve-5}"
  if ! kubectl -n "$ISTIO_NAMESPACE" get deployment istiod >/dev/null 2>&1; then
    deploy
  fi
  converge_app
  local file args=()
  for file in "${SOLUTION[@]}"; do
    args+=(-f "$LAB_DIR/manifests/$file")
  done
  converge "${args[@]}"
  prune_extras "$ISTIO_CONFIG_KINDS,$ISTIO_SECURITY_KINDS" "${args[@]}"
  prune_extras --namespace "$ISTIO_NAMESPACE" "$ISTIO_SECURITY_KINDS,$ISTIO_TELEMETRY_KINDS" "${args[@]}"
  log ""
  log "$(say 'Level 5 is solved. make check-5 should now pass.')"
}

# Everything the level added, then the app of level 2 as it was, without sidecars.
reset() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make reset-5}"
  case "${ISTIO:-}" in
    "" | uninstall) ;;
    *) log "$(say 'ISTIO={istio} is not understood: use make reset-5 (keeps Istio) or make reset-5 ISTIO=uninstall.' istio="$ISTIO")"; exit 2 ;;
  esac
  kubectl delete -f "$LAB_DIR/manifests/app-account-v2.yaml" -f "$LAB_DIR/manifests/app-loadgen.yaml" \
    --ignore-not-found >&2
  # Istio's own kinds exist only while its CRDs do (istioctl uninstall --purge removes them).
  if kubectl get crd virtualservices.networking.istio.io >/dev/null 2>&1; then
    local file files=()
    for file in "$LAB_DIR"/manifests/*.yaml; do
      [[ "$(basename "$file")" == app-* ]] || files+=(-f "$file")
    done
    kubectl delete "${files[@]}" --ignore-not-found >&2
  fi
  if kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
    kubectl label namespace "$NAMESPACE" istio-injection- >&2
    # The webhook injected pods, not Deployments: restarted pods come without a sidecar.
    restart_pods_with_sidecar
  fi
  if [[ "${ISTIO:-}" == uninstall ]]; then
    uninstall_istio
    log "$(say 'Level 5 is reset. Istio is uninstalled.')"
  else
    log "$(say 'Level 5 is reset. Istio stays installed (make reset-5 ISTIO=uninstall removes it).')"
  fi
}

uninstall_istio() {
  local dir addon
  dir="$(istio_dir samples/addons || true)"
  if [[ -n "$dir" ]]; then
    for addon in "${ADDONS[@]}"; do
      kubectl delete -f "$dir/samples/addons/$addon.yaml" --ignore-not-found >&2
    done
  fi
  local istioctl
  istioctl="$(find_istioctl lab-5)"
  "$istioctl" uninstall --purge -y >&2
  kubectl delete namespace "$ISTIO_NAMESPACE" --ignore-not-found >&2
  # istiod copied its root certificate (and revocation list) into every namespace; uninstall leaves them.
  kubectl delete configmap --all-namespaces -l istio.io/config=true --ignore-not-found >&2
}
