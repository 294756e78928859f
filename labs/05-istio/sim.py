"""The sim cluster's stand-in for what istioctl and Istio's webhook do on a real cluster.

The sim has Istio's CRDs but no istiod, no webhook and no data plane, so lab.sh asks
workshop.sim.istio for what the sim can hold instead:

    python sim.py install              # istio-system as the pinned Istio would create it
    python sim.py inject FILE...       # the manifests, with pods of the exact injected shape
    python sim.py uninstall
    python sim.py release-dir          # the pinned Istio source (samples/addons, as in a release)

The kubeconfig is $KUBECONFIG (the first file), else ~/.kube/config.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml


def kubeconfig() -> str:
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    return first or str(Path.home() / ".kube" / "config")


def tidy(document: dict) -> dict:
    """Drop what kube-inject adds that no manifest holds (``status: {}``, ``creationTimestamp:
    null``): with them, `kubectl apply` says "configured" on every run although nothing changed."""
    document.pop("status", None)
    for metadata in (document.get("metadata"), ((document.get("spec") or {}).get("template") or {}).get("metadata")):
        if isinstance(metadata, dict) and metadata.get("creationTimestamp") is None:
            metadata.pop("creationTimestamp", None)
    return document


def main(argv: list[str]) -> int:
    try:
        from workshop.sim import istio
    except ImportError as error:  # an older checkout, or a venv without the sim's requirements
        print(f"sim.py: the sim cluster's Istio support is missing ({error}): update the workshop checkout.",
              file=sys.stderr)
        return 2
    if argv[:1] == ["install"]:
        report = istio.install_istio_sim(Path(kubeconfig()))
        print(f"Applied {len(report.applied)} objects of Istio's demo profile; skipped:", file=sys.stderr)
        for what, why in report.skipped.items():
            print(f"  {what}: {why}", file=sys.stderr)
    elif argv[:1] == ["uninstall"]:
        istio.uninstall_istio_sim(Path(kubeconfig()))
    elif argv[:1] == ["release-dir"]:
        from workshop.sim.gobuild import module_dir
        from workshop.versions import all_versions

        print(module_dir(istio.ISTIO_MODULE, all_versions()["ISTIO_SOURCE_VERSION"]))
    elif argv[:1] == ["inject"] and argv[1:]:
        # One stream of YAML documents for `kubectl apply -f -`.
        documents = [tidy(document) for path in argv[1:]
                     for document in yaml.safe_load_all(istio.inject(Path(path).read_text())) if document]
        print(yaml.safe_dump_all(documents, sort_keys=False), end="")
    else:
        print("usage: sim.py install | uninstall | release-dir | inject FILE...", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
