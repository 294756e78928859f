"""Level 3 on a real API server (the sim cluster): `make lab-3` fails the checks, each broken
state fails its own check with its diff, `make solve-3` passes, `make reset-3` leaves nothing
behind; every manifest passes server-side dry-run, metrics-server's release manifest is installed.

What KWOK's sim cannot produce: CPU metrics (no kubelet, so metrics-server only seems to run).
test_level3_real_nodes.py runs it for real. The check that
reads them (l3-hpa-metrics, data_plane) is skipped by `workshop check` on the sim; its logic
is tested here on an autoscaler whose status the TEST sets, as an admin, through the status
subresource. Everything else (admission, the autoscaler's minimum, disruption budgets'
status, scheduling spread, evictions) is the real control plane's doing.

The tests of this module run in order and share the cluster's `workshop` namespace.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
from labrun import REPO_ROOT, grade, kubectl, lab

from workshop.grading import CheckFailed
from workshop.grading.kube import Cluster
from workshop.versions import all_versions

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 3
LAB = REPO_ROOT / "labs" / "03-operate"
ALL_CHECKS = {"l3-enforce-restricted", "l3-metrics-annotations", "l3-restricted-pods", "l3-loadgen-running", "l3-hpa",
              "l3-hpa-metrics", "l3-pdb", "l3-spread", "l3-default-deny", "l3-dns-egress", "l3-call-chain",
              "l3-uncordoned", "l3-healed"}
DATA_PLANE = {"l3-hpa-metrics"}
NS = ["-n", "workshop"]


@pytest.fixture
def check_marker(pytestconfig):
    """Importing a check module declares its checks with the `workshop_check` marker, which
    `workshop check` registers; register it here too (markers are strict in this suite)."""
    pytestconfig.addinivalue_line("markers", "workshop_check(spec): a self-grading check (workshop.grading.check)")


def load_checks(name: str):
    """A check module of the lab, imported as `workshop check` does (its folder on sys.path)."""
    folder = str(LAB / "checks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"level3_{name}", LAB / "checks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dry_run(kubeconfig: Path, *paths: Path) -> None:
    for path in paths:
        done = kubectl(kubeconfig, "apply", "--dry-run=server", "-f", str(path), check=False)
        assert done.returncode == 0, f"{path.relative_to(REPO_ROOT)} fails server-side dry-run:\n{done.stderr}"


def cordoned_nodes(kubeconfig: Path) -> list[str]:
    out = kubectl(kubeconfig, "get", "nodes", "-o",
                  "jsonpath={range .items[?(@.spec.unschedulable)]}{.metadata.name}{' '}{end}").stdout
    return out.split()


@pytest.fixture(scope="module")
def started(kubeconfig: Path) -> Path:
    lab("reset", LEVEL, kubeconfig)
    lab("deploy", LEVEL, kubeconfig)
    return kubeconfig


def test_every_manifest_passes_server_side_dry_run(started):
    """The starting state's namespace exists, so namespaced objects can be dry-run against it:
    admission (Pod Security on the level's own namespace labels included) and schema validation."""
    dry_run(started, *sorted((LAB / "manifests").glob("*.yaml")), *sorted((LAB / "start").glob("*.yaml")))


def test_the_starting_state_fails_what_level_3_adds(started, tmp_path, simulated):
    graded = grade(LEVEL, started, tmp_path)
    assert graded.returncode == 1, graded.stdout
    statuses = graded.by_status()
    # Level 2's app is whole, nothing is cordoned, and without any policy DNS flows: those hold
    # from the start. Everything level 3 adds fails.
    passing = {"l3-uncordoned", "l3-healed", "l3-dns-egress"}
    assert statuses["passed"] == passing, graded.stdout
    assert statuses["failed"] == ALL_CHECKS - passing - (DATA_PLANE if simulated else set()), graded.stdout
    assert ('namespace/workshop.metadata.labels."pod-security.kubernetes.io/enforce": expected "restricted", '
            "got nothing") in graded.check("l3-enforce-restricted")["mismatches"]
    assert ("deployment/loadgen.spec.template.spec.containers[name=loadgen].securityContext.allowPrivilegeEscalation: "
            "expected false, got null") in graded.check("l3-restricted-pods")["mismatches"]
    assert "horizontalpodautoscaler/gateway: expected it to exist, got nothing" in graded.check("l3-hpa")["mismatches"]
    chain = graded.check("l3-call-chain")["mismatches"]
    assert chain == ["networkpolicies in workshop: expected policies for the call chain, got none"], chain


def test_enforcing_refuses_the_unfixed_load_generator(started, tmp_path):
    """The lesson of step 1, on the real admission plugin: after enforcing, a restart of the
    unfixed loadgen creates no pod, and l3-loadgen-running says so."""
    kubectl(started, "apply", "-f", str(LAB / "manifests" / "namespace-workshop.yaml"))
    kubectl(started, *NS, "rollout", "restart", "deployment/loadgen")
    deadline = time.monotonic() + 30
    while "violates PodSecurity" not in (events := kubectl(started, *NS, "get", "events", "--field-selector",
                                                            "reason=FailedCreate", "-o", "json").stdout):
        assert time.monotonic() < deadline, "no FailedCreate event for the refused loadgen pod"
        time.sleep(0.5)
    assert '\\"restricted:latest\\"' in events or "restricted:latest" in events
    graded = grade(LEVEL, started, tmp_path, "-k", "loadgen")
    assert graded.status("l3-loadgen-running") == "failed", graded.stdout
    mismatches = graded.check("l3-loadgen-running")["mismatches"]
    assert "deployment/loadgen.status.updatedReplicas: expected 1, got 0" in mismatches, mismatches


@pytest.fixture(scope="module")
def solved(started: Path) -> Path:
    lab("solve", LEVEL, started)
    return started


def test_solve_makes_every_check_pass(solved, tmp_path, simulated):
    graded = grade(LEVEL, solved, tmp_path, "--wait", "60")
    assert graded.returncode == 0, graded.stdout
    statuses = graded.by_status()
    assert statuses["passed"] == ALL_CHECKS - (DATA_PLANE if simulated else set()), graded.stdout
    if simulated:
        assert statuses["skipped"] == DATA_PLANE
    assert graded.report["earned"] == graded.report["total"] > 0


def test_the_autoscaler_keeps_its_minimum_without_metrics(solved):
    """Real controller behaviour the page relies on: no metrics-server, yet 2 gateways."""
    # Bounded wait for the controller's own verdict (it syncs every 15 s): its desired replicas.
    deadline = time.monotonic() + 60
    while True:
        hpa = json.loads(kubectl(solved, *NS, "get", "hpa", "gateway", "-o", "json").stdout)
        status = hpa.get("status") or {}
        if status.get("desiredReplicas", 0) >= 2 or status.get("currentReplicas", 0) >= 2:
            break
        assert time.monotonic() < deadline, status
        time.sleep(1)


def ops(patch) -> list[str]:
    return ["--type", "json", "-p", json.dumps(patch)]


# Each broken state: how to break it, the checks that must fail, and a line one of them must print.
BROKEN = {
    "not-enforced": (["label", "namespace", "workshop", "pod-security.kubernetes.io/enforce-"],
                     {"l3-enforce-restricted"},
                     'namespace/workshop.metadata.labels."pod-security.kubernetes.io/enforce": expected "restricted", '
                     "got nothing"),
    "privileged-loadgen": ([*NS, "patch", "deployment/loadgen", *ops([{"op": "replace", "value": True, "path":
                            "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"}])],
                           # l3-healed too: the refused pods leave the old ones ready, the rollout stalled.
                           {"l3-restricted-pods", "l3-loadgen-running", "l3-healed"},
                           "deployment/loadgen.spec.template.spec.containers[name=loadgen].securityContext"
                           ".allowPrivilegeEscalation: expected false, got true"),
    "no-annotations": ([*NS, "patch", "deployment/customer", *ops([{"op": "remove", "path":
                        "/spec/template/metadata/annotations/prometheus.io~1scrape"}])],
                       {"l3-metrics-annotations"},
                       'deployment/customer.spec.template.metadata.annotations."prometheus.io/scrape": expected "true", '
                       "got nothing"),
    "no-hpa": ([*NS, "delete", "hpa", "gateway"], {"l3-hpa"},
               "horizontalpodautoscaler/gateway: expected it to exist, got nothing"),
    "no-pdb": ([*NS, "delete", "pdb", "order"], {"l3-pdb"},
               "poddisruptionbudget selecting app=order: expected one, got none"),
    "one-replica": ([*NS, "scale", "deployment/customer", "--replicas=1"], {"l3-pdb", "l3-spread"},
                    "deployment/customer.spec.replicas: expected 2 or more, got 1"),
    "no-dns": ([*NS, "delete", "networkpolicy", "allow-dns"], {"l3-dns-egress"},
               'traffic gateway → kube-dns:53/UDP: expected "allowed", got "denied (egress from gateway: isolated by '
               'networkpolicy/default-deny, networkpolicy/gateway, no rule allows it)"'),
    "no-default-deny": ([*NS, "delete", "networkpolicy", "default-deny"], {"l3-default-deny"},
                        'traffic outsider → newcomer: expected "denied (a pod no policy names gets no traffic)", got '
                        '"allowed (egress of outsider: no policy isolates it; ingress of newcomer: no policy isolates '
                        'it)"'),
    "account-open-to-all": ([*NS, "patch", "networkpolicy/account", *ops([{"op": "replace", "value": {}, "path":
                             "/spec/ingress/0/from/0/podSelector"}])],
                            {"l3-call-chain"},
                            'traffic gateway → account: expected "denied", got "allowed (ingress of account: allowed by '
                            'networkpolicy/account)"'),
    "cordoned": (["cordon", "workshop-worker"], {"l3-uncordoned"},
                 "node/workshop-worker.spec.unschedulable: expected not set, got true"),
}


# What to wait for after a breakage before grading: the broken state must exist, not only be
# asked for (the refused pods' condition, the scale-down done), or the check grades the old state.
SETTLE = {
    "privileged-loadgen": [*NS, "wait", "deployment/loadgen", "--for=condition=ReplicaFailure", "--timeout=60s"],
    "one-replica": [*NS, "rollout", "status", "deployment/customer", "--timeout=120s"],
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_state_fails_its_check_with_hint_and_diff(name, solved, tmp_path, simulated):
    breakage, failing, says = BROKEN[name]
    if name == "cordoned" and not simulated:
        pytest.skip("cordons a node of the sim by name")
    kubectl(solved, *breakage)
    try:
        if name in SETTLE:
            kubectl(solved, *SETTLE[name])
        graded = grade(LEVEL, solved, tmp_path)
        assert graded.returncode == 1, graded.stdout
        assert graded.by_status()["failed"] == failing, graded.stdout
        found = [line for check_id in failing for line in graded.check(check_id)["mismatches"]]
        assert says in found, f"{says!r} not in {found}"
        for check_id in failing:
            assert f"    hint: {graded.check(check_id)['hint']}" in graded.stdout
    finally:
        lab("solve", LEVEL, solved)  # back to the solution for the next breakage


def test_after_the_breakages_solve_passes_again(solved, tmp_path):
    graded = grade(LEVEL, solved, tmp_path, "--wait", "60")
    assert graded.returncode == 0, graded.stdout


def test_draining_a_node_respects_the_budgets_and_the_app_heals(solved, tmp_path, simulated):
    """The drill of step 5, with real evictions: KWOK deletes the evicted pods, the
    ReplicaSets replace them on the other nodes, every budget holds throughout."""
    if not simulated:
        pytest.skip("drains a node of the sim by name")
    node = "workshop-worker2"
    try:
        kubectl(solved, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s", timeout=180)
        pods = json.loads(kubectl(solved, *NS, "get", "pods", "-o", "json").stdout)["items"]
        assert not [pod["metadata"]["name"] for pod in pods if pod["spec"].get("nodeName") == node
                    and not pod["metadata"].get("deletionTimestamp")]
        graded = grade(LEVEL, solved, tmp_path, "-k", "uncordoned or healed", "--wait", "60")
        assert graded.status("l3-healed") == "passed", graded.stdout
        assert graded.status("l3-uncordoned") == "failed", graded.stdout
    finally:
        kubectl(solved, "uncordon", node)


def set_status(kubeconfig: Path, cluster: Cluster, status: dict) -> None:
    """Write the autoscaler's status as the TEST (an admin), and read it back through the
    checker's cluster. The real controller rewrites it every 15 s: if it did so in between,
    write it again."""
    for _ in range(3):
        kubectl(kubeconfig, *NS, "patch", "hpa", "gateway", "--subresource=status", "--type=merge",
                "-p", json.dumps(status))
        cluster.refresh()
        hpa = cluster.get("HorizontalPodAutoscaler", "gateway", "workshop")
        if hpa["status"].get("currentMetrics") == status["status"]["currentMetrics"]:
            return
    pytest.fail("the autoscaler's status kept being rewritten before it could be read")


def test_autoscaler_metrics_check_passes_only_on_measured_cpu(solved, kubeconfig, check_marker):
    """l3-hpa-metrics needs metrics-server (data_plane): on the sim, the real autoscaler says it
    cannot get metrics, and the check must fail on that; then the TEST (an admin, never the
    checker) writes the status a metrics-server would produce, and the check must pass."""
    checks = load_checks("check_03_autoscaling")
    cluster = Cluster.connect(kubeconfig=str(kubeconfig))
    try:
        deadline = time.monotonic() + 40
        while True:  # the controller's own verdict first: no metrics on the sim
            cluster.refresh()
            hpa = cluster.get("HorizontalPodAutoscaler", "gateway", "workshop")
            conditions = {item["type"]: item for item in (hpa.get("status") or {}).get("conditions") or []}
            if "ScalingActive" in conditions:
                break
            assert time.monotonic() < deadline, f"the autoscaler never reported ScalingActive: {hpa.get('status')}"
            time.sleep(1)
        assert conditions["ScalingActive"]["status"] == "False", conditions["ScalingActive"]
        with pytest.raises(CheckFailed) as failed:
            checks.check_hpa_metrics(cluster, "workshop")
        assert "horizontalpodautoscaler/gateway.status.conditions" in str(failed.value), str(failed.value)

        measured = {"status": {"currentReplicas": 2, "desiredReplicas": 2, "currentMetrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 42,
                                                                                      "averageValue": "21m"}}}],
                    "conditions": [
                        {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                         "lastTransitionTime": "2026-01-01T00:00:00Z"},
                        {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
        set_status(kubeconfig, cluster, measured)
        checks.check_hpa_metrics(cluster, "workshop")  # raises if it does not pass

        without_value = json.loads(json.dumps(measured))
        without_value["status"]["currentMetrics"][0]["resource"]["current"] = {"averageValue": "21m"}
        set_status(kubeconfig, cluster, without_value)
        with pytest.raises(CheckFailed, match="currentMetrics: expected a measured cpu averageUtilization"):
            checks.check_hpa_metrics(cluster, "workshop")
    finally:
        cluster.close()


def test_solve_installs_metrics_server_from_its_release_manifest(solved):
    """lab.sh applies the release's components.yaml as on kind (on the sim, labrun points
    METRICS_SERVER_MANIFEST at the same file, made from the pinned module by releases.py) and
    adds --kubelet-insecure-tls. KWOK only pretends to run it, so its tests get the file without the
    APIService (releases.without_aggregated_api, a named stand-in): an aggregated API no pod serves
    would block every namespace deletion. The real-node tests use the whole file (`kubectl top`)."""
    deployment = json.loads(kubectl(solved, "-n", "kube-system", "get", "deployment", "metrics-server", "-o",
                                    "json").stdout)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    version = all_versions()["METRICS_SERVER_VERSION"]
    assert container["image"] == f"registry.k8s.io/metrics-server/metrics-server:{version}"
    assert "--kubelet-insecure-tls" in container["args"]
    assert kubectl(solved, "get", "apiservice", "v1beta1.metrics.k8s.io", check=False).returncode != 0


def test_reset_leaves_nothing_behind(solved, tmp_path):
    lab("reset", LEVEL, solved)
    gone = kubectl(solved, "get", "namespace", "workshop", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert cordoned_nodes(solved) == []
    assert kubectl(solved, "-n", "kube-system", "get", "deployment", "metrics-server", check=False).returncode != 0
    assert kubectl(solved, "get", "apiservice", "v1beta1.metrics.k8s.io", check=False).returncode != 0
