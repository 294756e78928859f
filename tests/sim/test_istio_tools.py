"""istioctl built from the pinned Istio source: analyze, kube-inject, and an install on the sim.

The injection tests pin down the exact Pod shape the pinned Istio makes on Kubernetes 1.33+
(istio-proxy as a native sidecar), so the level 5 checkers are tested on real-shape Pods.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from workshop import REPO_ROOT
from workshop.sim import istio
from workshop.sim.gobuild import BuildError
from workshop.versions import all_versions

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "istio"
GOOD = [FIXTURES / name for name in ("service-account.yaml", "destination-rule-account.yaml",
                                     "virtual-service-account-90-10.yaml")]
BAD_VIRTUAL_SERVICE = FIXTURES / "virtual-service-account-undefined-subset.yaml"
DEPLOYMENT = FIXTURES / "deployment-account-v1.yaml"
# Where manifests live; a file can declare the findings it is meant to have (a lab's broken
# step) with a comment line "# istioctl analyze expects: IST0101".
MANIFEST_FOLDERS = ("labs", "manifests")
EXPECTS = re.compile(r"^#\s*istioctl analyze expects:\s*(.+)$", re.MULTILINE)
# Objects other files provide that an Istio resource may refer to.
CONTEXT_KINDS = {"Service", "Deployment", "StatefulSet", "ServiceAccount", "Namespace"}


@pytest.fixture(scope="session")
def istioctl() -> Path:
    """The cached istioctl (built if needed); skipped loudly without Go, failed in CI."""
    try:
        return istio.build_istioctl()
    except BuildError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"istioctl is required in CI (CI=true): {error}", pytrace=False)
        pytest.skip(f"ISTIOCTL UNAVAILABLE, Istio tool tests NOT RUN: {error}")


def single_object(injected_yaml: str) -> dict:
    (item,) = [doc for doc in yaml.safe_load_all(injected_yaml) if doc]  # kube-inject ends with "---"
    return item


def pod_template(injected_yaml: str) -> dict:
    return single_object(injected_yaml)["spec"]["template"]


def names(containers: list[dict] | None) -> list[str]:
    return [container["name"] for container in containers or []]


# --- istioctl itself ---------------------------------------------------------------------

def test_istioctl_version_names_the_branch_and_commit_it_was_built_from(istioctl):
    result = istio.run_istioctl(["version", "--remote=false", "--output=json"])
    client = json.loads(result.stdout)["clientVersion"]
    versions = all_versions()
    # The release the pinned release-branch commit ships as (what lab.sh's find_istioctl looks for);
    # the tag names the exact commit.
    assert client["version"] == versions["ISTIO_VERSION"]
    assert versions["ISTIO_SOURCE_VERSION"].endswith(client["revision"])
    assert client["tag"] == versions["ISTIO_SOURCE_VERSION"]


# --- istioctl analyze --------------------------------------------------------------------

def test_analyze_passes_a_virtual_service_whose_subsets_exist(istioctl):
    assert istio.analyze(GOOD) == []


def test_analyze_flags_a_virtual_service_routing_to_an_undefined_subset(istioctl):
    messages = istio.analyze([*GOOD[:2], BAD_VIRTUAL_SERVICE])
    assert [(m.code, m.level, m.origin) for m in messages] == [("IST0101", "Error", "VirtualService default/account")]
    assert '"account+v3"' in messages[0].message
    assert messages[0].reference.endswith(f"{BAD_VIRTUAL_SERVICE.name}:18")


def test_analyze_looks_at_every_namespace_not_only_default(istioctl, tmp_path):
    """The lab's objects live in namespace workshop: analyze must not skip them."""
    for fixture in [*GOOD[:2], BAD_VIRTUAL_SERVICE]:
        (tmp_path / fixture.name).write_text(fixture.read_text().replace("namespace: default", "namespace: workshop"))
    messages = istio.analyze(sorted(tmp_path.iterdir()))
    assert [(m.code, m.origin) for m in messages] == [("IST0101", "VirtualService workshop/account")]


def test_analyze_refuses_an_unparseable_file_in_one_sentence(istioctl, tmp_path):
    broken = tmp_path / "virtual-service-broken.yaml"
    broken.write_text("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x\n")
    with pytest.raises(istio.IstioError, match=r"could not parse a file: .*virtual-service-broken\.yaml"):
        istio.analyze([broken])
    with pytest.raises(istio.IstioError, match="no such file"):
        istio.analyze([tmp_path / "missing.yaml"])


def yaml_documents(path: Path) -> list[dict]:
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
    except yaml.YAMLError:
        return []  # not plain YAML (a template, say): analyze would not read it either


def is_istio(document: dict) -> bool:
    group = str(document.get("apiVersion", "")).partition("/")[0]
    return group == "istio.io" or group.endswith(".istio.io")


def identity(document: dict) -> tuple:
    metadata = document.get("metadata") or {}
    return document.get("kind"), metadata.get("namespace", "default"), metadata.get("name")


def repo_yaml_files() -> list[Path]:
    return sorted(path for folder in MANIFEST_FOLDERS for pattern in ("*.yaml", "*.yml")
                  for path in (REPO_ROOT / folder).rglob(pattern))


def repo_istio_manifests() -> list[Path]:
    return [path for path in repo_yaml_files() if any(is_istio(doc) for doc in yaml_documents(path))]


def context_for(manifest: Path, files: list[Path]) -> list[dict]:
    """What the other files give the manifest to refer to: workloads, Services, other Istio objects.

    Variants of one object (virtual-service-account-90-10 / -50-50) would overwrite each other,
    so the manifest's own objects win and the first variant of any other one is kept.
    """
    seen = {identity(doc) for doc in yaml_documents(manifest)}
    context = []
    for path in files:
        if path == manifest:
            continue
        for doc in yaml_documents(path):
            if (doc.get("kind") in CONTEXT_KINDS or is_istio(doc)) and identity(doc) not in seen:
                seen.add(identity(doc))
                context.append(doc)
    return context


def analyze_in_repo(manifest: Path, files: list[Path], scratch: Path) -> list[str]:
    """Problems analyze finds in ``manifest`` (Errors, Warnings) beyond those the file declares."""
    context = scratch / f"context-of-{manifest.stem}.yaml"
    context.write_text(yaml.safe_dump_all(context_for(manifest, files)))
    messages = [m for m in istio.analyze([manifest, context])
                if m.level in ("Error", "Warning") and m.reference.startswith(str(manifest))]
    expected = set(" ".join(EXPECTS.findall(manifest.read_text())).replace(",", " ").split())
    name = manifest.relative_to(REPO_ROOT) if manifest.is_relative_to(REPO_ROOT) else manifest
    problems = [f"{name}: {m}" for m in messages if m.code not in expected]
    return problems + [f"{name}: expected {code} (declared in the file), analyze did not report it"
                       for code in sorted(expected - {m.code for m in messages})]


def test_every_istio_manifest_in_the_repo_passes_analyze(istioctl, tmp_path):
    """Each Istio manifest under labs/ and manifests/, with the rest of the repo as context."""
    manifests = repo_istio_manifests()
    if not manifests:
        pytest.skip("no Istio manifest under labs/ or manifests/ yet (the fixtures above still test analyze)")
    files = repo_yaml_files()
    problems = [problem for manifest in manifests for problem in analyze_in_repo(manifest, files, tmp_path)]
    assert problems == [], "istioctl analyze:\n" + "\n".join(problems)


def test_the_repo_check_flags_a_broken_manifest_and_honours_declared_findings(istioctl, tmp_path):
    bad = tmp_path / BAD_VIRTUAL_SERVICE.name
    bad.write_text(BAD_VIRTUAL_SERVICE.read_text())
    files = [*GOOD[:2], bad]
    (problem,) = analyze_in_repo(bad, files, tmp_path)
    assert "IST0101" in problem and "account+v3" in problem
    bad.write_text("# istioctl analyze expects: IST0101\n" + BAD_VIRTUAL_SERVICE.read_text())
    assert analyze_in_repo(bad, files, tmp_path) == []
    good = tmp_path / "virtual-service-good.yaml"
    good.write_text("# istioctl analyze expects: IST0101\n" + GOOD[2].read_text())
    assert analyze_in_repo(good, [*GOOD[:2], good], tmp_path) == [
        f"{good}: expected IST0101 (declared in the file), analyze did not report it"]


def repo_istio_operators() -> list[Path]:
    return [path for path in repo_yaml_files()
            if any(doc.get("kind") == "IstioOperator" for doc in yaml_documents(path))]


def test_every_istio_operator_in_the_repo_renders(istioctl):
    """What `istioctl install -f FILE` would install: istioctl refuses unknown fields."""
    operators = repo_istio_operators()
    if not operators:
        pytest.skip("no IstioOperator file under labs/ or manifests/ yet")
    problems = []
    for path in operators:
        try:
            kinds = {item["kind"] for item in istio.render_install(operator_files=[path])}
        except istio.IstioError as error:
            problems.append(f"{path.relative_to(REPO_ROOT)}: {error}")
        else:
            assert "Deployment" in kinds or "Service" in kinds, path
    assert problems == [], "\n".join(problems)


def test_render_refuses_an_istio_operator_with_an_unknown_field(istioctl, tmp_path):
    operator = tmp_path / "istio-operator-typo.yaml"
    operator.write_text("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n"
                        "spec:\n  profile: demo\n  values:\n    global:\n      meshIDD: typo\n")
    with pytest.raises(istio.IstioError, match='unknown field "meshIDD"'):
        istio.render_install(operator_files=[operator])


def test_repo_manifest_discovery_tells_istio_from_other_yaml(tmp_path):
    """The collector above must find Istio objects and only them, or that test proves nothing."""
    istio_file = tmp_path / "mixed.yaml"
    istio_file.write_text(DEPLOYMENT.read_text() + "---\n" + BAD_VIRTUAL_SERVICE.read_text())
    plain = tmp_path / "service.yaml"
    plain.write_text(GOOD[0].read_text())
    assert [is_istio(doc) for doc in yaml_documents(istio_file)] == [False, True]
    assert not any(is_istio(doc) for doc in yaml_documents(plain))
    assert [identity(doc) for doc in context_for(plain, [istio_file, plain])] == [
        ("Deployment", "default", "account-v1"), ("VirtualService", "default", "account")]


# --- kube-inject: the exact Pod shape ----------------------------------------------------

@pytest.fixture(scope="module")
def injected(istioctl) -> dict:
    return pod_template(istio.inject(DEPLOYMENT.read_text()))


def test_inject_makes_istio_proxy_a_native_sidecar(injected):
    spec = injected["spec"]
    assert names(spec["containers"]) == ["account"]
    # istio-init (iptables, no CNI in the profile) runs first, then the proxy starts and keeps running.
    assert names(spec["initContainers"]) == ["istio-init", "istio-proxy"]
    init, proxy = spec["initContainers"]
    assert proxy["restartPolicy"] == "Always"
    assert "restartPolicy" not in init
    assert init["args"][0] == "istio-iptables"
    assert set(init["securityContext"]["capabilities"]["add"]) == {"NET_ADMIN", "NET_RAW"}
    image = f"docker.io/istio/proxyv2:{all_versions()['ISTIO_VERSION']}"
    assert proxy["image"] == init["image"] == image
    assert proxy["securityContext"]["runAsUser"] == 1337
    assert proxy["startupProbe"]["httpGet"]["port"] == 15021


def test_inject_rewrites_app_probes_and_marks_the_pod_as_istiod_does(injected):
    metadata, spec = injected["metadata"], injected["spec"]
    status = json.loads(metadata["annotations"]["sidecar.istio.io/status"])
    assert status["initContainers"] == ["istio-init", "istio-proxy"] and status["containers"] is None
    assert metadata["annotations"]["kubectl.kubernetes.io/default-container"] == "account"
    assert metadata["annotations"]["prometheus.io/port"] == "15020"
    assert metadata["labels"]["security.istio.io/tlsMode"] == "istio"
    assert metadata["labels"]["service.istio.io/canonical-name"] == "account"
    assert metadata["labels"]["service.istio.io/canonical-revision"] == "v1"
    # The agent answers the app's probes on 15020 and forwards them to 8080.
    (app,) = spec["containers"]
    assert app["readinessProbe"]["httpGet"] == {"path": "/app-health/account/readyz", "port": 15020}


def test_inject_without_native_sidecars_gives_the_classic_shape(istioctl):
    """The switch above is what makes the difference (what a cluster before 1.33 gets)."""
    spec = pod_template(istio.inject(DEPLOYMENT.read_text(), native_sidecars=False))["spec"]
    assert names(spec["containers"]) == ["account", "istio-proxy"]
    assert names(spec["initContainers"]) == ["istio-init"]
    assert "restartPolicy" not in spec["containers"][1]


def test_a_pod_can_still_opt_out_of_native_sidecars(istioctl):
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    deployment["spec"]["template"]["metadata"]["annotations"] = {"sidecar.istio.io/nativeSidecar": "false"}
    spec = pod_template(istio.inject(yaml.safe_dump(deployment)))["spec"]
    assert names(spec["containers"]) == ["account", "istio-proxy"]


# --- On the sim cluster ------------------------------------------------------------------

def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.3)
    return result


def test_an_injected_deployment_becomes_ready_on_the_sim(istioctl, api_client, namespace):
    from kubernetes import client, dynamic

    deployment = single_object(istio.inject(DEPLOYMENT.read_text()))
    dynamic.DynamicClient(api_client).resources.get(api_version="apps/v1", kind="Deployment").server_side_apply(
        body=deployment, namespace=namespace, field_manager="test-istio-tools")
    core = client.CoreV1Api(api_client)

    def ready_pod():
        pods = core.list_namespaced_pod(namespace, label_selector="app=account").items
        ready = [pod for pod in pods if any(c.type == "Ready" and c.status == "True"
                                            for c in pod.status.conditions or [])]
        return ready[0] if ready else None

    pod = wait_for(ready_pod, "the injected account Pod to be Ready")
    assert [c.name for c in pod.spec.init_containers] == ["istio-init", "istio-proxy"]
    assert pod.spec.init_containers[1].restart_policy == "Always"
    statuses = {status.name: status for status in pod.status.init_container_statuses}
    assert statuses["istio-init"].state.terminated.exit_code == 0
    assert statuses["istio-proxy"].state.running and statuses["istio-proxy"].ready
    assert [status.name for status in pod.status.container_statuses] == ["account"]

