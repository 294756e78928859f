"""The Helm chart (manifests/helm/workshop) and the Kustomize dev overlay are one source of truth.

`helm template` with the chart's defaults must render every object `kubectl kustomize
manifests/overlays/dev` renders, field for field (the overlay's Namespace aside: Helm installs
into a namespace, it does not own it). Each value the chart offers must then change exactly
what it is meant to change and nothing else. Every object of both renders is compared, so a
change to the manifests (a new object, a new field) fails here until the chart has it too.

Without a cluster: helm is the one built from HELM_VERSION's Go module (make helm), kubectl
the one built with the sim. On the sim: level 4's check l4-helm-release, which reads Helm's own
record in the cluster, fails before the step, after an install, an upgrade, a change by hand, a
failed upgrade and an uninstall, and passes after the rollback and after `make solve-4`'s Helm part.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from fakecluster import load_check
from labrun import REPO_ROOT, env_for, grade, kubectl

CHART = REPO_ROOT / "manifests" / "helm" / "workshop"
DEV_OVERLAY = REPO_ROOT / "manifests" / "overlays" / "dev"
CANARY = REPO_ROOT / "labs" / "04-release" / "manifests" / "app-account-v2-canary.yaml"
ONE_REPLICA = REPO_ROOT / "labs" / "04-release" / "helm" / "values-one-replica.yaml"  # level 4's Helm step
RELEASE = "workshop"
NAMESPACE = "workshop"
SERVICES = ("gateway", "customer", "order", "account", "loadgen")


def built(name: str, how: str) -> str:
    path = REPO_ROOT / ".bin" / name
    if path.exists():
        return str(path)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must use the {name} built into .bin/ ({how})")
    pytest.skip(f"no .bin/{name}: run {how}")


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, f"{' '.join(command[:2])} failed:\n{done.stderr}"
    return done.stdout


def helm_render(*sets: str, namespace: str = NAMESPACE) -> list[dict]:
    """`helm template` with each "key=value" as --set, and each path to a file as -f."""
    args = [arg for value in sets for arg in (("--set", value) if "=" in value else ("-f", value))]
    text = run([built("helm", "make helm"), "template", RELEASE, str(CHART), "--namespace", namespace, *args])
    return [item for item in yaml.safe_load_all(text) if item]


def kustomize_render() -> list[dict]:
    text = run([built("kubectl", "make sim-build"), "kustomize", str(DEV_OVERLAY)])
    return [item for item in yaml.safe_load_all(text) if item]


def key(item: dict) -> str:
    metadata = item["metadata"]
    return f"{item['kind']} {metadata.get('namespace', '')}/{metadata['name']} ({item['apiVersion']})"


def flatten(value, path: str = "") -> dict[str, object]:
    """{"spec.template.spec.containers[0].image": "...", ...}: every leaf of an object, by path."""
    if isinstance(value, dict) and value:
        return {leaf: item for name, child in value.items()
                for leaf, item in flatten(child, f"{path}.{name}" if path else name).items()}
    if isinstance(value, list) and value:
        return {leaf: item for index, child in enumerate(value)
                for leaf, item in flatten(child, f"{path}[{index}]").items()}
    return {path: value}


def differences(expected: list[dict], rendered: list[dict]) -> list[str]:
    """Every difference between two renders, one line each: which object, which path, both values."""
    wanted, got = {key(item): item for item in expected}, {key(item): item for item in rendered}
    lines = [f"{name}: in the overlay, not rendered by the chart" for name in sorted(wanted.keys() - got.keys())]
    lines += [f"{name}: rendered by the chart, not in the overlay" for name in sorted(got.keys() - wanted.keys())]
    for name in sorted(wanted.keys() & got.keys()):
        left, right = flatten(wanted[name]), flatten(got[name])
        for path in sorted(left.keys() | right.keys()):
            if left.get(path, "<missing>") != right.get(path, "<missing>"):
                lines.append(f"{name}: {path}: overlay {left.get(path, '<missing>')!r}, "
                             f"chart {right.get(path, '<missing>')!r}")
    return lines


def assert_same(expected: list[dict], rendered: list[dict]) -> None:
    found = differences(expected, rendered)
    assert not found, ("the chart (manifests/helm/workshop) and the dev overlay differ: change the chart with the "
                       "manifests\n" + "\n".join(found))


@pytest.fixture(scope="module")
def overlay() -> list[dict]:
    """The dev overlay's objects, its Namespace aside (the one object the chart leaves to the installer)."""
    objects = kustomize_render()
    namespaces = [item for item in objects if item["kind"] == "Namespace"]
    assert [item["metadata"]["name"] for item in namespaces] == [NAMESPACE]
    return [item for item in objects if item["kind"] != "Namespace"]


def test_helm_lint_is_clean():
    for sets in ([], ["accountV2.enabled=true", "loadgen.enabled=false"]):
        args = [arg for value in sets for arg in ("--set", value)]
        done = subprocess.run([built("helm", "make helm"), "lint", "--strict", str(CHART), *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "0 chart(s) failed" in done.stdout, done.stdout + done.stderr
        assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout, done.stdout


def test_the_defaults_render_the_dev_overlay(overlay):
    rendered = helm_render()
    assert not [item for item in rendered if item["kind"] == "Namespace"], "the chart must not own its namespace"
    assert_same(overlay, rendered)


def test_a_drift_is_caught_and_named(overlay):
    """The comparison is not vacuous: one changed field and one extra object are both reported."""
    drifted = copy.deepcopy(overlay)
    account = next(item for item in drifted if item["kind"] == "Deployment" and item["metadata"]["name"] == "account")
    account["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "512Mi"
    drifted.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "account-cache", "namespace": NAMESPACE}})
    assert differences(drifted, helm_render()) == [
        "Service workshop/account-cache (v1): in the overlay, not rendered by the chart",
        "Deployment workshop/account (apps/v1): spec.template.spec.containers[0].resources.limits.memory: "
        "overlay '512Mi', chart '256Mi'",
    ]


# --- each value changes what it says, and nothing else ------------------------------------------

def deployments(objects: list[dict], names=SERVICES) -> list[dict]:
    return [item for item in objects if item["kind"] == "Deployment" and item["metadata"]["name"] in names]


def set_replicas(name: str, count: int) -> Callable[[list[dict]], list[dict]]:
    def change(objects):
        for item in deployments(objects, (name,)):
            item["spec"]["replicas"] = count
        return objects
    return change


def set_tag(tag: str, names=SERVICES) -> Callable[[list[dict]], list[dict]]:
    def change(objects):
        for item in deployments(objects, names):
            container = item["spec"]["template"]["spec"]["containers"][0]
            container["image"] = container["image"].rsplit(":", 1)[0] + f":{tag}"
        return objects
    return change


def set_namespace(namespace: str) -> Callable[[list[dict]], list[dict]]:
    def change(objects):
        for item in objects:
            item["metadata"]["namespace"] = namespace
        return objects
    return change


def set_environment(environment: str) -> Callable[[list[dict]], list[dict]]:
    def change(objects):
        for item in objects:
            item["metadata"]["labels"]["environment"] = environment
            if item["kind"] in ("Deployment", "StatefulSet"):
                item["spec"]["template"]["metadata"]["labels"]["environment"] = environment
        return objects
    return change


def without(predicate: Callable[[dict], bool]) -> Callable[[list[dict]], list[dict]]:
    return lambda objects: [item for item in objects if not predicate(item)]


def one_replica(objects: list[dict]) -> list[dict]:
    for name in ("customer", "order", "account"):
        set_replicas(name, 1)(objects)
    for item in objects:
        if item["kind"] == "HorizontalPodAutoscaler":
            item["spec"]["minReplicas"] = 1
    return objects


def with_canary(objects: list[dict]) -> list[dict]:
    """The lab's canary file, as the overlay would make it: in the namespace, with the environment label."""
    canary = yaml.safe_load(CANARY.read_text())
    canary["metadata"]["namespace"] = NAMESPACE
    for labels in (canary["metadata"]["labels"], canary["spec"]["template"]["metadata"]["labels"]):
        labels["environment"] = "dev"
    return [*objects, canary]


VALUE_CHANGES = {
    "account-replicas": (["account.replicas=3"], set_replicas("account", 3)),
    "image-tag": (["image.tag=1.1.0"], set_tag("1.1.0")),
    "one-service-tag": (["account.tag=1.1.0"], set_tag("1.1.0", ("account",))),
    "environment": (["environment=staging"], set_environment("staging")),
    "no-loadgen": (["loadgen.enabled=false"], without(lambda item: item["metadata"]["name"] == "loadgen")),
    "no-network-policies": (["networkPolicies.enabled=false"], without(lambda item: item["kind"] == "NetworkPolicy")),
    "no-availability": (["availability.enabled=false"], without(
        lambda item: item["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget"))),
    "account-v2": (["accountV2.enabled=true"], with_canary),
    "level-4-values-file": ([str(ONE_REPLICA)], one_replica),
}


@pytest.mark.parametrize(("sets", "change"), VALUE_CHANGES.values(), ids=VALUE_CHANGES.keys())
def test_each_value_changes_only_what_it_says(overlay, sets, change):
    assert_same(change(copy.deepcopy(overlay)), helm_render(*sets))


def test_the_release_namespace_is_the_only_namespace(overlay):
    assert_same(set_namespace("workshop-helm")(copy.deepcopy(overlay)), helm_render(namespace="workshop-helm"))


def test_the_chart_is_found_from_manifests():
    assert "helm/" in (REPO_ROOT / "manifests" / "README.md").read_text()
    assert (CHART / "README.md").is_file()
    assert yaml.safe_load((CHART / "Chart.yaml").read_text())["name"] == "workshop"


def test_every_template_file_is_used(tmp_path: Path):
    """A template that renders nothing with every option on is dead weight (or a typo in its guard)."""
    text = run([built("helm", "make helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                "--set", "accountV2.enabled=true"])
    sources = {line.split("# Source: workshop/", 1)[1] for line in text.splitlines() if line.startswith("# Source:")}
    templates = {f"templates/{path.name}" for path in (CHART / "templates").glob("*.yaml")}
    assert templates == sources


# --- the check reads Helm's own record (no helm binary needed to grade) ----------------------------

def record_secret(release: dict, revision: int) -> dict:
    """A storage Secret as Helm writes it: the release JSON, gzipped, base64 (Helm), base64 again (the API)."""
    helm_data = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {"metadata": {"name": f"sh.helm.release.v1.workshop.v{revision}"},
            "data": {"release": base64.b64encode(helm_data).decode()}}


def test_the_record_is_decoded_as_helm_writes_it(pytestconfig):
    # Importing a check module declares its checks with the `workshop_check` marker: register it.
    pytestconfig.addinivalue_line("markers", "workshop_check(spec): a self-grading check (workshop.grading.check)")
    decode_release = load_check(REPO_ROOT / "labs" / "04-release" / "checks", "check_04_helm").decode_release

    release = {"name": "workshop", "version": 3, "info": {"status": "deployed", "description": "Rollback to 1"}}
    assert decode_release(record_secret(release, 3)) == release
    for broken in ({}, {"data": {"release": "not base64!"}}, {"data": {"release": base64.b64encode(b"xx").decode()}}):
        assert decode_release(broken) is None


HELM_NAMESPACE = "workshop-helm"
NOT_INSTALLED = "helm release workshop (namespace workshop-helm): expected installed"


def helm(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([built("helm", "make helm"), *args, "-n", HELM_NAMESPACE], capture_output=True, text=True,
                          timeout=300, cwd=REPO_ROOT, env=env_for(kubeconfig))
    if check:
        assert done.returncode == 0, f"helm {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}"
    return done


def solve_helm(kubeconfig: Path) -> str:
    """lab.sh's Helm part of `make solve-4`, as scripts/lab.sh runs it."""
    folder = REPO_ROOT / "labs" / "04-release"
    say, converge = REPO_ROOT / "scripts" / "lib" / "say.sh", REPO_ROOT / "scripts" / "lib" / "converge.sh"
    program = f'source "{say}"; source "{converge}"; source "{folder / "lab.sh"}"; need_helm; solve_helm'
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
                          env={**env_for(kubeconfig), "REPO_ROOT": str(REPO_ROOT), "LAB_DIR": str(folder)})
    assert done.returncode == 0, done.stderr
    return done.stderr


def helm_check(kubeconfig: Path, tmp_path: Path) -> dict:
    graded = grade(4, kubeconfig, tmp_path, "-k", "helm")
    return graded.check("l4-helm-release")


def assert_fails(result: dict, says: str) -> None:
    assert result["status"] == "failed", result
    assert any(says in line for line in result["mismatches"]), result["mismatches"]


@pytest.fixture
def helm_namespace(kubeconfig: Path):
    kubectl(kubeconfig, "delete", "namespace", HELM_NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=120s")
    yield kubeconfig
    kubectl(kubeconfig, "delete", "namespace", HELM_NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=120s")


@pytest.mark.cluster
@pytest.mark.slow
def test_the_check_fails_until_the_step_is_done_and_after_it_is_undone(helm_namespace, tmp_path):
    kubeconfig = helm_namespace
    assert_fails(helm_check(kubeconfig, tmp_path), NOT_INSTALLED)

    kubectl(kubeconfig, "create", "namespace", HELM_NAMESPACE)
    helm(kubeconfig, "install", RELEASE, str(CHART), "-f", str(ONE_REPLICA), "--wait", "--timeout", "3m")
    assert_fails(helm_check(kubeconfig, tmp_path), 'revision 1.info.description: expected Rollback to N')
    helm(kubeconfig, "upgrade", RELEASE, str(CHART), "--reuse-values", "--set", "account.replicas=2",
         "--set", "account.tag=1.1.0", "--wait", "--timeout", "3m")
    assert_fails(helm_check(kubeconfig, tmp_path), 'revision 2.info.description: expected Rollback to N')
    helm(kubeconfig, "rollback", RELEASE, "1", "--wait", "--timeout", "3m")
    assert helm_check(kubeconfig, tmp_path)["status"] == "passed"

    # Changed by hand behind Helm's back: the cluster no longer runs what the release says.
    kubectl(kubeconfig, "-n", HELM_NAMESPACE, "scale", "deployment/account", "--replicas=5")
    assert_fails(helm_check(kubeconfig, tmp_path), "deployment/account (namespace workshop-helm).spec.replicas: "
                                                    "expected 1, got 5")
    solve_helm(kubeconfig)
    assert helm_check(kubeconfig, tmp_path)["status"] == "passed"
    assert kubectl(kubeconfig, "-n", HELM_NAMESPACE, "get", "deployment", "account",
                   "-o", "jsonpath={.spec.replicas}").stdout == "1"

    # An upgrade the API server refuses leaves a failed revision on top.
    failed = helm(kubeconfig, "upgrade", RELEASE, str(CHART), "--reuse-values", "--set", "account.replicas=-1",
                  check=False)
    assert failed.returncode != 0
    assert_fails(helm_check(kubeconfig, tmp_path), 'info.status: expected "deployed", got "failed (')
    assert "Helm release workshop is failed: removing it and its history" in solve_helm(kubeconfig)
    assert helm_check(kubeconfig, tmp_path)["status"] == "passed"

    helm(kubeconfig, "uninstall", RELEASE, "--keep-history", "--wait")
    assert_fails(helm_check(kubeconfig, tmp_path), 'info.status: expected "deployed", got "uninstalled (')
    assert "Helm release workshop is uninstalled: removing it and its history" in solve_helm(kubeconfig)
    assert helm_check(kubeconfig, tmp_path)["status"] == "passed"

    helm(kubeconfig, "uninstall", RELEASE, "--wait")
    assert_fails(helm_check(kubeconfig, tmp_path), NOT_INSTALLED)
