"""The Istio release folder a learner downloads, made on this machine from the pinned source.

`curl -L https://istio.io/downloadIstio | sh -` gives a learner ``istio-<version>/`` with
``bin/istioctl``, ``samples/`` and ``manifests/``; labs/05-istio/lab.sh looks for it in
ISTIO_DIR, the workshop folder or the home folder. Here (no internet) the sim makes
``.sim/istio-<ISTIO_VERSION>/``:

- ``samples/`` and ``manifests/``: links to the pinned Istio module's own folders;
- ``bin/istioctl``: STAND-IN wrapper (named on docs/contributing/testing.md) around istioctl
  built from the pinned source with the release's version stamp. It runs that istioctl
  unchanged, except that ``install`` and ``manifest generate`` get the test-only overlay
  ``sim/istio-sim-overlay.yaml`` appended (locally built images, the switches upstream Envoy
  needs). The learner's IstioOperator file stays what it is on kind.

Tests and ``make bench-mesh`` give lab.sh this folder the way a learner would: ISTIO_DIR set to
it and its ``bin`` first on PATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workshop import REPO_ROOT
from workshop.sim import istio
from workshop.sim.gobuild import module_dir
from workshop.versions import all_versions

OVERLAY = REPO_ROOT / "sim" / "istio-sim-overlay.yaml"

WRAPPER = """#!/usr/bin/env bash
# Workshop sim STAND-IN for a downloaded istioctl (workshop/sim/istio_release.py): the pinned
# istioctl, with the test-only overlay added to `install` and `manifest generate`.
real={real}
overlay={overlay}
if [[ "${{1:-}}" == install || "${{1:-}} ${{2:-}}" == "manifest generate" ]]; then
  exec "$real" "$@" -f "$overlay"
fi
exec "$real" "$@"
"""


def release_dir() -> Path:
    return REPO_ROOT / ".sim" / f"istio-{all_versions()['ISTIO_VERSION']}"


def make_release_dir(log=None) -> Path:
    """Build istioctl if needed, then (re)write the release folder; returns it."""
    versions = all_versions()
    real = istio.build_istioctl(log=log)
    source = module_dir(istio.ISTIO_MODULE, versions["ISTIO_SOURCE_VERSION"])
    folder = release_dir()
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    for name in ("samples", "manifests"):
        link = folder / name
        if link.is_symlink() or link.exists():
            if os.readlink(link) == str(source / name):
                continue
            link.unlink()
        link.symlink_to(source / name)
    wrapper = folder / "bin" / "istioctl"
    text = WRAPPER.format(real=_quote(real), overlay=_quote(OVERLAY))
    if not wrapper.is_file() or wrapper.read_text() != text:
        partial = wrapper.with_suffix(".partial")
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(wrapper)
    return folder


def learner_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a learner who downloaded that release: ISTIO_DIR, and its bin first on PATH."""
    env = dict(os.environ if env is None else env)
    folder = release_dir()
    env["ISTIO_DIR"] = str(folder)
    env["PATH"] = os.pathsep.join([str(folder / "bin"), env.get("PATH", "")])
    return env


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def main() -> int:
    print(make_release_dir(log=lambda message: print(message, file=sys.stderr)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
