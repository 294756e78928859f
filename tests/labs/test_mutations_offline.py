"""Levels 2 to 4's checks on their solution's objects, offline, then with one learner mistake
at a time (the classes of issue 21): each must fail its check with a hint naming the object.

The same mistakes run for real on the sim in test_mutations.py (with solve and re-grade);
here they take a second, and LEVEL_CHECKS_ROOT=<a tree's labs/> grades them with another
tree's checks, which is how the old checks were shown to pass them.

    MUTATIONS=all     every mutation, not only the representative ones
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from fakecluster import FakeCluster, Mutation, documents, find, load_check, outcome, running, set_path
from labrun import REPO_ROOT
from mutation_report import report

LABS = Path(os.environ.get("LEVEL_CHECKS_ROOT") or REPO_ROOT / "labs")
ALL = os.environ.get("MUTATIONS", "") == "all"
SERVICES = ("gateway", "customer", "order", "account")
FORK = "https://github.com/learner/microservices-workshop.git"


def level2() -> list[dict]:
    folder = REPO_ROOT / "labs" / "02-orchestrate" / "manifests"
    return running([item for path in sorted(folder.glob("*.yaml")) for item in documents(path)])


def level3() -> list[dict]:
    folder = REPO_ROOT / "labs" / "03-operate" / "manifests"
    objects = [item for path in sorted(folder.glob("*.yaml")) for item in documents(path)]
    objects += [{"kind": "Node", "metadata": {"name": name}, "spec": {}} for name in ("workshop-worker", "workshop-worker2")]
    return running(objects)


def level4() -> list[dict]:
    objects = documents(REPO_ROOT / "manifests" / "base" / "app-account.yaml")
    objects += documents(REPO_ROOT / "labs" / "04-release" / "manifests" / "app-account-v2-canary.yaml")
    for item in objects:
        if item["kind"] == "Deployment" and item["metadata"]["name"] == "account":
            item["spec"]["replicas"] = 3
    [application] = documents(REPO_ROOT / "labs" / "04-release" / "manifests" / "application-workshop-dev.yaml")
    application["spec"]["source"]["repoURL"] = FORK
    return running(objects) + [application]


SOLUTIONS = {2: level2, 3: level3, 4: level4}
FOLDERS = {2: "02-orchestrate", 3: "03-operate", 4: "04-release"}
# check id -> (module, function, fixtures beyond cluster)
CHECKS = {
    "l2-images": ("check_01_images", "check_images", {"namespace": "workshop", "services": SERVICES}),
    "l2-available": ("check_02_workloads", "check_available", {"namespace": "workshop", "services": SERVICES}),
    "l2-probes": ("check_02_workloads", "check_probes", {"namespace": "workshop", "services": SERVICES}),
    "l2-resources": ("check_02_workloads", "check_resources", {"namespace": "workshop", "services": SERVICES}),
    "l2-security": ("check_02_workloads", "check_security", {"namespace": "workshop", "services": SERVICES}),
    "l2-services": ("check_03_services", "check_services", {"namespace": "workshop", "services": SERVICES}),
    "l3-restricted-pods": ("check_02_restricted", "check_restricted_pods",
                           {"namespace": "workshop", "workloads": (*SERVICES, "loadgen")}),
    "l3-hpa": ("check_03_autoscaling", "check_hpa", {"namespace": "workshop"}),
    "l3-pdb": ("check_04_disruption", "check_pdb", {"namespace": "workshop", "services": SERVICES}),
    "l3-call-chain": ("check_05_network_policy", "check_call_chain", {"namespace": "workshop"}),
    "l3-healed": ("check_06_drill", "check_healed", {"namespace": "workshop", "workloads": (*SERVICES, "loadgen")}),
    "l4-application": ("check_02_argocd", "check_application", {"argocd_namespace": "argocd"}),
    "l4-canary": ("check_03_canary", "check_canary", {"namespace": "workshop"}),
}


def level_of(check_id: str) -> int:
    return int(check_id[1])


def grade(check_id: str, objects: list[dict]) -> tuple[bool, str, list[str]]:
    module, function, fixtures = CHECKS[check_id]
    if check_id == "l2-images" and not (LABS / FOLDERS[2] / "checks" / "check_01_images.py").exists():
        module, function = "check_01_apply", None  # the old tree: l2-images was a YAML check
        return yaml_check(check_id, objects)
    loaded = load_check(LABS / FOLDERS[level_of(check_id)] / "checks", module)
    return outcome(getattr(loaded, function), cluster=FakeCluster(objects), **fixtures)


def yaml_check(check_id: str, objects: list[dict]) -> tuple[bool, str, list[str]]:
    """A declarative check of a tree that still has it (check_*.yaml), run by the plugin's own code."""
    from workshop.grading import CheckFailed
    from workshop.grading.plugin import assert_objects, load_yaml_checks

    for path in sorted((LABS / FOLDERS[level_of(check_id)] / "checks").glob("check_*.yaml")):
        for document in load_yaml_checks(path.read_text()):
            if document["id"] == check_id:
                try:
                    assert_objects(FakeCluster(objects), document.get("expect") or [], document.get("expect_none") or [])
                except CheckFailed as error:
                    return False, document["hint"], [str(item) for item in error.mismatches]
                return True, "", []
    raise LookupError(check_id)


def container(objects, deployment: str, index: int = 0) -> dict:
    return find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][index]


def pods(objects, deployment: str) -> list[dict]:
    return [item for item in objects if item["kind"] == "Pod" and item["metadata"]["name"].startswith(f"{deployment}-")
            and item["metadata"]["name"][len(deployment) + 1:].isdigit()]


BUSYBOX = {"name": "debug", "image": "busybox:latest", "imagePullPolicy": "Always", "command": ["sleep", "1d"]}


def extra_container(deployment: str):
    def change(objects):
        find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"].append(dict(BUSYBOX))
    return change


def root_container(deployment: str):
    def change(objects):
        container(objects, deployment)["securityContext"].update(runAsNonRoot=False, runAsUser=0)
    return change


def add_capability(deployment: str):
    def change(objects):
        container(objects, deployment)["securityContext"]["capabilities"]["add"] = ["NET_ADMIN"]
    return change


def rename_port(objects):
    for item in [container(objects, "order")] + [pod["spec"]["containers"][0] for pod in pods(objects, "order")]:
        item["ports"][0]["name"] = "web"
    for item in objects:
        if item["kind"] == "EndpointSlice" and item["metadata"]["name"] == "order-1":
            item["ports"] = None  # what the EndpointSlice controller writes when targetPort names no port


def scaled_to_zero(objects):
    deployment = find(objects, "Deployment", "customer")
    deployment["spec"]["replicas"] = 0
    deployment["status"] = {"observedGeneration": 1, "conditions": [{"type": "Available", "status": "True"}]}


def refused_by_pod_security(objects):
    """The template made root; Pod Security refuses the new pods: the old ones stay ready."""
    root_container("account")(objects)
    deployment = find(objects, "Deployment", "account")
    deployment["metadata"]["generation"] = 2
    deployment["status"].update(observedGeneration=2, updatedReplicas=0, conditions=[
        {"type": "Available", "status": "True"},
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": 'pods "account-7c9" is forbidden: violates PodSecurity "restricted:latest"'}])


def second_budget(objects):
    objects.append({"kind": "PodDisruptionBudget", "metadata": {"name": "order-extra", "namespace": "workshop"},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "order"}}},
                    "status": {"disruptionsAllowed": 0}})


def canary_runs_v1(objects):
    for item in [container(objects, "account-v2")] + [pod["spec"]["containers"][0] for pod in pods(objects, "account-v2")]:
        next(env for env in item["env"] if env["name"] == "SERVICE_VERSION")["value"] = "v1"


MUTATIONS = [
    Mutation("l2-extra-container-probes", "1", extra_container("gateway"), "l2-probes", "deployment/gateway", ci=True),
    Mutation("l2-extra-container-resources", "1", extra_container("gateway"), "l2-resources", "deployment/gateway"),
    Mutation("l2-extra-container-security", "1", extra_container("gateway"), "l2-security", "deployment/gateway"),
    Mutation("l2-extra-container-images", "1", extra_container("gateway"), "l2-images", "deployment/gateway"),
    Mutation("l2-container-root", "2", root_container("customer"), "l2-security", "deployment/customer", ci=True),
    Mutation("l2-capabilities-add", "2", add_capability("order"), "l2-security", "deployment/order"),
    Mutation("l2-port-renamed", "6", rename_port, "l2-services", "deployment/order", ci=True),
    Mutation("l2-customer-selector", "hint", set_path("Service", "customer", "spec.selector", {"app": "customers"}),
             "l2-services", "service/customer", ci=True),
    Mutation("l2-gateway-readiness-path", "hint", set_path("Deployment", "gateway",
             "spec.template.spec.containers.0.readinessProbe.httpGet.path", "/ready"), "l2-probes", "deployment/gateway"),
    Mutation("l2-customer-to-zero", "5", scaled_to_zero, "l2-available", "deployment/customer", ci=True),
    Mutation("l3-refused-by-pod-security", "2", refused_by_pod_security, "l3-healed", "deployment/account", ci=True),
    Mutation("l3-root-template", "2", root_container("loadgen"), "l3-restricted-pods", "deployment/loadgen"),
    Mutation("l3-second-budget", "3", second_budget, "l3-pdb", "order-extra", ci=True),
    Mutation("l3-budget-100-percent", "5", set_path("PodDisruptionBudget", "customer", "spec.maxUnavailable", "100%"),
             "l3-pdb", "poddisruptionbudget/customer", ci=True),
    Mutation("l3-scale-up-disabled", "5", set_path("HorizontalPodAutoscaler", "gateway", "spec.behavior.scaleUp",
                                                   {"selectPolicy": "Disabled"}), "l3-hpa", "horizontalpodautoscaler/gateway"),
    Mutation("l3-peer-any-namespace", "6", set_path("NetworkPolicy", "account", "spec.ingress.0.from.0.namespaceSelector",
                                                    {}), "l3-call-chain", "networkpolicy/account", ci=True),
    Mutation("l4-label-says-v2-runs-v1", "7", canary_runs_v1, "l4-canary", "deployment/account-v2", ci=True),
    Mutation("l4-auto-sync-disabled", "5", set_path("Application", "workshop-dev", "spec.syncPolicy.automated.enabled",
                                                    False), "l4-application", "automated.enabled", ci=True),
    Mutation("l4-version-in-selector", "hint", set_path("Service", "account", "spec.selector.version", "v1"),
             "l4-canary", "service/account"),
]
SELECTED = [item for item in MUTATIONS if item.ci or ALL]


@pytest.fixture(scope="module", autouse=True)
def check_marker(pytestconfig):
    pytestconfig.addinivalue_line("markers", "workshop_check(spec): a self-grading check (workshop.grading.check)")


@pytest.mark.parametrize("check_id", CHECKS)
def test_the_solution_passes(check_id):
    passed, _, mismatches = grade(check_id, SOLUTIONS[level_of(check_id)]())
    assert passed, mismatches


@pytest.mark.parametrize("mutation", SELECTED, ids=[item.name for item in SELECTED])
def test_a_mistake_fails_its_check_with_a_hint_naming_it(mutation, pytestconfig):
    objects = copy.deepcopy(SOLUTIONS[level_of(mutation.fails)]())
    mutation.change(objects)
    passed, hint, mismatches = grade(mutation.fails, objects)
    report(pytestconfig).record(f"level {level_of(mutation.fails)} (offline)", mutation.name,
                                not passed and mutation.hint in hint)
    assert not passed, f"{mutation.name} passed {mutation.fails} as ✓"
    assert mutation.hint in hint, f"{mutation.hint!r} not in the hint: {hint}"
