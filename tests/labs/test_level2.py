"""Level 2 on a real API server (the sim cluster): the checks fail on the starting state and on
a broken state per step — naming the thing, with its hint and diff — pass after `make solve-2`,
and `make reset-2` leaves nothing behind. Exit status 2 without a cluster, without permission,
and without a CRD.

The tests of this module run in order and share the cluster's `workshop` namespace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from labrun import REPO_ROOT, grade, kubectl, lab, token_kubeconfig

from workshop.waits import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 2
ALL_CHECKS = {"l2-settings", "l2-images", "l2-databases", "l2-state", "l2-available", "l2-probes", "l2-resources", "l2-security", "l2-services",
              "l2-scaled", "l2-rolled-out-v2", "l2-rolled-back", "l2-gateway-http"}
DATA_PLANE = {"l2-gateway-http"}
NS = ["-n", "workshop"]


def rollouts_done(kubeconfig: Path) -> None:
    for name in ("gateway", "customer", "order", "account"):
        kubectl(kubeconfig, *NS, "rollout", "status", f"deployment/{name}", "--timeout=180s")


@pytest.fixture(scope="module")
def started(kubeconfig: Path) -> Path:
    """The starting state of `make lab-2`, with its pods started."""
    lab("reset", LEVEL, kubeconfig)
    lab("deploy", LEVEL, kubeconfig)
    rollouts_done(kubeconfig)
    return kubeconfig


def test_the_starting_state_fails_exactly_where_the_gaps_are(started, tmp_path, simulated):
    graded = grade(LEVEL, started, tmp_path)
    assert graded.returncode == 1, graded.stdout
    statuses = graded.by_status()
    assert statuses["failed"] == {"l2-probes", "l2-services", "l2-scaled", "l2-rolled-out-v2", "l2-rolled-back"}
    assert statuses["passed"] == {"l2-settings", "l2-images", "l2-databases", "l2-state", "l2-available",
                                  "l2-resources", "l2-security"}
    if simulated:
        assert statuses["skipped"] == DATA_PLANE
    probes = graded.check("l2-probes")
    assert probes["mismatches"] == [
        'deployment/account.spec.template.spec.containers[name=account].readinessProbe: expected '
        '{"httpGet": {"path": "/readyz", "port": "http"}}, got nothing',
        'deployment/account.spec.template.spec.containers[name=account].livenessProbe: expected '
        '{"httpGet": {"path": "/healthz", "port": "http"}}, got nothing']
    services = graded.check("l2-services")
    assert services["mismatches"] == [
        'service/order.spec.selector: expected labels the pods of deployment/order carry: app=order, version=v1, '
        'got {"app": "orders"}']
    # The learner sees the check's line, then its hint, then the diff.
    lines = graded.stdout.splitlines()
    at = next(index for index, line in enumerate(lines) if line.startswith("✗ l2-services"))
    # The hint names the Service that failed and the value it has, not a general advice.
    assert lines[at + 1].startswith("    hint: service/order.spec.selector (app=orders) selects none of "
                                    "deployment/order's pods"), lines[at + 1]
    assert lines[at + 2].startswith("    service/order.spec.selector: expected")
    assert graded.stdout.splitlines()[0].startswith("Grading level 2 (Orchestrate) on context ")
    assert "Score: " in graded.stdout and "Next: " in graded.stdout


@pytest.fixture(scope="module")
def solved(started: Path) -> Path:
    lab("solve", LEVEL, started)
    return started


def test_solve_makes_every_check_pass(solved, tmp_path, simulated):
    graded = grade(LEVEL, solved, tmp_path, "--wait", "30")
    assert graded.returncode == 0, graded.stdout
    statuses = graded.by_status()
    assert statuses["passed"] == ALL_CHECKS - (DATA_PLANE if simulated else set())
    if simulated:
        assert "skipped: needs a real cluster" in graded.stdout
    assert graded.report["earned"] == graded.report["total"] > 0


def test_one_list_per_kind_per_run(solved, tmp_path):
    graded = grade(LEVEL, solved, tmp_path)
    assert graded.returncode == 0, graded.stdout
    # /version, then one LIST each: ConfigMap, Secret, Deployment, StatefulSet, PersistentVolumeClaim, Service,
    # EndpointSlice, ReplicaSet, Node.
    assert graded.report["api_requests"] <= 10, graded.report["api_requests"]


def patch(kind_name: str, patch_ops, kind: str = "json") -> list[str]:
    return [*NS, "patch", kind_name, "--type", kind, "-p", json.dumps(patch_ops)]


# Each broken state: how to break it, the checks that must fail, and a piece of what they must say.
BROKEN = {
    "settings": (patch("configmap/workshop-settings", [{"op": "remove", "path": "/data/OUTBOUND_TIMEOUT_SECONDS"}]),
                 {"l2-settings"}, 'configmap/workshop-settings.data.OUTBOUND_TIMEOUT_SECONDS: expected "2.0", got nothing'),
    "image": ([*NS, "set", "image", "deployment/customer", "customer=localhost/workshop/customer:latest"],
              {"l2-images"}, 'deployment/customer.spec.template.spec.containers[name=customer].image: '
                             'expected "localhost/workshop/customer:dev", got "localhost/workshop/customer:latest"'),
    # A ServiceAccount that does not exist: the new ReplicaSet cannot create its pod, the rollout stalls.
    "stalled": (patch("deployment/customer", {"spec": {"template": {"spec": {"serviceAccountName": "nobody"}}}},
                      kind="merge"),
                {"l2-available"}, "deployment/customer.status.updatedReplicas: expected 1, got 0"),
    "probes": (patch("deployment/customer", [{"op": "remove", "path": "/spec/template/spec/containers/0/livenessProbe"}]),
               {"l2-probes"}, "deployment/customer.spec.template.spec.containers[name=customer].livenessProbe: "
                              'expected {"httpGet": {"path": "/healthz", "port": "http"}}, got nothing'),
    "resources": (patch("deployment/gateway", [{"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits"}]),
                  {"l2-resources"}, "deployment/gateway.spec.template.spec.containers[name=gateway].resources.limits: "
                                    'expected {"memory": "(any value)"}, got nothing'),
    "security": (patch("deployment/order", [{"op": "replace", "value": False, "path":
                                             "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"}]),
                 {"l2-security"}, "deployment/order.spec.template.spec.containers[name=order].securityContext"
                                  ".readOnlyRootFilesystem: expected true, got false"),
    "selector": (patch("service/customer", {"spec": {"selector": {"app": "customers"}}}, kind="merge"),
                 {"l2-services"}, 'service/customer.spec.selector: expected labels the pods of deployment/customer '
                                  'carry: app=customer, version=v1, got {"app": "customers"}'),
    "scale": ([*NS, "scale", "deployment/account", "--replicas=1"],
              {"l2-scaled"}, "deployment/account.spec.replicas: expected 2 or more, got 1"),
    # The database's pods gone (its claim stays): order has nowhere to keep orders.
    "database-scaled-to-0": ([*NS, "scale", "statefulset/order-db", "--replicas=0"],
                             {"l2-databases"}, "statefulset/order-db.spec.replicas: expected 1 or more, got 0"),
    # Back to SQLite in each pod: every replica its own data, lost with the pod.
    "no-database-url": ([*NS, "set", "env", "deployment/account", "DATABASE_URL-"],
                        {"l2-state"}, "deployment/account.spec.template.spec.containers[name=account]"
                                      '.env[name=DATABASE_URL]: expected "postgresql://account@account-db:5432/account", '
                                      "got nothing"),
    "data-in-empty-dir": (patch("deployment/customer", [
        {"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "data", "emptyDir": {}}},
        {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts/-",
         "value": {"name": "data", "mountPath": "/data"}}]),
        {"l2-state"}, 'deployment/customer.spec.template.spec.containers[name=customer].volumeMounts[name=data]: '
                      'expected no emptyDir for the data, got "emptyDir at /data"'),
    "not-rolled-back": (["apply", "-f", str(REPO_ROOT / "labs/02-orchestrate/steps/app-account-v2.yaml")],
                        {"l2-rolled-back"},
                        'deployment/account.spec.template.metadata.labels.version: expected "v1", got "v2"'),
}


# What to wait for after a breakage, so that only the broken thing differs (not a rollout in flight).
SETTLE = {
    "image": [*NS, "rollout", "status", "deployment/customer", "--timeout=120s"],
    "probes": [*NS, "rollout", "status", "deployment/customer", "--timeout=120s"],
    "resources": [*NS, "rollout", "status", "deployment/gateway", "--timeout=120s"],
    "security": [*NS, "rollout", "status", "deployment/order", "--timeout=120s"],
    "not-rolled-back": [*NS, "rollout", "status", "deployment/account", "--timeout=120s"],
    "stalled": [*NS, "wait", "deployment/customer", "--for=condition=ReplicaFailure", "--timeout=60s"],
    "scale": [*NS, "rollout", "status", "deployment/account", "--timeout=120s"],
    "database-scaled-to-0": [*NS, "wait", "pod/order-db-0", "--for=delete", "--timeout=120s"],
    "no-database-url": [*NS, "rollout", "status", "deployment/account", "--timeout=120s"],
    "data-in-empty-dir": [*NS, "rollout", "status", "deployment/customer", "--timeout=120s"],
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_state_fails_its_check_with_hint_and_diff(name, solved, tmp_path):
    breakage, failing, says = BROKEN[name]
    kubectl(solved, *breakage)
    try:
        if name in SETTLE:
            kubectl(solved, *SETTLE[name])
        graded = grade(LEVEL, solved, tmp_path)
        assert graded.returncode == 1, graded.stdout
        assert graded.by_status()["failed"] == failing, graded.stdout
        [check_id] = failing
        check = graded.check(check_id)
        assert says in check["mismatches"], f"{says!r} not in {check['mismatches']}"
        assert f"    hint: {check['hint']}" in graded.stdout
        if name == "stalled":  # diagnostics: the condition that says why, with its message
            assert any("condition ReplicaFailure=True (FailedCreate)" in line and "nobody" in line
                       for line in check["diagnostics"]), check["diagnostics"]
    finally:
        lab("solve", LEVEL, solved)  # back to the solution for the next breakage


def unscheduled(kubeconfig: Path, pod: str, old_uid: str) -> bool:
    """True once ``pod`` was made again (another uid) and the scheduler said it fits no node."""
    done = kubectl(kubeconfig, *NS, "get", "pod", pod, "-o", "json", check=False)
    if done.returncode != 0:  # not made again yet
        return False
    made = json.loads(done.stdout)
    conditions = made["status"].get("conditions") or []
    return made["metadata"]["uid"] != old_uid and any(
        c["type"] == "PodScheduled" and c["status"] == "False" for c in conditions)


def test_a_cluster_without_the_storage_label_is_told_which_node_to_label(solved, tmp_path):
    """A cluster made before kind-cluster.yaml labelled the storage worker: the database's new pod
    fits no node, and l2-databases names the selector and the label that fixes it."""
    kubectl(solved, "label", "node", "workshop-worker2", "workshop/storage-")
    try:
        old_uid = kubectl(solved, *NS, "get", "pod", "order-db-0", "-o", "jsonpath={.metadata.uid}").stdout
        # No --wait: its watch can miss a pod the StatefulSet makes again under the same name.
        kubectl(solved, *NS, "delete", "pod", "order-db-0", "--wait=false")
        wait_until("order-db-0 is made again and fits no node", lambda: unscheduled(solved, "order-db-0", old_uid),
                   120)
        graded = grade(LEVEL, solved, tmp_path, "-k", "databases")
        assert graded.status("l2-databases") == "failed", graded.stdout
        check = graded.check("l2-databases")
        assert ('statefulset/order-db.spec.template.spec.nodeSelector: expected a node with these labels, '
                'got {"workshop/storage": "local"}') in check["mismatches"], check["mismatches"]
        assert "kubectl label node workshop-worker2 workshop/storage=local" in graded.stdout
    finally:
        kubectl(solved, "label", "node", "workshop-worker2", "workshop/storage=local", "--overwrite")
    kubectl(solved, *NS, "rollout", "status", "statefulset/order-db", "--timeout=180s")


def test_after_the_breakages_solve_passes_again(solved, tmp_path):
    graded = grade(LEVEL, solved, tmp_path, "--wait", "30")
    assert graded.returncode == 0, graded.stdout


def test_an_identity_that_may_not_read_exits_2(solved, tmp_path):
    kubectl(solved, "-n", "default", "create", "serviceaccount", "grading-nobody")
    try:
        token = kubectl(solved, "-n", "default", "create", "token", "grading-nobody", "--duration=10m").stdout.strip()
        graded = grade(LEVEL, token_kubeconfig(solved, token, tmp_path / "nobody.yaml"), tmp_path)
        assert graded.returncode == 2, graded.stdout
        assert "403 Forbidden" in graded.stdout and "workshop/grading/rbac.yaml" in graded.stdout
    finally:
        kubectl(solved, "-n", "default", "delete", "serviceaccount", "grading-nobody", "--wait=false")


def test_a_missing_crd_exits_2_with_the_lab_to_run(solved, tmp_path):
    # The sim serves Istio's and Knative's CRDs but not Argo CD's.
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "check_gitops.py").write_text(
        "from workshop.grading import check\n\n"
        "@check(id='t-app', title='the app is synced by Argo CD', hint='Create the Application', timeout=30)\n"
        "def check_app(cluster):\n"
        "    assert cluster.get('Application', 'workshop', 'argocd') is not None\n")
    graded = grade(4, solved, tmp_path, "--checks", str(checks))
    assert graded.returncode == 2, graded.stdout
    assert "Argo CD is not installed in this cluster: run make lab-4." in graded.stdout
    assert graded.seconds < 20, "a missing CRD must not wait for the check's timeout"


def test_an_unreachable_cluster_exits_2(tmp_path, solved):
    config = yaml.safe_load(solved.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    (tmp_path / "gone.yaml").write_text(yaml.safe_dump(config))
    graded = grade(LEVEL, tmp_path / "gone.yaml", tmp_path)
    assert graded.returncode == 2
    assert "Cannot reach the Kubernetes API server at https://127.0.0.1:1" in graded.stdout


def test_reset_leaves_nothing_behind(solved, tmp_path, simulated):
    lab("reset", LEVEL, solved)
    gone = kubectl(solved, "get", "namespace", "workshop", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    leftovers = kubectl(solved, "get", "clusterroles,clusterrolebindings,namespaces", "-l", "app.kubernetes.io/part-of=workshop",
                        "-o", "name").stdout.split()
    assert [name for name in leftovers if "workshop-checker" not in name] == []
    graded = grade(LEVEL, solved, tmp_path)
    assert graded.returncode == 1, "with nothing deployed, every check fails (it does not error)"
    assert graded.by_status()["failed"] == ALL_CHECKS - (DATA_PLANE if simulated else set())
    assert "deployment/account: expected it to exist, got nothing" in graded.stdout
