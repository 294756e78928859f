# Level 4 (release): deploy the starting state, solve it, or reset it.
# Sourced by scripts/lab.sh, which checks the kube context first and sets LAB_DIR and
# REPO_ROOT; `make lab-4`, `make solve-4` and `make reset-4` call deploy, solve and reset.
# Every command is plain kubectl, so the page can show exactly what each step does.

NAMESPACE=workshop
ARGOCD_NAMESPACE=argocd
SERVICES=(gateway customer order account)
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-180s}"
# Where Argo CD's install manifest comes from: GitHub, or this file when set.
ARGOCD_MANIFEST="${ARGOCD_MANIFEST:-}"
# The Git repository Argo CD watches: your fork (default: this clone's origin, as https).
REPO_URL="${REPO_URL:-}"
PLACEHOLDER_REPO_URL="https://github.com/YOUR-GITHUB-USER/microservices-workshop.git"
# The Helm step: the app's chart released into a namespace of its own.
HELM_NAMESPACE=workshop-helm
HELM_RELEASE=workshop

log() { echo "$*" >&2; }

version_of() { "${WORKSHOP:-$REPO_ROOT/.venv/bin/workshop}" versions "$1"; }

# Learners apply the release's install.yaml from GitHub; ARGOCD_MANIFEST, when set, names a
# local copy of the same file (an event's mirror, for a room without a good network).
argocd_manifest() {
  if [[ -n "$ARGOCD_MANIFEST" ]]; then
    echo "$ARGOCD_MANIFEST"
    return
  fi
  echo "https://raw.githubusercontent.com/argoproj/argo-cd/$(version_of ARGOCD_VERSION)/manifests/install.yaml"
}

wait_for() {  # wait_for NAMESPACE KIND/NAME...
  local namespace="$1" item
  shift
  for item in "$@"; do
    kubectl -n "$namespace" rollout status "$item" --timeout="$ROLLOUT_TIMEOUT" >&2
  done
}

# Argo CD's own manifest, applied server-side: its CRDs are too big for the annotation
# a client-side apply keeps.
install_argocd() {
  local manifest
  manifest="$(argocd_manifest)"
  kubectl create namespace "$ARGOCD_NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >&2
  kubectl apply -n "$ARGOCD_NAMESPACE" --server-side --force-conflicts -f "$manifest" >&2
  wait_for "$ARGOCD_NAMESPACE" deployment/argocd-server deployment/argocd-repo-server \
    statefulset/argocd-application-controller
}

# The fork Argo CD reads: REPO_URL, else the URL of the Application you already applied.
# Never this clone's origin: for anyone who cloned rather than forked, that is upstream.
repo_url() {
  if [[ -n "$REPO_URL" ]]; then
    echo "$REPO_URL"
    return
  fi
  local applied
  applied="$(kubectl -n "$ARGOCD_NAMESPACE" get applications.argoproj.io workshop-dev \
    -o jsonpath='{.spec.source.repoURL}' 2>/dev/null || true)"
  [[ -n "$applied" && "$applied" != "$PLACEHOLDER_REPO_URL" ]] || return 1
  echo "$applied"
}

# The status of the Helm release's last revision (deployed, failed, pending-upgrade...), or nothing
# when there is no release (helm status then fails, printing nothing on stdout: not an error here).
helm_status() {
  { helm -n "$HELM_NAMESPACE" status "$HELM_RELEASE" -o json 2>/dev/null || true; } |
    "$REPO_ROOT/.venv/bin/python" -c 'import json, sys; text = sys.stdin.read()
print(json.loads(text)["info"]["status"] if text else "")'
}

need_helm() {
  command -v helm >/dev/null && return 0
  log "$(say "make solve-4 needs helm {version}: install it as level 4's Helm step says." version="$(version_of HELM_VERSION)")"
  exit 2
}

# The Helm step as the page does it: the chart installed with the step's values file (afresh,
# if its last revision is not deployed), upgraded with a value changed, then rolled back. Each
# run adds revisions; the end state is the same: the install's values, by a rollback after an upgrade.
solve_helm() {
  local chart="$REPO_ROOT/manifests/helm/workshop" status
  local wait=(--wait --timeout "$ROLLOUT_TIMEOUT")
  status="$(helm_status)"
  if [[ -n "$status" && "$status" != deployed ]]; then
    # failed, pending-* (an interrupted operation) or uninstalled with its history kept: start afresh.
    log "$(say 'Helm release {release} is {status}: removing it and its history, then installing it again.' release="$HELM_RELEASE" status="$status")"
    helm -n "$HELM_NAMESPACE" uninstall "$HELM_RELEASE" --wait >&2
  fi
  kubectl create namespace "$HELM_NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >&2
  kubectl label namespace "$HELM_NAMESPACE" pod-security.kubernetes.io/enforce=restricted --overwrite >&2
  # --force-conflicts: a field changed by hand (kubectl scale) goes back to what the chart says.
  helm upgrade --install "$HELM_RELEASE" "$chart" -n "$HELM_NAMESPACE" --reset-values \
    -f "$LAB_DIR/helm/values-one-replica.yaml" --force-conflicts "${wait[@]}" >&2
  helm upgrade "$HELM_RELEASE" "$chart" -n "$HELM_NAMESPACE" --reuse-values --set account.replicas=2 "${wait[@]}" >&2
  helm rollback "$HELM_RELEASE" -n "$HELM_NAMESPACE" "${wait[@]}" >&2
}

# The starting state: level 3's app applied by hand from manifests/base (as you left it),
# and Argo CD installed, with nothing for it to do yet.
deploy() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make lab-4}"
  kubectl apply -k "$REPO_ROOT/manifests/base" >&2
  install_argocd
  wait_for "$NAMESPACE" "${SERVICES[@]/#/deployment/}"
  log ""
  log "$(say 'Level 4 is deployed: the app in namespace {namespace} (applied by hand) and Argo CD in {argocd_namespace}.' namespace="$NAMESPACE" argocd_namespace="$ARGOCD_NAMESPACE")"
  log "$(say 'Next: make check-4 shows what the release loop still lacks.')"
}

# The solution: the dev overlay applied (what Argo CD's first sync does, so nobody waits
# for it), the Application pointing Argo CD at it, then the canary: 1 pod of v2 for 3 of v1.
solve() {
  : "${LAB_DIR:?LAB_DIR is not set: run this through make solve-4}"
  local url
  if ! url="$(repo_url)"; then
    log "$(say "make solve-4 needs your fork's URL, which Argo CD deploys from: make solve-4 REPO_URL=https://github.com/<you>/<fork>.git")"
    exit 2
  fi
  need_helm
  kubectl get namespace "$ARGOCD_NAMESPACE" >/dev/null 2>&1 || install_argocd
  local gateway_replicas
  gateway_replicas="$(replicas_of gateway)"
  converge -k "$REPO_ROOT/manifests/overlays/dev"
  keep_autoscaled_replicas gateway "$gateway_replicas"
  converge -f "$LAB_DIR/manifests/app-account-v2-canary.yaml"
  prune_extras deployments,services,poddisruptionbudgets,networkpolicies,horizontalpodautoscalers \
    -k "$REPO_ROOT/manifests/overlays/dev" -f "$LAB_DIR/manifests/app-account-v2-canary.yaml"
  local application
  application="$(mktemp)"
  sed "s#$PLACEHOLDER_REPO_URL#$url#" "$LAB_DIR/manifests/application-workshop-dev.yaml" >"$application"
  converge -f "$application"
  rm -f "$application"
  kubectl -n "$NAMESPACE" scale deployment/account --replicas=3 >&2
  wait_for "$NAMESPACE" "${SERVICES[@]/#/deployment/}" deployment/loadgen deployment/account-v2
  solve_helm
  log ""
  log "$(say 'Level 4 is solved. make check-4 should now pass (Synced and Healthy once Argo CD has read your fork).')"
}

# Remove everything the level created: the Application first (so Argo CD stops syncing),
# then the app's namespaces (the Helm release's history lives in its own), then Argo CD
# itself, CRDs and cluster roles included.
reset() {
  if kubectl get crd applications.argoproj.io >/dev/null 2>&1; then
    kubectl -n "$ARGOCD_NAMESPACE" delete applications.argoproj.io --all --wait=true --timeout=60s >&2
  fi
  if kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
    kubectl delete namespace "$NAMESPACE" --wait=true --timeout=120s >&2
  fi
  if kubectl get namespace "$HELM_NAMESPACE" >/dev/null 2>&1; then
    kubectl delete namespace "$HELM_NAMESPACE" --wait=true --timeout=120s >&2
  fi
  if kubectl get namespace "$ARGOCD_NAMESPACE" >/dev/null 2>&1 || kubectl get crd applications.argoproj.io >/dev/null 2>&1; then
    local manifest
    manifest="$(argocd_manifest)"
    kubectl delete -n "$ARGOCD_NAMESPACE" --ignore-not-found --wait=true -f "$manifest" >&2
    kubectl delete namespace "$ARGOCD_NAMESPACE" --ignore-not-found --wait=true --timeout=120s >&2
  fi
  log "$(say "Level 4 is reset: namespaces {namespace}, {helm_namespace} and {argocd_namespace} and Argo CD's CRDs are gone." \
    namespace="$NAMESPACE" helm_namespace="$HELM_NAMESPACE" argocd_namespace="$ARGOCD_NAMESPACE")"
}
