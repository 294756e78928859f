"""Level 3 on real worker nodes: metrics-server really measures, the autoscaler reads real CPU,
probes restart a container, a drain moves pods to the other node under the budgets, a
broken rollout heals, and the network policies really drop the calls they forbid. Every check
runs, the data-plane one included (on KWOK's fake nodes l3-hpa-metrics is skipped as "needs a
real cluster"), and fails first on a broken state a learner meets, with the hint the learner reads.

metrics-server is the release's own components.yaml (made from the pinned module by
workshop/sim/releases.py; labrun points METRICS_SERVER_MANIFEST at it) and its image, under
the release's name, is in the nodes from `sim up` on, as a kind node pulls it.

The tests of this module run in order and share the cluster's `workshop` namespace.
"""

from __future__ import annotations

import json
import re

import pytest
from labrun import REPO_ROOT, grade, kubectl, lab
from realnodes import load_workshop_images, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 3
LAB = REPO_ROOT / "labs" / "03-operate"
SERVICES = ("gateway", "customer", "order", "account", "loadgen")
NS = ["-n", "workshop"]
ALL_CHECKS = {"l3-enforce-restricted", "l3-metrics-annotations", "l3-restricted-pods", "l3-loadgen-running", "l3-hpa",
              "l3-hpa-metrics", "l3-pdb", "l3-spread", "l3-default-deny", "l3-dns-egress", "l3-call-chain",
              "l3-uncordoned", "l3-healed"}


@pytest.fixture(scope="module")
def cluster(real_kubeconfig):
    load_workshop_images((*SERVICES, "postgres"))   # and the databases' image (level 2 on)
    lab("reset", LEVEL, real_kubeconfig)
    yield real_kubeconfig
    lab("reset", LEVEL, real_kubeconfig)


@pytest.fixture(scope="module")
def started(cluster):
    lab("deploy", LEVEL, cluster)
    return cluster


def hpa_condition(kubeconfig, kind: str) -> dict | None:
    hpa = json.loads(kubectl(kubeconfig, *NS, "get", "hpa", "gateway", "-o", "json").stdout)
    return next((item for item in (hpa.get("status") or {}).get("conditions") or [] if item["type"] == kind), None)


def test_without_metrics_server_the_autoscaler_reads_nothing_and_the_check_says_why(started, tmp_path):
    """The learner's broken state: the autoscaler applied, metrics-server not installed yet."""
    kubectl(started, "apply", "-f", str(LAB / "manifests" / "hpa-gateway.yaml"))
    # The controller's own verdict (it syncs every 15 s), then the grade.
    condition = wait_until("the autoscaler reports ScalingActive", lambda: hpa_condition(started, "ScalingActive"),
                           timeout=60)
    assert condition["status"] == "False" and condition["reason"] == "FailedGetResourceMetric", condition
    assert "metrics.k8s.io" in condition["message"], condition
    graded = grade(LEVEL, started, tmp_path, "-k", "hpa_metrics")
    check = graded.check("l3-hpa-metrics")
    assert check["status"] == "failed", graded.stdout
    assert any(line.startswith("horizontalpodautoscaler/gateway.status.conditions") for line in check["mismatches"])
    assert f"    hint: {check['hint']}" in graded.stdout and "install it (see the page)" in check["hint"]


def gateway_calls(kubeconfig, service: str):
    """The page's "Prove it" command, from a gateway pod: GET /healthz of ``service`` with a 3 s timeout."""
    return kubectl(kubeconfig, *NS, "exec", "deployment/gateway", "--", "python", "-c",
                   f"import urllib.request as u; print(u.urlopen('http://{service}:8080/healthz', timeout=3).status)",
                   check=False, timeout=60)


def test_without_the_policies_the_gateway_reaches_customer_and_account(started):
    """Before step 4: nothing is isolated, so the call step 4 forbids still answers."""
    for service in ("customer", "account"):
        done = gateway_calls(started, service)
        assert done.returncode == 0 and done.stdout.strip() == "200", (service, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def solved(started):
    lab("solve", LEVEL, started)
    return started


def test_the_policies_are_enforced_customer_answers_and_account_times_out(solved):
    """Step 4's "Prove it", as the page shows it: the cluster's CNI (kindnet's kube-network-policies on
    kind, the same controller on the real-node sim: workshop/sim/netpol.py) drops gateway → account."""
    allowed = wait_until("the gateway reaches customer under the policies",
                         lambda: (done := gateway_calls(solved, "customer")).returncode == 0 and done, timeout=60)
    assert allowed.stdout.strip() == "200", allowed.stdout + allowed.stderr
    denied = gateway_calls(solved, "account")
    assert denied.returncode == 1 and "TimeoutError: timed out" in denied.stderr, denied.stdout + denied.stderr
    assert "command terminated with exit code 1" in denied.stderr, denied.stderr


def test_solve_passes_every_check_with_the_data_plane_for_real(solved, tmp_path):
    # The autoscaler reads CPU once metrics-server has scraped twice (15 s resolution).
    graded = grade(LEVEL, solved, tmp_path, "--wait", "120", timeout=300)
    assert graded.by_status() == {"passed": ALL_CHECKS}, graded.stdout


def test_metrics_server_runs_the_release_image_on_a_real_node(solved):
    pods = json.loads(kubectl(solved, "-n", "kube-system", "get", "pods", "-l", "k8s-app=metrics-server", "-o",
                              "json").stdout)["items"]
    running = [status for pod in pods for status in pod["status"].get("containerStatuses", [])
               if status.get("ready") and "running" in status.get("state", {})]
    assert running and running[0]["image"].startswith("registry.k8s.io/metrics-server/metrics-server:"), running
    assert pods[0]["spec"]["nodeName"] in ("workshop-worker", "workshop-worker2")


def test_kubectl_top_pods_shows_measured_cpu_and_memory(solved):
    """The page's `kubectl top pods -n workshop`, answered by metrics-server from the kubelets."""
    def top():
        # A pod appears once metrics-server has scraped it twice (15 s apart): solve restarted some.
        done = kubectl(solved, "top", "pods", *NS, "--no-headers", check=False)
        rows = [line.split() for line in done.stdout.splitlines()] if done.returncode == 0 else []
        return rows if {row[0].rsplit("-", 2)[0] for row in rows} >= set(SERVICES) else None

    rows = wait_until("kubectl top pods shows a pod of every service", top, timeout=90, interval=2)
    out = "\n".join(" ".join(row) for row in rows)
    for name, cpu, memory in rows:
        assert re.fullmatch(r"\d+m", cpu) and re.fullmatch(r"\d+Mi", memory), out
        assert int(memory[:-2]) > 5, f"{name}: {memory} is not a Python service's memory"


def test_the_autoscaler_reads_the_gateways_real_cpu(solved):
    def measured():
        hpa = json.loads(kubectl(solved, *NS, "get", "hpa", "gateway", "-o", "json").stdout)
        for metric in (hpa.get("status") or {}).get("currentMetrics") or []:
            current = (metric.get("resource") or {}).get("current") or {}
            if current.get("averageUtilization") is not None:
                return current
        return None

    current = wait_until("the autoscaler reports the gateway's measured CPU", measured, timeout=90, interval=2)
    assert re.fullmatch(r"\d+m?", str(current["averageValue"])), current
    assert hpa_condition(solved, "ScalingActive")["status"] == "True"


def restore(kubeconfig, name: str) -> None:
    """The learner's own fix, quicker than a whole `make solve-3`: the level's manifest again."""
    kubectl(kubeconfig, "apply", "-f", str(LAB / "manifests" / f"app-{name}.yaml"))
    kubectl(kubeconfig, *NS, "rollout", "status", f"deployment/{name}", "--timeout=180s", timeout=240)


def test_a_failing_liveness_probe_restarts_the_container(solved):
    """The kubelet runs the probes: a liveness probe on a path that answers 404 restarts the container."""
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/livenessProbe/httpGet/path",
              "value": "/no-such-path"}]
    kubectl(solved, *NS, "patch", "deployment/order", "--type=json", "-p", json.dumps(patch))
    try:
        def restarted():
            pods = json.loads(kubectl(solved, *NS, "get", "pods", "-l", "app=order", "-o", "json").stdout)["items"]
            return [pod for pod in pods if pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"]
                    == "/no-such-path" and any(s.get("restartCount", 0) >= 1
                                               for s in pod["status"].get("containerStatuses", []))]

        pod = wait_until("a container of order is restarted by its liveness probe", restarted, timeout=120, interval=2)[0]
        events = kubectl(solved, *NS, "get", "events", "--field-selector",
                         f"involvedObject.name={pod['metadata']['name']}", "-o", "json").stdout
        assert "Liveness probe failed: HTTP probe failed with statuscode: 404" in events, events
        assert "failed liveness probe, will be restarted" in events, events
    finally:
        restore(solved, "order")


def test_an_image_that_is_not_in_the_nodes_stalls_the_rollout_and_fails_healed(solved, tmp_path):
    """A typo in an image name: the new pod cannot start (kind's ErrImagePull), the old ones keep
    serving, the rollout never ends. l3-healed fails with its hint; undoing the rollout heals."""
    kubectl(solved, *NS, "set", "image", "deployment/account", "account=localhost/workshop/acount:dev")
    try:
        def stuck():
            pods = json.loads(kubectl(solved, *NS, "get", "pods", "-l", "app=account", "-o", "json").stdout)["items"]
            return [status["state"]["waiting"] for pod in pods for status in pod["status"].get("containerStatuses", [])
                    if (status.get("state") or {}).get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff",
                                                                                        "ErrImageNeverPull")]

        waiting = wait_until("the new account pod cannot get its image", stuck, timeout=60)[0]
        assert "localhost/workshop/acount:dev" in waiting.get("message", ""), waiting
        graded = grade(LEVEL, solved, tmp_path, "-k", "healed")
        check = graded.check("l3-healed")
        assert check["status"] == "failed", graded.stdout
        assert "deployment/account.status.updatedReplicas: expected 2, got 1" in check["mismatches"], check
        assert f"    hint: {check['hint']}" in graded.stdout
        kubectl(solved, *NS, "rollout", "undo", "deployment/account")
        kubectl(solved, *NS, "rollout", "status", "deployment/account", "--timeout=120s")
        graded = grade(LEVEL, solved, tmp_path, "-k", "healed", "--wait", "60")
        assert graded.status("l3-healed") == "passed", graded.stdout
    finally:
        restore(solved, "account")


def test_a_deleted_pod_is_replaced_by_a_new_one_that_runs(solved):
    """The drill's first half, as the page does it."""
    def account_pods():
        return json.loads(kubectl(solved, *NS, "get", "pods", "-l", "app=account", "-o", "json").stdout)["items"]

    # A pod an earlier test's rollout left Terminating is on its way out: deleting it again makes no new one.
    kubectl(solved, *NS, "rollout", "status", "deployment/account", "--timeout=120s")
    before = {pod["metadata"]["name"] for pod in account_pods()}
    victim = next(pod["metadata"]["name"] for pod in account_pods() if not pod["metadata"].get("deletionTimestamp"))
    kubectl(solved, *NS, "delete", "pod", victim)
    kubectl(solved, *NS, "rollout", "status", "deployment/account", "--timeout=120s")

    def fresh_and_ready():
        return [pod for pod in account_pods() if pod["metadata"]["name"] not in before
                and all(status["ready"] for status in pod["status"].get("containerStatuses") or [{"ready": False}])]

    fresh = wait_until("a new account pod replaces the deleted one and is ready", fresh_and_ready, timeout=120, interval=2)
    assert len(fresh) == 1, fresh


def test_draining_a_node_moves_its_pods_under_the_budgets(solved, tmp_path):
    """The drill's second half: every pod of workshop-worker is evicted and runs again on
    workshop-worker2, no budget is broken, and the checks see the cordon left behind."""
    node, other = "workshop-worker", "workshop-worker2"
    try:
        done = kubectl(solved, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=180s",
                       timeout=240)
        assert f"node/{node} drained" in done.stdout, done.stdout
        for name in SERVICES:
            kubectl(solved, *NS, "rollout", "status", f"deployment/{name}", "--timeout=120s")
        pods = json.loads(kubectl(solved, *NS, "get", "pods", "-o", "json").stdout)["items"]
        live = [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]
        assert {pod["spec"]["nodeName"] for pod in live} == {other}, [(p["metadata"]["name"], p["spec"]["nodeName"])
                                                                      for p in live]
        assert all(status["ready"] for pod in live for status in pod["status"]["containerStatuses"])
        graded = grade(LEVEL, solved, tmp_path, "-k", "uncordoned or healed or spread", "--wait", "30")
        assert graded.status("l3-healed") == "passed", graded.stdout
        assert graded.status("l3-uncordoned") == "failed", graded.stdout
        assert f"node/{node}.spec.unschedulable: expected not set, got true" in graded.check("l3-uncordoned")[
            "mismatches"]
        assert graded.status("l3-spread") == "failed", graded.stdout  # every pod on one node now
    finally:
        kubectl(solved, "uncordon", node)
    lab("solve", LEVEL, solved)  # spreads the pods again, as the page's rollout restart does
    graded = grade(LEVEL, solved, tmp_path, "-k", "uncordoned or healed or spread", "--wait", "60")
    assert set(graded.by_status()) == {"passed"}, graded.stdout
