"""The sim clusters' stand-in for `istioctl install` of level 7 (tests only).

The sim has Istio's CRDs but no istiod, no webhook and no data plane. What it can hold of
level 7's installs is every object `istioctl install -f FILE...` would create, rendered by
the istioctl built from the pinned source (workshop.sim.istio) from the very IstioOperator
files of this lab, minus what cannot work without a data plane (CRDs, webhooks: see
workshop.sim.istio.SKIPPED_KINDS). kubectl applies them, server-side, to one context:

    python sim.py install CONTEXT FILE...      # and wait until its Deployments are Available
    python sim.py uninstall CONTEXT FILE...    # delete what each FILE's install created outside istio-system

The kubeconfig is kubectl's (KUBECONFIG may list both sim clusters' files).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

FIELD_MANAGER = "workshop-istio-sim"


def render(files: list[str]) -> list[dict]:
    """`istioctl manifest generate -f FILE...`, cached by the files' content and the pinned versions."""
    from workshop.sim import istio
    from workshop.sim.gobuild import cache_dir
    from workshop.versions import all_versions

    versions = all_versions()
    # The images of the pinned release, as a released istioctl would render them.
    flags = ["--set", f"hub={istio.RELEASE_HUB}", "--set", f"tag={versions['ISTIO_VERSION']}"]
    key = hashlib.sha256(json.dumps([versions["ISTIO_SOURCE_VERSION"], flags,
                                     [Path(path).read_text() for path in files]]).encode()).hexdigest()[:16]
    cached = cache_dir() / "istio" / "level7" / f"{key}.yaml"
    if not cached.is_file():
        text = istio.run_istioctl(["manifest", "generate", *(arg for path in files for arg in ("-f", path)), *flags]).stdout
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.with_suffix(".partial").write_text(text)
        cached.with_suffix(".partial").replace(cached)
    return [item for item in yaml.safe_load_all(cached.read_text()) if item and item["kind"] not in istio.SKIPPED_KINDS]


def kubectl(context: str, *args: str, stdin: str | None = None) -> None:
    result = subprocess.run(["kubectl", "--context", context, *args], input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:2])} failed in {context}: {result.stderr.strip()}")
    sys.stderr.write(result.stdout)


def install(context: str, files: list[str]) -> None:
    objects = render(files)
    kubectl(context, "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-",
            stdin=yaml.safe_dump_all(objects))
    names = [item["metadata"]["name"] for item in objects if item["kind"] == "Deployment"]
    if names:  # KWOK plays the kubelet: the pods become Ready, though no container runs
        kubectl(context, "-n", "istio-system", "wait", "--for=condition=Available", "--timeout=120s",
                *(f"deployment/{name}" for name in names))


def uninstall(context: str, files: list[str]) -> None:
    # One render per file: several -f files are overlays of ONE install (the last profile wins).
    cluster_scoped = [item for path in files for item in render([path]) if not item["metadata"].get("namespace")]
    kubectl(context, "delete", "--ignore-not-found", "-f", "-", stdin=yaml.safe_dump_all(cluster_scoped))


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("install", "uninstall"):
        print("usage: sim.py install|uninstall CONTEXT FILE...", file=sys.stderr)
        return 2
    try:
        from workshop.sim.gobuild import BuildError
        from workshop.sim.istio import IstioError
    except ImportError as error:
        print(f"sim.py: the sim cluster's Istio support is missing ({error}): update the workshop checkout.",
              file=sys.stderr)
        return 2
    action, context, files = argv[0], argv[1], argv[2:]
    try:
        (install if action == "install" else uninstall)(context, files)
    except (BuildError, IstioError, RuntimeError) as error:
        print(f"sim.py {action}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
