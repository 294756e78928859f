"""Level 2 on real worker nodes: the pods run the images of level 1, and every check runs, the
data-plane one included (on KWOK's fake nodes it is skipped as "needs a real cluster").

The images go into the nodes as `kind load docker-image` does (realnodes.load_workshop_images).
"""

from __future__ import annotations

import json

import pytest
from labrun import grade, kubectl, lab
from realnodes import load_workshop_images, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 2
SERVICES = ("gateway", "customer", "order", "account")


@pytest.fixture(scope="module")
def cluster(real_kubeconfig):
    load_workshop_images(SERVICES)
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
    assert {f"localhost/workshop/{service}:dev" for service in SERVICES} <= running, running


def test_a_service_that_targets_no_open_port_fails_the_http_check(solved, tmp_path):
    """Pods Ready, endpoints listed, and still no answer: only a request tells."""
    patch = json.dumps([{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 8081}])
    kubectl(solved, "-n", "workshop", "patch", "service", "gateway", "--type=json", "-p", patch)
    try:
        # Graded once the EndpointSlice carries the broken port (the controller writes it).
        wait_until("the EndpointSlice carries port 8081", lambda: "8081" in kubectl(
            solved, "-n", "workshop", "get", "endpointslices", "-l", "kubernetes.io/service-name=gateway", "-o",
            "jsonpath={.items[*].ports[*].port}").stdout, timeout=30)
        graded = grade(LEVEL, solved, tmp_path, "-k", "gateway_http")
        assert graded.status("l2-gateway-http") == "failed", graded.stdout
        assert "kubectl -n workshop port-forward svc/gateway 8080:8080" in graded.stdout
    finally:
        lab("solve", LEVEL, solved)
    graded = grade(LEVEL, solved, tmp_path, "-k", "gateway_http", "--wait", "60")
    assert graded.status("l2-gateway-http") == "passed", graded.stdout
