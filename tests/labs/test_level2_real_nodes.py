"""Level 2 on real worker nodes: the pods run the images of level 1, and every check runs, the
data-plane one included (on KWOK's fake nodes it is skipped as "needs a real cluster"). The
databases run for real too: replicas of a service share one, and its data outlives its pod.

The images go into the nodes as `kind load docker-image` does (realnodes.load_workshop_images).
"""

from __future__ import annotations

import json
import os

import pytest
from labrun import grade, kubectl, lab
from realnodes import load_workshop_images, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 2
SERVICES = ("gateway", "customer", "order", "account")
NS = ("-n", "workshop")


@pytest.fixture(scope="module")
def cluster(real_kubeconfig):
    load_workshop_images((*SERVICES, "postgres"))
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


# Run in the pod itself, so the request reaches that replica and no other.
REQUEST = """import json, sys, urllib.request
body = sys.argv[2].encode() if len(sys.argv) > 2 else None
headers = {"Content-Type": "application/json", "Idempotency-Key": sys.argv[3]} if body else {}
req = urllib.request.Request("http://127.0.0.1:8080" + sys.argv[1], data=body, headers=headers)
print(urllib.request.urlopen(req, timeout=10).read().decode())
"""


def through(kubeconfig, pod: str, path: str, body: dict | None = None, key: str = "") -> dict:
    args = [path] + ([json.dumps(body), key] if body is not None else [])
    return json.loads(kubectl(kubeconfig, *NS, "exec", pod, "-c", "order", "--", "python3", "-c", REQUEST,
                              *args).stdout)


def ready_pods(kubeconfig, app: str) -> list[str]:
    pods = json.loads(kubectl(kubeconfig, *NS, "get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    return sorted(pod["metadata"]["name"] for pod in pods if not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])))


def test_order_replicas_share_one_database_that_outlives_its_pod(solved):
    """The lesson of the level's databases, for real: an order placed through one order replica is
    read through the other (with SQLite in each pod's emptyDir the second answered 404), and after
    the database's pod is deleted its StatefulSet brings back order-db-0 on the same claim, data and all."""
    kubectl(solved, *NS, "scale", "deployment/order", "--replicas=2")
    try:
        kubectl(solved, *NS, "rollout", "status", "deployment/order", "--timeout=180s", timeout=200)
        first, second = wait_until("two order replicas are ready", lambda: (
            pods if len(pods := ready_pods(solved, "order")) == 2 else None), timeout=120)
        placed = through(solved, first, "/orders", {"customer_id": 1, "item": "coffee", "quantity": 1},
                         key=f"real-nodes-{os.getpid()}")
        order_id = placed["order"]["id"] if "order" in placed else placed["id"]
        assert through(solved, second, f"/orders/{order_id}")["id"] == order_id

        claim = kubectl(solved, *NS, "get", "pvc", "data-order-db-0", "-o", "jsonpath={.metadata.uid}").stdout
        uid = kubectl(solved, *NS, "get", "pod", "order-db-0", "-o", "jsonpath={.metadata.uid}").stdout
        kubectl(solved, *NS, "delete", "pod", "order-db-0", "--wait=false")
        wait_until("a new order-db-0", lambda: kubectl(solved, *NS, "get", "pod", "order-db-0", "-o",
                                                      "jsonpath={.metadata.uid}", check=False).stdout not in ("", uid),
                   timeout=120)
        kubectl(solved, *NS, "rollout", "status", "statefulset/order-db", "--timeout=180s", timeout=200)
        assert kubectl(solved, *NS, "get", "pvc", "data-order-db-0", "-o", "jsonpath={.metadata.uid}").stdout == claim
        wait_until("both order replicas ready again", lambda: ready_pods(solved, "order") == [first, second],
                   timeout=120)
        # Each replica's pooled connections died with the old server: a request that meets one answers 503
        # ("storage unavailable") and drops it, so wait for an answer, boundedly, and say how many 503s came first.
        for pod in (first, second):
            refused = []

            def read(pod=pod, refused=refused):
                answer = kubectl(solved, *NS, "exec", pod, "-c", "order", "--", "python3", "-c", REQUEST,
                                 f"/orders/{order_id}", check=False)
                if answer.returncode == 0:
                    return json.loads(answer.stdout)
                assert "HTTP Error 503" in answer.stderr, answer.stderr
                refused.append(pod)
                return None

            assert wait_until(f"{pod} reads order {order_id} again", read, timeout=60)["id"] == order_id
            print(f"{pod}: {len(refused)} answer(s) 503 before the order was read again")
    finally:
        lab("solve", LEVEL, solved)
