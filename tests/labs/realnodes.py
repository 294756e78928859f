"""Shared by the labs' tests on real worker nodes (levels 2 to 4): the workshop's images in the
nodes, and the bounded wait (workshop/waits.py) for what the data plane does in its own time.

The images go into the nodes as a learner's `kind load docker-image` puts them into kind's:
`workshop sim load`, under their exact names. With WORKSHOP_KUBECONFIG (a kind cluster) the
learner has loaded them already.
"""

from __future__ import annotations

import os
import subprocess

from labrun import REPO_ROOT

from workshop.waits import wait_until

__all__ = ["image_of", "load_workshop_images", "wait_until"]  # the levels' tests import the wait from here


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
