"""Shared by the labs' tests on real worker nodes (levels 2 to 4): the workshop's images in the
nodes, and bounded waits for what the data plane does in its own time.

The images go into the nodes as a learner's `kind load docker-image` puts them into kind's:
`workshop sim load`, under their exact names. With WORKSHOP_KUBECONFIG (a kind cluster) the
learner has loaded them already.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from labrun import REPO_ROOT


def image_of(service: str) -> str:
    return f"localhost/workshop/{service}:dev"


def load_workshop_images(services: tuple[str, ...]) -> list[str]:
    """Build the services' images as `make images` does (layers cached after the first time) and
    load them into the real-node sim; returns their names."""
    images = [image_of(service) for service in services]
    if not os.environ.get("WORKSHOP_KUBECONFIG"):
        from workshop.pytest_cluster import REAL_NODE_SIM
        from workshop.sim.cluster import Sim

        built = subprocess.run([str(REPO_ROOT / "scripts" / "containers" / "build.sh"), *services],
                               capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT)
        assert built.returncode == 0, built.stderr[-2000:]
        Sim(REAL_NODE_SIM).load(images)
    return images


def wait_until(what: str, condition, timeout: float, interval: float = 0.5):
    """Poll ``condition`` until it returns something true (returned); fail saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}")
        time.sleep(interval)
