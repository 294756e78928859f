"""Level 6 on a real API server (the sim cluster): `make lab-6` → the checks fail → `make solve-6`
→ they pass → `make reset-6` leaves nothing behind.

The sim holds Knative Serving's real CRDs (so every manifest is validated by Knative's own
schemas) but runs no Knative controller: no Revision is ever created and no status written.
Where a check reads what only a controller writes (Ready, Revisions, status.traffic), this
test plays Knative's part, writing objects and statuses shaped like the pinned Knative's
(knative.dev/serving, pkg/apis/serving/v1: *_lifecycle.go, route_types.go) through the
status subresource. Those checks are proven on a real Knative by the page, not here.

The tests of this module run in order and share the cluster's `serverless` namespace.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labrun import grade, kubectl, lab

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEVEL = 6
NAMESPACE = "serverless"
GROUP, VERSION = "serving.knative.dev", "v1"
DOMAIN = "127.0.0.1.sslip.io"
ALL_CHECKS = {"l6-configured", "l6-controllers", "l6-ready", "l6-scale-to-zero", "l6-revisions", "l6-traffic",
              "l6-concurrency", "l6-loadgen"}
NEEDS_A_REAL_CLUSTER = {"l6-controllers"}
# What only Knative's controllers can make true: they fail on the sim until this test plays them.
NEEDS_KNATIVE_STATUS = {"l6-ready", "l6-revisions", "l6-traffic"}


# --- Knative's part, played by the test ---------------------------------------------------------
def condition(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict:
    item = {"type": kind, "status": status, "lastTransitionTime": "2026-11-21T22:00:00Z"}
    if reason:
        item |= {"reason": reason, "message": message}
    return item


def custom(api_client):
    from kubernetes import client

    return client.CustomObjectsApi(api_client)


def create_revision(api_client, service: dict, name: str, generation: int, ready: tuple = ("True", "", "")) -> None:
    """A Revision as Knative's Configuration controller creates it from the Service's template."""
    from kubernetes.client.exceptions import ApiException

    api = custom(api_client)
    labels = {"serving.knative.dev/service": "invoice", "serving.knative.dev/configuration": "invoice",
              "serving.knative.dev/configurationGeneration": str(generation), "serving.knative.dev/routingState": "active"}
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Revision",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
            "spec": service["spec"]["template"]["spec"]}
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "revisions", body)
    except ApiException as error:
        if error.status != 409:
            raise
    status, reason, message = ready
    conditions = [condition(kind, status, reason, message) for kind in ("ContainerHealthy", "Ready", "ResourcesAvailable")]
    api.patch_namespaced_custom_object_status(GROUP, VERSION, NAMESPACE, "revisions", name, {"status": {
        "observedGeneration": 1, "conditions": conditions + [condition("Active", "False", "NoTraffic",
                                                                         "The target is not receiving traffic.")],
        "actualReplicas": 0, "desiredReplicas": 0}})


def reconcile_service(api_client, failed_revision: str | None = None) -> None:
    """Revisions for the traffic targets, then the Service's status, as Knative would write them.

    ``failed_revision``: that revision fails, and Ready carries Knative's reason and message.
    """
    api = custom(api_client)
    service = api.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "services", "invoice")
    latest = service["spec"]["template"]["metadata"]["name"]
    names = [target["revisionName"] for target in service["spec"].get("traffic", []) if target.get("revisionName")]
    for generation, name in enumerate(dict.fromkeys(names + [latest]), start=1):
        problem = ("False", "ContainerMissing", "Unable to fetch image \"localhost/workshop/invoice:dev\"") \
            if name == failed_revision else ("True", "", "")
        create_revision(api_client, service, name, generation, problem)
    traffic = [{"revisionName": target["revisionName"], "percent": target.get("percent", 0), "latestRevision": False,
                "tag": target["tag"], "url": f"http://{target['tag']}-invoice.{NAMESPACE}.{DOMAIN}"}
               for target in service["spec"].get("traffic", [])]
    if failed_revision:
        # configuration_lifecycle.go MarkLatestCreatedFailed, propagated to the Service's Ready.
        message = f"Revision \"{failed_revision}\" failed with message: Unable to fetch image \"localhost/workshop/invoice:dev\"."
        conditions = [condition("ConfigurationsReady", "False", "RevisionFailed", message),
                      condition("Ready", "False", "RevisionFailed", message), condition("RoutesReady")]
    else:
        conditions = [condition("ConfigurationsReady"), condition("Ready"), condition("RoutesReady")]
    api.patch_namespaced_custom_object_status(GROUP, VERSION, NAMESPACE, "services", "invoice", {"status": {
        "observedGeneration": service["metadata"]["generation"], "conditions": conditions,
        "latestCreatedRevisionName": latest, "latestReadyRevisionName": latest if not failed_revision else names[0],
        "url": f"http://invoice.{NAMESPACE}.{DOMAIN}",
        "address": {"url": f"http://invoice.{NAMESPACE}.svc.cluster.local"}, "traffic": traffic}})


# --- The level, as a learner goes through it ---------------------------------------------------
@pytest.fixture(scope="module")
def started(kubeconfig: Path) -> Path:
    lab("reset", LEVEL, kubeconfig)
    lab("deploy", LEVEL, kubeconfig)
    return kubeconfig


def test_the_starting_state_fails(started, tmp_path):
    graded = grade(LEVEL, started, tmp_path)
    assert graded.returncode == 1, graded.stdout
    statuses = graded.by_status()
    assert statuses["passed"] == {"l6-configured"}
    assert statuses["skipped"] == NEEDS_A_REAL_CLUSTER
    assert statuses["failed"] == ALL_CHECKS - {"l6-configured"} - NEEDS_A_REAL_CLUSTER
    assert 'annotations."autoscaling.knative.dev/min-scale": expected "0", got "1"' in \
        "\n".join(graded.check("l6-scale-to-zero")["mismatches"])
    assert "no Knative controller has reconciled it yet" in graded.check("l6-ready")["mismatches"][0]


def test_the_starting_state_fails_in_japanese_with_english_ids_in_json(started, tmp_path, monkeypatch):
    """WORKSHOP_LANG=ja: titles, hints and summary in Japanese; the JSON keeps the English ids and titles."""
    monkeypatch.setenv("WORKSHOP_LANG", "ja")
    graded = grade(LEVEL, started, tmp_path)
    assert graded.returncode == 1
    assert "レベル6(Knativeによるサーバーレス)をコンテキスト" in graded.stdout
    assert "✗ l6-scale-to-zero invoiceはしばらくリクエストがなければゼロまでスケールできる" in graded.stdout
    assert "ヒント: ゼロまでスケールできるようにしてください" in graded.stdout
    assert "スキップ: 実クラスターが必要です" in graded.stdout and "次にやること: " in graded.stdout
    assert graded.check("l6-scale-to-zero")["title"] == "invoice may scale to zero after a short quiet spell"
    assert set(graded.by_status()["failed"]) == ALL_CHECKS - {"l6-configured"} - NEEDS_A_REAL_CLUSTER


@pytest.fixture(scope="module")
def solved(started: Path) -> Path:
    lab("solve", LEVEL, started)
    return started


def test_solve_passes_everything_that_needs_no_controller(solved, tmp_path):
    graded = grade(LEVEL, solved, tmp_path)
    statuses = graded.by_status()
    assert statuses["failed"] == NEEDS_KNATIVE_STATUS, graded.stdout
    assert statuses["passed"] == ALL_CHECKS - NEEDS_KNATIVE_STATUS - NEEDS_A_REAL_CLUSTER


def test_a_failed_revision_shows_knatives_reason_and_message(solved, api_client, tmp_path):
    reconcile_service(api_client, failed_revision="invoice-v2")
    graded = grade(LEVEL, solved, tmp_path)
    assert graded.returncode == 1
    ready = graded.check("l6-ready")["mismatches"]
    assert ready == ['ksvc/invoice.status.conditions[Ready]: expected "True", got "Ready=False (RevisionFailed: '
                     'Revision \\"invoice-v2\\" failed with message: Unable to fetch image \\"localhost/workshop/invoice:dev\\".)"']
    revisions = graded.check("l6-revisions")["mismatches"]
    assert revisions == ['revision/invoice-v2.status.conditions[Ready]: expected "True", got "Ready=False '
                         '(ContainerMissing: Unable to fetch image \\"localhost/workshop/invoice:dev\\")"']


def test_with_knatives_status_every_check_passes(solved, api_client, tmp_path):
    reconcile_service(api_client)
    graded = grade(LEVEL, solved, tmp_path)
    assert graded.returncode == 0, graded.stdout
    assert graded.by_status() == {"passed": ALL_CHECKS - NEEDS_A_REAL_CLUSTER, "skipped": NEEDS_A_REAL_CLUSTER}


def test_the_passing_level_says_so_in_japanese(solved, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_LANG", "ja")
    graded = grade(LEVEL, solved, tmp_path)
    assert graded.returncode == 0, graded.stdout
    assert "レベル6は完了です。次はレベル7です: make lab-7" in graded.stdout
    assert "✓ l6-ready KnativeのService invoiceがReady" in graded.stdout


def test_a_split_knative_has_not_applied_yet_fails(solved, api_client, tmp_path):
    api = custom(api_client)
    service = api.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "services", "invoice")
    routed = [dict(target, percent=100 if target["revisionName"] == "invoice-v1" else 0)
              for target in service["status"]["traffic"]]
    api.patch_namespaced_custom_object_status(GROUP, VERSION, NAMESPACE, "services", "invoice",
                                              {"status": {"traffic": routed}})
    graded = grade(LEVEL, solved, tmp_path)
    assert graded.check("l6-traffic")["mismatches"] == [
        'ksvc/invoice.status.traffic (what Knative routes): expected "invoice-v1 80% tag current, invoice-v2 20% tag '
        'candidate", got "invoice-v1 100% tag current, invoice-v2 0% tag candidate (invoice-v1 gets 100%, not 80%; '
        'invoice-v2 gets 0%, not 20%)"']


def test_reset_leaves_nothing_behind(solved):
    lab("reset", LEVEL, solved)
    for namespace in (NAMESPACE, "knative-serving"):
        assert kubectl(solved, "get", "namespace", namespace, check=False).returncode != 0, f"{namespace} is still there"


def test_the_checks_helpers_do_what_their_docstring_says():
    import doctest
    import importlib.util

    from labrun import REPO_ROOT

    path = REPO_ROOT / "labs" / "06-knative" / "checks" / "level6_knative.py"
    spec = importlib.util.spec_from_file_location("level6_knative", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert doctest.testmod(module).failed == 0
    assert module.split_problems([{"revisionName": "invoice-v1", "percent": 80, "tag": "current"},
                                  {"revisionName": "invoice-v2", "percent": 10, "tag": "candidate"}]) == [
        "invoice-v2 gets 10%, not 20%", "percentages add up to 90, not 100"]
