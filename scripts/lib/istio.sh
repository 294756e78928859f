# The Istio release the learner downloaded in level 5, for levels 5 and 7 (scripts/lab.sh sources it).

istio_version() { "$REPO_ROOT/.venv/bin/workshop" versions ISTIO_VERSION; }

# The release folder at the pinned version that holds $1 (bin/istioctl, samples/addons):
# ISTIO_DIR, the workshop folder or the learner's home, where the download put it.
istio_dir() {
  local needs="$1" version candidate
  version="$(istio_version)"
  for candidate in "${ISTIO_DIR:-}" "$REPO_ROOT/istio-$version" "$HOME/istio-$version"; do
    if [[ -n "$candidate" && -e "$candidate/$needs" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# istioctl at the pinned version: the downloaded release's first (it matches its samples/), else
# from PATH. $1: the make target to run again once it is there (lab-5, lab-7).
find_istioctl() {
  local target="$1" version dir candidate
  version="$(istio_version)"
  dir="$(istio_dir bin/istioctl || true)"
  for candidate in "${dir:+$dir/bin/istioctl}" "$(command -v istioctl || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]] &&
       "$candidate" version --remote=false 2>/dev/null | grep -qF "$version"; then
      echo "$candidate"
      return 0
    fi
  done
  log "$(say 'istioctl {version} is not installed: download Istio {version} into the workshop folder (curl -L https://istio.io/downloadIstio | ISTIO_VERSION={version} sh -), as the Level 5 page says, then run make {target} again.' \
      version="$version" target="$target")"
  exit 2
}
