"""The checkers are read-only by construction: every lab's checks pass under a view-only
identity (workshop/grading/rbac.yaml, a token from the TokenRequest API), and that identity
cannot write. The sim cluster keeps no audit log, so the proof is RBAC's: the role has no
write verb, the API server answers every write attempt with Forbidden, and the engine
itself only ever sends GET (tests/grading/test_engine.py counts methods on a stub).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from labrun import REPO_ROOT, grade, kubectl, lab, token_kubeconfig

from workshop.grading.engine import lab_target
from workshop.levels import LEVELS

RBAC = REPO_ROOT / "workshop" / "grading" / "rbac.yaml"
READ_VERBS = {"get", "list", "watch"}
# Level 7 runs on two clusters (kind-east, kind-west): one sim cluster cannot stand in for it.
NEEDS_TWO_CLUSTERS = {7}


def solvable_levels() -> list[int]:
    """Levels with checks and a `solve` in their lab.sh: every one must pass under the checker."""
    found = []
    for level in LEVELS:
        script = level.folder / "lab.sh"
        if level.number in NEEDS_TWO_CLUSTERS:
            continue
        if lab_target(level.folder / "checks") != "cluster":
            continue  # level 1 grades the container engine: no cluster identity to restrict
        if (level.folder / "checks").is_dir() and script.is_file() and "\nsolve()" in script.read_text():
            found.append(level.number)
    return found


def test_the_checker_role_grants_no_write_verb():
    documents = list(yaml.safe_load_all(RBAC.read_text()))
    [role] = [doc for doc in documents if doc["kind"] == "ClusterRole"]
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert not {"pods/exec", "pods/portforward", "pods/attach"} & set(rule["resources"]), rule


@pytest.fixture(scope="module")
def checker(kubeconfig: Path, tmp_path_factory) -> Path:
    """A kubeconfig for the checker ServiceAccount, with a short-lived token (TokenRequest API)."""
    kubectl(kubeconfig, "apply", "-f", str(RBAC))
    token = kubectl(kubeconfig, "-n", "workshop-checker", "create", "token", "checker", "--duration=30m").stdout.strip()
    yield token_kubeconfig(kubeconfig, token, tmp_path_factory.mktemp("checker") / "kubeconfig")
    kubectl(kubeconfig, "delete", "-f", str(RBAC), "--wait=false", check=False)


def stand_in_for_missing_controllers(level: int, api_client) -> None:
    """Write, as the admin, the status a controller the sim lacks would write (the checker only reads it)."""
    if level == 6:  # Knative Serving's controller: Revisions and the Service's Ready status
        from test_level6 import reconcile_service

        reconcile_service(api_client)


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("level", solvable_levels())
def test_every_lab_passes_under_the_view_only_identity(level, kubeconfig, checker, tmp_path, api_client,
                                                     monkeypatch):
    # Level 4's Application points at a fork: any URL does, the sim never fetches it.
    monkeypatch.setenv("REPO_URL", "https://example.com/learner/microservices-workshop.git")
    if level == 5:
        pytest.skip("runs on the real mesh: level 5's lab installs Istio as on kind, and istiod's injection "
                    "webhook cannot run on KWOK (tests/labs/test_level5_real_mesh.py::"
                    "test_every_check_passes_under_the_view_only_identity)")
    lab("reset", level, kubeconfig)
    try:
        lab("deploy", level, kubeconfig)
        lab("solve", level, kubeconfig)
        stand_in_for_missing_controllers(level, api_client)
        graded = grade(level, checker, tmp_path, "--wait", "60")
        assert graded.returncode == 0, graded.stdout
        assert graded.report["earned"] == graded.report["total"] > 0
    finally:
        lab("reset", level, kubeconfig)


@pytest.mark.cluster
@pytest.mark.parametrize("verb, resource", [("create", "configmaps"), ("patch", "deployments"),
                                            ("delete", "pods"), ("create", "pods/exec"),
                                            ("create", "pods/portforward"), ("update", "services")])
def test_the_checker_may_not_write(verb, resource, checker):
    answer = kubectl(checker, "auth", "can-i", verb, resource, "-n", "workshop", check=False)
    assert answer.stdout.strip() == "no", f"the checker may {verb} {resource}"


@pytest.mark.cluster
def test_a_write_attempt_is_forbidden_by_the_api_server(checker):
    attempt = kubectl(checker, "-n", "default", "create", "configmap", "checker-was-here", "--from-literal=a=b",
                      check=False)
    assert attempt.returncode != 0 and "forbidden" in attempt.stderr.lower(), attempt.stderr
    assert kubectl(checker, "auth", "can-i", "list", "deployments", "-n", "workshop", check=False).stdout.strip() == "yes"
