"""Level 2 on real worker nodes: the pods run the images of level 1, and every check runs, the
data-plane one included (on KWOK's fake nodes it is skipped as "needs a real cluster").

The images go into the nodes as a learner's `kind load docker-image` puts them into kind's:
`workshop sim load`, under their exact names. With WORKSHOP_KUBECONFIG (a kind cluster) the
learner has loaded them already.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from labrun import REPO_ROOT, grade, kubectl, lab

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 2
IMAGES = [f"localhost/workshop/{service}:dev" for service in ("gateway", "customer", "order", "account")]


@pytest.fixture(scope="module")
def cluster(real_kubeconfig):
    if not os.environ.get("WORKSHOP_KUBECONFIG"):
        from workshop.pytest_cluster import REAL_NODE_SIM
        from workshop.sim.cluster import Sim

        # Level 1's images, built as `make images` builds them (layers cached after the first time).
        built = subprocess.run([str(REPO_ROOT / "scripts" / "containers" / "build.sh"), "gateway", "customer", "order",
                                "account"], capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT)
        assert built.returncode == 0, built.stderr[-2000:]
        Sim(REAL_NODE_SIM).load(IMAGES)
    lab("reset", LEVEL, real_kubeconfig)
    yield real_kubeconfig
    lab("reset", LEVEL, real_kubeconfig)


@pytest.fixture(scope="module")
def solved(cluster):
    lab("deploy", LEVEL, cluster)
    lab("solve", LEVEL, cluster)
    return cluster


def test_solve_passes_every_check_with_the_data_plane_for_real(solved, tmp_path):
    graded = grade(LEVEL, solved, tmp_path, "--wait", "60")
    statuses = graded.by_status()
    assert set(statuses) == {"passed"}, graded.stdout
    assert "l2-gateway-http" in statuses["passed"]


def test_the_pods_really_run_the_workshop_images(solved):
    pods = json.loads(kubectl(solved, "-n", "workshop", "get", "pods", "-o", "json").stdout)["items"]
    running = {status["image"] for pod in pods for status in pod["status"].get("containerStatuses", [])
               if status.get("ready") and "running" in status.get("state", {})}
    assert set(IMAGES) <= running, running


def test_a_service_that_targets_no_open_port_fails_the_http_check(solved, tmp_path):
    """Pods Ready, endpoints listed, and still no answer: only a request tells."""
    patch = json.dumps([{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 8081}])
    kubectl(solved, "-n", "workshop", "patch", "service", "gateway", "--type=json", "-p", patch)
    try:
        # Graded once the EndpointSlice carries the broken port (the controller writes it).
        deadline = time.monotonic() + 30
        while "8081" not in kubectl(solved, "-n", "workshop", "get", "endpointslices", "-l",
                                    "kubernetes.io/service-name=gateway", "-o",
                                    "jsonpath={.items[*].ports[*].port}").stdout:
            assert time.monotonic() < deadline, "the EndpointSlice never carried port 8081"
            time.sleep(0.5)
        graded = grade(LEVEL, solved, tmp_path, "-k", "gateway_http")
        assert graded.status("l2-gateway-http") == "failed", graded.stdout
        assert "kubectl -n workshop port-forward svc/gateway 8080:8080" in graded.stdout
    finally:
        lab("solve", LEVEL, solved)
    graded = grade(LEVEL, solved, tmp_path, "-k", "gateway_http", "--wait", "60")
    assert graded.status("l2-gateway-http") == "passed", graded.stdout
