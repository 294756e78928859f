"""The CustomResourceDefinitions the sim cluster installs at start: Istio's and Knative Serving's.

They come from the Go modules at the pinned versions (the same files the upstream
installers apply), read from the Go module cache: no copy lives in this repo, so they
cannot drift from versions.env. The sim has no Istio or Knative *controllers*: the API
server validates objects against the CRD schemas, and nothing acts on them.
"""

from __future__ import annotations

from pathlib import Path

from workshop.sim.gobuild import module_dir
from workshop.versions import all_versions

ISTIO_API = "istio.io/api"
ISTIO_CRDS = "kubernetes/customresourcedefinitions.gen.yaml"
KNATIVE_SERVING = "knative.dev/serving"
KNATIVE_CRDS = "config/core/300-resources"


def crd_files(istio: bool = True) -> list[Path]:
    """Every CRD manifest to apply, Istio first, then Knative Serving (one file per CRD).

    ``istio=False`` for real nodes: there `make lab-5` installs Istio with istioctl, as on kind,
    whose cluster has no Istio CRD before it (and `istioctl uninstall --purge` removes them)."""
    versions = all_versions()
    knative = sorted((module_dir(KNATIVE_SERVING, versions["KNATIVE_SERVING_MODULE"]) / KNATIVE_CRDS).glob("*.yaml"))
    files = [module_dir(ISTIO_API, versions["ISTIO_API_MODULE"]) / ISTIO_CRDS] if istio else []
    files += knative
    missing = [str(path) for path in files if not path.is_file()]
    if missing or not knative:
        raise FileNotFoundError(f"CRD manifests not found where the pinned modules should have them: {missing or KNATIVE_CRDS}")
    return files
