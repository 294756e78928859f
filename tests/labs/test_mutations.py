"""The mutation suite: a learner's mistake -> its check fails with a hint naming the object ->
`make solve-N` -> every check passes again. Levels 2 to 4 on the sim cluster, one class of
false pass (issue 21) per mutation; level 5's control-plane classes are in test_mutations_level5.py.

CI runs a representative mutation per class and level (`ci=True`); MUTATIONS=all runs every one.
The terminal summary says `caught / tried` per level. On the sim, data-plane checks are
skipped (fake pods); every mutation here is judged by the control plane.

Each level also gets convergence tests: edits to every object of the level (a label, an
env var, an extra container, a selector key, a second budget), then solve, then the objects
must equal those of a clean solve; and the same after random edits (tests/labs/random_edits.py)
from fixed seeds (RANDOM_EDITS_SEED=N replays or explores one; MUTATIONS=all runs more seeds).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from labrun import REPO_ROOT, env_for, grade, kubectl, lab
from mutation_report import report
from random_edits import random_edits

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

NS = ["-n", "workshop"]
ALL = os.environ.get("MUTATIONS", "") == "all"
REPO_URL = "https://example.com/learner/microservices-workshop.git"  # as test_level4: never fetched on the sim


def patch(ref: str, ops: list, namespace: list[str] = NS) -> list[str]:
    return [*namespace, "patch", ref, "--type", "json", "-p", json.dumps(ops)]


def rollout(name: str) -> list[str]:
    return [*NS, "rollout", "status", f"deployment/{name}", "--timeout=120s"]


def refused(name: str) -> list[str]:
    return [*NS, "wait", f"deployment/{name}", "--for=condition=ReplicaFailure", "--timeout=60s"]


@dataclass(frozen=True)
class Mutation:
    level: int
    name: str
    klass: str  # the class of false pass of issue 21 it belongs to
    steps: list[list[str]]  # kubectl invocations that make the mistake
    fails: str  # the check that must fail
    hint: str  # words the failing check's hint must hold (the object it names, the fix)
    settle: list[str] = field(default_factory=list)  # kubectl: wait until the broken state exists
    ci: bool = False


BUSYBOX = {"name": "debug", "image": "busybox:latest", "imagePullPolicy": "Always", "command": ["sleep", "1d"]}
ROOT = {"runAsNonRoot": False, "runAsUser": 0}

MUTATIONS = [
    # --- level 2 ---
    Mutation(2, "extra-container", "1 every container", [patch("deployment/gateway", [
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": BUSYBOX}])],
        "l2-probes", "deployment/gateway", rollout("gateway"), ci=True),
    Mutation(2, "extra-container-images", "1 every container", [patch("deployment/order", [
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": BUSYBOX}])],
        "l2-images", "kubectl replace -f labs/02-orchestrate/manifests/app-order.yaml", rollout("order")),
    Mutation(2, "container-root", "2 security fields", [patch("deployment/customer", [
        {"op": "add", "path": "/spec/template/spec/containers/0/securityContext/runAsNonRoot", "value": False},
        {"op": "add", "path": "/spec/template/spec/containers/0/securityContext/runAsUser", "value": 0}])],
        "l2-security", "deployment/customer", rollout("customer"), ci=True),
    Mutation(2, "capabilities-add", "2 security fields", [patch("deployment/order", [
        {"op": "add", "path": "/spec/template/spec/containers/0/securityContext/capabilities/add",
         "value": ["NET_ADMIN"]}])],
        "l2-security", "deployment/order", rollout("order")),
    Mutation(2, "port-renamed", "6 references", [patch("deployment/order", [
        {"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/name", "value": "web"}])],
        "l2-services", "deployment/order", rollout("order"), ci=True),
    Mutation(2, "customer-selector", "hint names the object", [[*NS, "patch", "service/customer", "--type=merge", "-p",
                                                               '{"spec": {"selector": {"app": "customers"}}}']],
             "l2-services", "service/customer"),
    Mutation(2, "gateway-readiness-path", "hint names the object", [patch("deployment/gateway", [
        {"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/path", "value": "/ready"}])],
        "l2-probes", "deployment/gateway", rollout("gateway")),
    Mutation(2, "customer-to-zero", "5 zero", [[*NS, "scale", "deployment/customer", "--replicas=0"]],
             "l2-available", "deployment/customer", rollout("customer"), ci=True),
    Mutation(2, "database-to-zero", "5 zero", [[*NS, "scale", "statefulset/order-db", "--replicas=0"]],
             "l2-databases", "statefulset/order-db", [*NS, "wait", "pod/order-db-0", "--for=delete", "--timeout=60s"],
             ci=True),
    Mutation(2, "state-back-in-the-pod", "1 every container", [[*NS, "set", "env", "deployment/account",
                                                                 "DATABASE_URL-"]],
             "l2-state", "kubectl replace -f labs/02-orchestrate/manifests/app-account.yaml", rollout("account")),
    # --- level 3 ---
    Mutation(3, "root-refused-by-psa", "2 rollout conditions", [patch("deployment/account", [
        {"op": "add", "path": "/spec/template/spec/containers/0/securityContext/runAsNonRoot", "value": False},
        {"op": "add", "path": "/spec/template/spec/containers/0/securityContext/runAsUser", "value": 0}])],
        "l3-healed", "deployment/account", refused("account"), ci=True),
    Mutation(3, "second-budget", "3 second object", [[*NS, "create", "poddisruptionbudget", "order-extra",
                                                      "--selector=app=order", "--max-unavailable=1"]],
             "l3-pdb", "order-extra", ci=True),
    Mutation(3, "budget-100-percent", "5 zero", [patch("poddisruptionbudget/customer", [
        {"op": "replace", "path": "/spec/maxUnavailable", "value": "100%"}])],
        "l3-pdb", "poddisruptionbudget/customer", ci=True),
    Mutation(3, "scale-up-disabled", "5 zero", [patch("horizontalpodautoscaler/gateway", [
        {"op": "add", "path": "/spec/behavior/scaleUp", "value": {"selectPolicy": "Disabled"}}])],
        "l3-hpa", "horizontalpodautoscaler/gateway"),
    Mutation(3, "peer-any-namespace", "6 references", [patch("networkpolicy/account", [
        {"op": "add", "path": "/spec/ingress/0/from/0/namespaceSelector", "value": {}}])],
        "l3-call-chain", "networkpolicy/account", ci=True),
    Mutation(3, "capabilities-add", "2 security fields", [patch("deployment/loadgen", [
        {"op": "add", "path": "/spec/template/spec/containers/0/securityContext/capabilities/add",
         "value": ["NET_RAW"]}])],
        "l3-restricted-pods", "deployment/loadgen", refused("loadgen")),
    # --- level 4 ---
    Mutation(4, "label-says-v2-runs-v1", "7 labels trusted", [patch("deployment/account-v2", [
        {"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value", "value": "v1"}])],
        "l4-canary", "deployment/account-v2", rollout("account-v2"), ci=True),
    Mutation(4, "auto-sync-disabled", "5 zero", [patch("application/workshop-dev", [
        {"op": "add", "path": "/spec/syncPolicy/automated/enabled", "value": False}], ["-n", "argocd"])],
        "l4-application", "automated.enabled", ci=True),
    Mutation(4, "version-in-selector", "hint names the object", [[*NS, "patch", "service/account", "--type=merge", "-p",
                                                                 '{"spec": {"selector": {"version": "v1"}}}']],
             "l4-canary", "service/account"),
]

SELECTED = [item for item in MUTATIONS if item.ci or ALL]


@pytest.fixture(scope="module")
def lab_env():
    with pytest.MonkeyPatch.context() as env:
        env.delenv("ARGOCD_MANIFEST", raising=False)
        env.setenv("REPO_URL", REPO_URL)
        yield


@pytest.fixture(scope="module")
def levels(kubeconfig: Path, lab_env):
    """Deploys and solves a level once, the first time a test asks for it (tests run in level order)."""
    current: dict[str, int] = {}

    def on(level: int) -> Path:
        if current.get("level") != level:
            if "level" in current:
                # Level 3's metrics-server only seems to run on KWOK's nodes: its APIService stays
                # unavailable, and no namespace can be deleted (the next level's reset) until it goes.
                lab("reset", current["level"], kubeconfig)
            lab("reset", level, kubeconfig)
            lab("deploy", level, kubeconfig)
            lab("solve", level, kubeconfig)
            current["level"] = level
        return kubeconfig

    return on


def failing_ids(graded) -> set[str]:
    return graded.by_status().get("failed", set())


def caught_and_undone(mutation: Mutation, kubeconfig: Path, tmp_path: Path, config) -> None:
    caught = False
    try:
        for step in mutation.steps:
            kubectl(kubeconfig, *step)
        if mutation.settle:
            kubectl(kubeconfig, *mutation.settle)
        graded = grade(mutation.level, kubeconfig, tmp_path)
        assert graded.returncode == 1, f"{mutation.name} passed as ✓:\n{graded.stdout}"
        assert mutation.fails in failing_ids(graded), graded.stdout
        hint = graded.check(mutation.fails)["hint"]
        assert mutation.hint in hint, f"{mutation.hint!r} not in the hint: {hint}"
        caught = True
    finally:
        report(config).record(f"level {mutation.level} (sim)", mutation.name, caught)
        lab("solve", mutation.level, kubeconfig)
    graded = grade(mutation.level, kubeconfig, tmp_path, "--wait", "60")
    assert graded.returncode == 0, f"solve-{mutation.level} did not undo {mutation.name}:\n{graded.stdout}"


# --- solve converges: edits to every object of the level, then solve == a clean solve ----------

KINDS = "deployments,services,poddisruptionbudgets,networkpolicies,horizontalpodautoscalers,configmaps"


def snapshot(kubeconfig: Path) -> dict[str, dict]:
    """What the solution consists of: each object's spec/data/labels (no status, no server fields)."""
    items = json.loads(kubectl(kubeconfig, *NS, "get", KINDS, "-o", "json").stdout)["items"]
    found = {}
    for item in items:
        if item["metadata"]["name"] == "kube-root-ca.crt":
            continue
        spec = dict(item.get("spec") or item.get("data") or {})
        for volatile in ("clusterIP", "clusterIPs"):
            spec.pop(volatile, None)
        if item["kind"] == "Deployment":
            if item["metadata"]["name"] == "gateway":
                spec.pop("replicas", None)  # the autoscaler's to set
            spec["template"] = {**spec["template"], "metadata": {
                **spec["template"]["metadata"],
                "annotations": {k: v for k, v in (spec["template"]["metadata"].get("annotations") or {}).items()
                                if k != "kubectl.kubernetes.io/restartedAt"}}}
        found[f"{item['kind']}/{item['metadata']['name']}"] = {"labels": item["metadata"].get("labels"), "spec": spec}
    return found


ALLOW_ALL = json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": "allow-all", "namespace": "workshop"},
                        "spec": {"podSelector": {}, "ingress": [{}], "egress": [{}],
                                 "policyTypes": ["Ingress", "Egress"]}})
EDITS = {
    2: [
        ["label", "--overwrite", "deployments,services", "--all", *NS, "edited=by-hand"],
        ["set", "env", "deployment", "--all", *NS, "EXTRA=1"],
        patch("deployment/gateway", [{"op": "add", "path": "/spec/template/spec/containers/-", "value": BUSYBOX}]),
        [*NS, "patch", "service/order", "--type=merge", "-p", '{"spec": {"selector": {"pinned": "yes"}}}'],
        patch("deployment/customer", [{"op": "add", "path": "/spec/template/spec/containers/0/ports/-",
                                       "value": {"name": "debug", "containerPort": 9090}}]),
        [*NS, "create", "service", "clusterip", "stray", "--tcp=80:8080"],
    ],
    3: [
        ["label", "--overwrite", "deployments,services,pdb,networkpolicies,hpa", "--all", *NS, "edited=by-hand"],
        patch("poddisruptionbudget/order", [{"op": "remove", "path": "/spec/maxUnavailable"},
                                            {"op": "add", "path": "/spec/minAvailable", "value": 1}]),
        [*NS, "create", "poddisruptionbudget", "order-extra", "--selector=app=order", "--max-unavailable=1"],
        patch("networkpolicy/account", [{"op": "add", "path": "/spec/ingress/0/from/0/namespaceSelector", "value": {}}]),
        ALLOW_ALL,
        ["set", "env", "deployment", "--all", *NS, "EXTRA=1"],
    ],
    4: [
        ["label", "--overwrite", "deployments,services", "--all", *NS, "edited=by-hand"],
        [*NS, "patch", "service/account", "--type=merge", "-p", '{"spec": {"selector": {"version": "v1"}}}'],
        patch("deployment/account-v2", [{"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value",
                                         "value": "v1"}]),
        ["set", "env", "deployment", "--all", *NS, "EXTRA=1"],
    ],
}


def converges(level: int, kubeconfig: Path, tmp_path: Path) -> None:
    clean = snapshot(kubeconfig)
    for edit in EDITS[level]:
        if isinstance(edit, str):  # a whole object, created from stdin
            done = kubectl_input(kubeconfig, edit, "create", "-f", "-")
            assert done.returncode == 0, done.stderr
        else:
            kubectl(kubeconfig, *edit)
    assert snapshot(kubeconfig) != clean  # the edits took
    lab("solve", level, kubeconfig)
    after = snapshot(kubeconfig)
    assert after.keys() == clean.keys(), f"added {after.keys() - clean.keys()}, lost {clean.keys() - after.keys()}"
    for key in clean:
        assert after[key] == clean[key], f"{key} differs after solve-{level}"
    lab("solve", level, kubeconfig)  # idempotent: a second solve changes nothing
    assert snapshot(kubeconfig) == clean
    graded = grade(level, kubeconfig, tmp_path, "--wait", "60")
    assert graded.returncode == 0, graded.stdout


# Random edits: enough that most objects are touched, few enough that a failure reads easily.
RANDOM_EDITS_TAKEN = 8
RANDOM_EDITS_TRIED = 40
SEEDS = [int(os.environ["RANDOM_EDITS_SEED"])] if os.environ.get("RANDOM_EDITS_SEED") else \
    ([11, 23, 37, 41, 59] if ALL else [11])


def converges_after_random_edits(level: int, seed: int, kubeconfig: Path, tmp_path: Path) -> None:
    clean = snapshot(kubeconfig)
    objects = [item for item in json.loads(kubectl(kubeconfig, *NS, "get", KINDS, "-o", "json").stdout)["items"]
               if item["metadata"]["name"] != "kube-root-ca.crt"]
    taken = []
    for edit in random_edits(seed, objects, RANDOM_EDITS_TRIED):
        done = kubectl(kubeconfig, *NS, "patch", edit.ref, "--type", "json", "-p", json.dumps(edit.ops), check=False)
        if done.returncode == 0:  # the API server refuses many (immutable, invalid): a learner's too
            taken.append(str(edit))
        if len(taken) == RANDOM_EDITS_TAKEN:
            break
    edits = "\n  ".join(taken)
    assert snapshot(kubeconfig) != clean, f"seed {seed}: no random edit changed the level's objects"
    lab("solve", level, kubeconfig)
    after = snapshot(kubeconfig)
    context = f"solve-{level} after random edits (RANDOM_EDITS_SEED={seed}):\n  {edits}"
    assert after.keys() == clean.keys(), f"{context}\nadded {after.keys() - clean.keys()}, lost {clean.keys() - after.keys()}"
    differing = [key for key in clean if after[key] != clean[key]]
    assert not differing, f"{context}\n{differing} differ from a clean solve"
    graded = grade(level, kubeconfig, tmp_path, "--wait", "60")
    assert graded.returncode == 0, f"{context}\n{graded.stdout}"


def kubectl_input(kubeconfig: Path, text: str, *args: str):
    return subprocess.run(["kubectl", *args], input=text, capture_output=True, text=True, env=env_for(kubeconfig),
                          timeout=60, cwd=REPO_ROOT)


# One test function, its cases in level order, so that each level is deployed and solved once.
CASES = sorted([(m.level, m.name, m) for m in SELECTED] + [(level, "~solve-converges", None) for level in (2, 3, 4)]
               + [(level, f"~random-edits-{seed}", seed) for level in (2, 3, 4) for seed in SEEDS],
               key=lambda case: (case[0], case[1].startswith("~")))


@pytest.mark.parametrize("case", CASES, ids=[f"l{level}-{name.lstrip('~')}" for level, name, _ in CASES])
def test_mutation(case, levels, tmp_path, pytestconfig):
    level, _, mutation = case
    kubeconfig = levels(level)
    if mutation is None:
        converges(level, kubeconfig, tmp_path)
    elif isinstance(mutation, int):
        converges_after_random_edits(level, mutation, kubeconfig, tmp_path)
    else:
        caught_and_undone(mutation, kubeconfig, tmp_path, pytestconfig)
