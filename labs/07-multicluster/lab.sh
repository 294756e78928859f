# Level 7 (multi-cluster mesh): deploy the starting state, solve it, or reset it.
# Sourced by scripts/lab.sh, which checks the current kube context and sets LAB_DIR and
# REPO_ROOT; `make lab-7`, `make solve-7` and `make reset-7` call deploy, solve and reset.
# This level changes TWO clusters, named by their contexts: EAST_CONTEXT (kind-east) and
# WEST_CONTEXT (kind-west); both are checked by the context guard before anything changes.
#
# deploy: a shared root CA (certs.sh) in both clusters, Istio multi-primary on two networks
#         with an east-west gateway each, and namespace workshop with sidecar injection.
# solve:  the remote secrets, account in both clusters, a client in east whose calls reach west,
#         the failover rule.
# reset:  removes the level from both clusters, Istio included; `make reset-7 ISTIO=keep` keeps Istio.
# Running any of them twice changes nothing the second time.

EAST_CONTEXT="${EAST_CONTEXT:-kind-east}"
WEST_CONTEXT="${WEST_CONTEXT:-kind-west}"
CLUSTERS=(east west)
NAMESPACE=workshop
ISTIO_NAMESPACE=istio-system
GATEWAY_NODE_PORT=31443
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"
STATE_DIR="${REPO_ROOT:?REPO_ROOT is not set: run this through make lab-7}/.workshop/multicluster"

log() { echo "$*" >&2; }

context_of() {
  case "$1" in
    east) echo "$EAST_CONTEXT" ;;
    west) echo "$WEST_CONTEXT" ;;
    *) log "$(say "unknown cluster '{cluster}'" cluster="$1")"; exit 2 ;;
  esac
}

other() { [[ "$1" == east ]] && echo west || echo east; }

# kubectl in one cluster: k east get pods
k() { local cluster="$1"; shift; kubectl --context "$(context_of "$cluster")" "$@"; }

guard_both() {
  local cluster
  for cluster in "${CLUSTERS[@]}"; do
    "$REPO_ROOT/.venv/bin/workshop" guard --context "$(context_of "$cluster")" >&2 || {
      log "$(say 'Level 7 needs both clusters: make cluster-east cluster-west (contexts {east} and {west}).' east="$EAST_CONTEXT" west="$WEST_CONTEXT")"
      exit 3
    }
  done
}

# The address other clusters reach this cluster's node at (the kind container's IP).
node_ip() {
  local ip
  ip="$(k "$1" get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
  if [[ -z "$ip" ]]; then
    log "$(say 'The first node of {context} reports no InternalIP: is the cluster up? (kubectl --context {context} get nodes -o wide)' \
      context="$(context_of "$1")")"
    exit 2
  fi
  echo "$ip"
}

# The API server address the OTHER cluster's istiod must use. kind writes https://127.0.0.1:PORT
# into your kubeconfig: that is your laptop's loopback, which no pod can reach. The node's own
# address on the kind network is.
api_server_for_peers() {
  echo "https://$(node_ip "$1"):6443"
}

mesh_networks_file() {
  local file="$STATE_DIR/mesh-networks.yaml"
  mkdir -p "$STATE_DIR"
  sed -e "s/EAST_NODE_IP/$(node_ip east)/" -e "s/WEST_NODE_IP/$(node_ip west)/" \
    "$LAB_DIR/install/mesh-networks.template.yaml" > "$file"
  echo "$file"
}

# The shared root of trust: each cluster's istiod signs with its own intermediate CA.
install_cacerts() {
  local cluster="$1" dir="$STATE_DIR/certs/$1"
  k "$cluster" create namespace "$ISTIO_NAMESPACE" --dry-run=client -o yaml | k "$cluster" apply -f - >&2
  k "$cluster" label namespace "$ISTIO_NAMESPACE" "topology.istio.io/network=network-$cluster" --overwrite >&2
  k "$cluster" -n "$ISTIO_NAMESPACE" create secret generic cacerts \
    --from-file="$dir/ca-cert.pem" --from-file="$dir/ca-key.pem" \
    --from-file="$dir/root-cert.pem" --from-file="$dir/cert-chain.pem" \
    --dry-run=client -o yaml | k "$cluster" apply -f - >&2
}

install_istio() {
  local cluster="$1" networks="$2" istioctl
  local files=("$LAB_DIR/install/istio-$cluster.yaml" "$networks")
  log "$(say 'Installing Istio in {cluster} (multi-primary, network-{cluster}) ...' cluster="$cluster")"
  istioctl="$(find_istioctl lab-7)"
  "$istioctl" install --context "$(context_of "$cluster")" -y -f "${files[0]}" -f "${files[1]}" >&2
  "$istioctl" install --context "$(context_of "$cluster")" -y -f "$LAB_DIR/install/eastwest-gateway-$cluster.yaml" >&2
}

istio_installed() {
  k "$1" -n "$ISTIO_NAMESPACE" get deployment istiod istio-eastwestgateway >/dev/null 2>&1
}

deploy() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make lab-7}"
  guard_both
  bash "$LAB_DIR/certs.sh" "$STATE_DIR/certs" "${CLUSTERS[@]}"
  local networks cluster
  networks="$(mesh_networks_file)"
  for cluster in "${CLUSTERS[@]}"; do
    install_cacerts "$cluster"
    # Installed or not, install again: `istioctl install` converges, and meshNetworks must name
    # the gateways' addresses of today (a cluster or Docker restart changes them).
    install_istio "$cluster" "$networks"
    k "$cluster" apply -f "$LAB_DIR/manifests/gateway-cross-network.yaml" >&2
    k "$cluster" apply -f "$LAB_DIR/manifests/namespace-workshop.yaml" >&2
  done
  log ""
  log "$(say 'Level 7 is deployed: Istio multi-primary in {east} and {west}, one root CA, east-west gateways.' east="$EAST_CONTEXT" west="$WEST_CONTEXT")"
  log "$(say 'Next: the remote secrets (step 3). make check-7 shows what is still to do.')"
}

# Let `from`'s istiod read `to`'s API server: a kubeconfig for Istio's reader account in `to`,
# as a Secret labelled istio/multiCluster=true in `from`.
remote_secret() {
  local from="$1" to="$2" istioctl
  istioctl="$(find_istioctl lab-7)"
  "$istioctl" create-remote-secret --context "$(context_of "$to")" --name "$to" \
    --server "$(api_server_for_peers "$to")" | k "$from" apply -f - >&2
}

# The learner's own `kubectl apply`: istiod's webhook gives the pods their sidecar.
apply_workloads() {
  local cluster="$1"
  shift
  k "$cluster" apply -f "$@" >&2
}

# Step 4's calls from east's loadgen, until one is answered by west's account (istiod learns
# west's endpoints through the remote secret within seconds). Once the failover rule is there,
# calls stay in east: so this comes first, as on the page, and a second solve skips it.
calls_reach_west() {
  local calls="/api/v1/namespaces/$NAMESPACE/services/loadgen:http/proxy/calls?count=8" deadline=$((SECONDS + 120))
  if k east -n "$NAMESPACE" get destinationrule account >/dev/null 2>&1; then
    return 0
  fi
  log "$(say "Calling account from east's loadgen until west answers (step 4) ...")"
  until k east get --raw "$calls" 2>/dev/null | grep -q '"west/'; do
    if ((SECONDS > deadline)); then
      log "$(say "No call from east reached west's account in 120 s: make check-7 says which part of the path is missing.")"
      return 1
    fi
    sleep 2
  done
}

solve() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make solve-7}"
  guard_both
  local cluster
  for cluster in "${CLUSTERS[@]}"; do
    istio_installed "$cluster" || { deploy; break; }
  done
  for cluster in "${CLUSTERS[@]}"; do
    remote_secret "$cluster" "$(other "$cluster")"
    k "$cluster" apply -f "$LAB_DIR/manifests/namespace-workshop.yaml" >&2
    apply_workloads "$cluster" "$LAB_DIR/manifests/app-account-$cluster.yaml"
  done
  apply_workloads east "$LAB_DIR/manifests/app-loadgen-east.yaml"
  for cluster in "${CLUSTERS[@]}"; do
    k "$cluster" -n "$NAMESPACE" rollout status deployment/account --timeout="$ROLLOUT_TIMEOUT" >&2
  done
  k east -n "$NAMESPACE" rollout status deployment/loadgen --timeout="$ROLLOUT_TIMEOUT" >&2
  calls_reach_west
  for cluster in "${CLUSTERS[@]}"; do
    k "$cluster" apply -f "$LAB_DIR/manifests/destination-rule-account-failover.yaml" >&2
  done
  log ""
  log "$(say 'Level 7 is solved. make check-7 should now pass.')"
}

reset() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make reset-7}"
  guard_both
  local cluster namespaces=("$NAMESPACE")
  [[ "${ISTIO:-}" == keep ]] || namespaces+=("$ISTIO_NAMESPACE")
  for cluster in "${CLUSTERS[@]}"; do
    if ! k "$cluster" get namespace >/dev/null 2>&1; then
      log "$(say 'Cluster {cluster} ({context}) does not answer: nothing to reset there.' cluster="$cluster" context="$(context_of "$cluster")")"
      continue
    fi
    k "$cluster" -n "$ISTIO_NAMESPACE" delete secret -l istio/multiCluster=true --ignore-not-found >&2
    [[ "${ISTIO:-}" == keep ]] || uninstall_istio "$cluster"
    # Both clusters delete their namespaces at the same time; we wait for all of them below.
    k "$cluster" delete namespace "${namespaces[@]}" --ignore-not-found --wait=false >&2
  done
  for cluster in "${CLUSTERS[@]}"; do
    local namespace
    for namespace in "${namespaces[@]}"; do
      k "$cluster" wait --for=delete "namespace/$namespace" --timeout=180s >/dev/null 2>&1 || true
      if k "$cluster" get namespace "$namespace" >/dev/null 2>&1; then
        log "$(say 'Namespace {namespace} is still being deleted in {cluster}: kubectl --context {context} get namespace {namespace} -o yaml says why.' \
          namespace="$namespace" cluster="$cluster" context="$(context_of "$cluster")")"
        exit 1
      fi
    done
  done
  if [[ "${ISTIO:-}" == keep ]]; then
    log "$(say 'Level 7 is reset: namespace {namespace} and the remote secrets are gone; Istio is kept (ISTIO=keep).' namespace="$NAMESPACE")"
    return
  fi
  rm -rf "$STATE_DIR"
  log "$(say 'Level 7 is reset: namespace {namespace}, the remote secrets, Istio and the CA files are gone.' namespace="$NAMESPACE")"
}

uninstall_istio() {
  local cluster="$1"
  k "$cluster" get namespace "$ISTIO_NAMESPACE" >/dev/null 2>&1 || return 0
  "$(find_istioctl lab-7)" uninstall --context "$(context_of "$cluster")" --purge -y >&2
}
