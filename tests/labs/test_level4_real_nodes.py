"""Level 4's canary on real worker nodes: new connections to account's Service split by pods
(kube-proxy), calls through the gateway answer (a port-forward, the page's loop), and l4-canary
fails first on a broken state (a Service that selects v1 only) that the traffic confirms.

Without Argo CD: its images (argocd, dex, redis) are not built here and nothing is pulled, so
`make lab-4`'s wait for Argo CD cannot end on these nodes (see docs/contributing/testing.md,
"Levels 3 and 4 on real nodes"). The test applies what Argo CD's first sync applies, the dev
overlay, and the canary manifest, as `make solve-4` does.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections import Counter
from urllib.request import urlopen

import pytest
from labrun import REPO_ROOT, env_for, grade, kubectl
from realnodes import load_workshop_images, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 4
SERVICES = ("gateway", "customer", "order", "account", "loadgen")
NS = ["-n", "workshop"]
CALLS = 80


@pytest.fixture(scope="module")
def canary(real_kubeconfig):
    load_workshop_images((*SERVICES, "postgres"))   # and the databases' image (level 2 on)
    kubectl(real_kubeconfig, "delete", "namespace", "workshop", "--ignore-not-found", "--wait=true", "--timeout=120s")
    kubectl(real_kubeconfig, "apply", "-k", str(REPO_ROOT / "manifests" / "overlays" / "dev"))
    kubectl(real_kubeconfig, "apply", "-f", str(REPO_ROOT / "labs" / "04-release" / "manifests" /
                                               "app-account-v2-canary.yaml"))
    kubectl(real_kubeconfig, *NS, "scale", "deployment/account", "--replicas=3")
    for name in (*SERVICES, "account-v2"):
        kubectl(real_kubeconfig, *NS, "rollout", "status", f"deployment/{name}", "--timeout=180s", timeout=240)
    yield real_kubeconfig
    kubectl(real_kubeconfig, "delete", "namespace", "workshop", "--ignore-not-found", "--wait=true", "--timeout=120s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def account_versions(kubeconfig, calls: int) -> Counter:
    """The page's loop: `kubectl port-forward svc/gateway`, then which account version each call's trace names."""
    port = free_port()
    forward = subprocess.Popen(["kubectl", *NS, "port-forward", "svc/gateway", f"{port}:8080"], env=env_for(kubeconfig),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def healthy():
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    return answer.status == 200
            except OSError:
                return forward.poll() is not None and pytest.fail(f"port-forward exited: {forward.stderr.read()}")

        wait_until("the gateway answers through the port-forward", healthy, timeout=30)
        counts: Counter = Counter()
        for _ in range(calls):
            with urlopen(f"http://127.0.0.1:{port}/api/customers/1/summary", timeout=10) as answer:
                trace = json.load(answer)["trace"]
            counts[next(hop["version"] for hop in trace if hop["service"] == "account")] += 1
        return counts
    finally:
        forward.terminate()
        forward.wait(timeout=10)
        forward.stderr.close()


# From an order pod (order may call account under the level's policies): a new connection per
# call, each one balanced by kube-proxy over the Service's endpoints. v2 adds loyalty points.
NEW_CONNECTIONS = """
import json, sys, urllib.request
for _ in range(int(sys.argv[1])):
    with urllib.request.urlopen("http://account:8080/accounts/1", timeout=5) as answer:
        print("v2" if "loyalty" in json.load(answer) else "v1")
"""


def versions_of_new_connections(kubeconfig, calls: int) -> Counter:
    done = kubectl(kubeconfig, *NS, "exec", "deployment/order", "--", "python", "-c", NEW_CONNECTIONS, str(calls))
    return Counter(done.stdout.split())


def test_the_canary_answers_a_minority_of_new_connections(canary, tmp_path):
    graded = grade(LEVEL, canary, tmp_path, "-k", "canary", "--wait", "60")
    assert graded.status("l4-canary") == "passed", graded.stdout
    # 1 pod of v2 beside 3 of v1: about a quarter. P(no v2 in 80) = 0.75**80, about 1e-10.
    counts = versions_of_new_connections(canary, CALLS)
    assert set(counts) == {"v1", "v2"} and 0 < counts["v2"] < counts["v1"], counts


def test_calls_through_the_gateway_reach_account_over_pooled_connections(canary):
    """The page's loop through the gateway: every call answers, with account in its trace. Which
    version answers is chosen per connection, not per call: order keeps pooled keep-alive
    connections to account (urllib3), so 80 calls measured here went all to v1 in one run and
    16 of 40 to v2 in another."""
    counts = account_versions(canary, CALLS)
    assert sum(counts.values()) == CALLS and set(counts) <= {"v1", "v2"}, counts


def test_a_service_that_selects_v1_only_sends_no_call_to_the_canary_and_fails_the_check(canary, tmp_path):
    kubectl(canary, *NS, "patch", "service/account", "--type=merge", "-p", '{"spec": {"selector": {"version": "v1"}}}')
    try:
        # Graded once the EndpointSlices left v2's pod out (the controller writes them).
        wait_until("account's endpoints are the 3 v1 pods only", lambda: len(kubectl(
            canary, *NS, "get", "endpointslices", "-l", "kubernetes.io/service-name=account", "-o",
            "jsonpath={.items[*].endpoints[*].targetRef.name}").stdout.split()) == 3, timeout=30)
        graded = grade(LEVEL, canary, tmp_path, "-k", "canary")
        check = graded.check("l4-canary")
        assert check["status"] == "failed", graded.stdout
        assert any(line.startswith("service/account.spec.selector.version") for line in check["mismatches"]), check
        assert f"    hint: {check['hint']}" in graded.stdout
        # kube-proxy rewrites its rules a moment after the EndpointSlice changes.
        wait_until("new connections reach v1 only", lambda: versions_of_new_connections(canary, CALLS // 2)
                   == Counter({"v1": CALLS // 2}), timeout=30, interval=1)
    finally:
        patch = json.dumps([{"op": "remove", "path": "/spec/selector/version"}])
        kubectl(canary, *NS, "patch", "service/account", "--type=json", "-p", patch)
    wait_until("account's endpoints include the canary again", lambda: len(kubectl(
        canary, *NS, "get", "endpointslices", "-l", "kubernetes.io/service-name=account", "-o",
        "jsonpath={.items[*].endpoints[*].targetRef.name}").stdout.split()) == 4, timeout=30)
    wait_until("new connections reach v2 again", lambda: "v2" in versions_of_new_connections(canary, CALLS),
               timeout=30, interval=1)
