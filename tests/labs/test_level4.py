"""Level 4: the packaging renders, the release loop's files hold together, and the lab runs on
a real API server (the sim cluster) with Argo CD's pinned install manifest.

Without a cluster: every Kustomize overlay renders with the project's kubectl; base is an
exact copy of level 3's manifests; skaffold.yaml builds every image the base runs, with
the schema of the pinned Skaffold; both CI definitions test, build and push every service
and bump manifests/overlays/dev through bump-image-tags.py, which is run here for real.

On the sim: `make lab-4` (Argo CD applied from manifests/install.yaml of the Go module
github.com/argoproj/argo-cd/v3 at ARGOCD_VERSION, the file the release URL serves, made by
workshop/sim/releases.py: its CRDs, RBAC and workloads, which KWOK marks ready) fails the checks, `make solve-4` passes them, `make reset-4` removes
everything, Argo CD's CRDs included. What the sim cannot produce: an Application's
Synced/Healthy status (it needs a repo-server that fetches from GitHub and pods that run).
That check (l4-synced-healthy, data_plane) is skipped by `workshop check` on the sim, and
its logic is tested on the Application after the TEST, as an admin, writes a status into it
(the CRD has no status subresource: status is part of the object).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labrun import REPO_ROOT, grade, kubectl, lab

from workshop.grading import CheckFailed
from workshop.grading.kube import Cluster
from workshop.versions import all_versions
from workshop.waits import wait_until

LEVEL = 4
LAB = REPO_ROOT / "labs" / "04-release"
MANIFESTS = REPO_ROOT / "manifests"
OVERLAYS = ("base", "overlays/dev", "overlays/prod")
SERVICES = ("gateway", "customer", "order", "account", "loadgen")
ALL_CHECKS = {"l4-dev-overlay", "l4-argocd-running", "l4-application", "l4-synced-healthy", "l4-canary",
              "l4-helm-release"}
DATA_PLANE = {"l4-synced-healthy"}
REPO_URL = "https://example.com/learner/microservices-workshop.git"  # any fork's URL: never fetched on the sim
# Skaffold config versions and the Skaffold releases that introduced them (v4beta13: v2.15.0,
# v4beta14: v2.19.0; see Skaffold's docs-v2/content/en/schemas/version-mappings/).
SKAFFOLD_SCHEMAS = {"skaffold/v4beta13": ((2, 15), (2, 18))}


def kubectl_binary() -> str:
    """The project's kubectl (built from source with the sim), else one on PATH."""
    built = REPO_ROOT / ".bin" / "kubectl"
    if built.exists():
        return str(built)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI must use the kubectl built into .bin/ (make sim-build)")
    found = subprocess.run(["bash", "-c", "command -v kubectl"], capture_output=True, text=True).stdout.strip()
    if not found:
        pytest.skip("no kubectl: run make sim-build")
    return found


def render(path: Path) -> list[dict]:
    done = subprocess.run([kubectl_binary(), "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl kustomize {path.relative_to(REPO_ROOT)} failed:\n{done.stderr}"
    return [item for item in yaml.safe_load_all(done.stdout) if item]


def ids(objects: list[dict]) -> set[tuple[str, str, str]]:
    return {(item["kind"], item["metadata"].get("namespace", ""), item["metadata"]["name"]) for item in objects}


# --- packaging, without a cluster --------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders(overlay):
    objects = render(MANIFESTS / overlay)
    deployments = {item["metadata"]["name"] for item in objects if item["kind"] == "Deployment"}
    assert {"gateway", "customer", "order", "account"} <= deployments
    namespaces = {item["metadata"].get("namespace") for item in objects if item["kind"] != "Namespace"}
    assert len(namespaces) == 1, f"{overlay} spreads over namespaces {namespaces}"
    [namespace] = [item for item in objects if item["kind"] == "Namespace"]
    assert namespace["metadata"]["name"] in namespaces
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_overlays_differ_where_they_say():
    dev, prod = render(MANIFESTS / "overlays" / "dev"), render(MANIFESTS / "overlays" / "prod")
    assert ("Deployment", "workshop", "loadgen") in ids(dev)
    assert not [item for item in prod if item["metadata"]["name"] == "loadgen"]
    prod_replicas = {item["metadata"]["name"]: item["spec"].get("replicas") for item in prod
                     if item["kind"] == "Deployment"}
    assert prod_replicas == {"gateway": None, "customer": 3, "order": 3, "account": 3}
    [hpa] = [item for item in prod if item["kind"] == "HorizontalPodAutoscaler"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    for objects, environment in ((dev, "dev"), (prod, "prod")):
        for item in objects:
            assert item["metadata"]["labels"]["environment"] == environment, item["metadata"]["name"]
            if item["kind"] == "Deployment":  # on the pods, never in the (immutable) selector
                assert item["spec"]["template"]["metadata"]["labels"]["environment"] == environment
                assert "environment" not in item["spec"]["selector"]["matchLabels"]


def test_every_component_has_a_readme_and_is_used():
    components = sorted(path for path in (MANIFESTS / "components").iterdir() if path.is_dir())
    assert components, "no components"
    used = "".join((MANIFESTS / "overlays" / name / "kustomization.yaml").read_text() for name in ("dev", "prod"))
    for component in components:
        assert (component / "README.md").read_text().startswith(f"# {component.name}\n")
        assert yaml.safe_load((component / "kustomization.yaml").read_text())["kind"] == "Component"
        assert f"../../components/{component.name}" in used, f"{component.name} is used by no overlay"


# Base is level 3's solution, copied: (copy in manifests/, original in labs/).
COPIES = [(f"base/app-{name}.yaml", f"03-operate/manifests/app-{name}.yaml") for name in SERVICES[:4]] + [
    ("base/namespace-workshop.yaml", "03-operate/manifests/namespace-workshop.yaml"),
    ("base/config-map-settings.yaml", "02-orchestrate/manifests/config-map-settings.yaml"),
    ("base/secret-gateway.yaml", "02-orchestrate/manifests/secret-gateway.yaml"),
] + [(f"base/database-{name}.yaml", f"02-orchestrate/manifests/database-{name}.yaml") for name in SERVICES[1:4]] + [
    ("components/availability/hpa-gateway.yaml", "03-operate/manifests/hpa-gateway.yaml"),
    ("components/loadgen/app-loadgen.yaml", "03-operate/manifests/app-loadgen.yaml"),
    ("components/loadgen/network-policy-loadgen.yaml", "03-operate/manifests/network-policy-loadgen.yaml"),
] + [(f"components/availability/pdb-{name}.yaml", f"03-operate/manifests/pdb-{name}.yaml") for name in SERVICES[:4]] + [
    (f"components/network-policies/network-policy-{name}.yaml", f"03-operate/manifests/network-policy-{name}.yaml")
    for name in ("default-deny", "allow-dns", "gateway", "customer", "order", "account",
                 "customer-db", "order-db", "account-db")]


@pytest.mark.parametrize(("copy", "original"), COPIES, ids=[copy for copy, _ in COPIES])
def test_the_packaged_manifests_are_the_labs_manifests(copy, original):
    assert (MANIFESTS / copy).read_text() == (REPO_ROOT / "labs" / original).read_text(), (
        f"manifests/{copy} drifted from labs/{original}: copy it again (the lab is the source)")


def test_skaffold_builds_every_image_the_base_runs_with_the_pinned_schema():
    config = yaml.safe_load((REPO_ROOT / "skaffold.yaml").read_text())
    low, high = SKAFFOLD_SCHEMAS[config["apiVersion"]]
    pinned = tuple(int(part) for part in all_versions()["SKAFFOLD_VERSION"].lstrip("v").split(".")[:2])
    assert low <= pinned <= high, f"{config['apiVersion']} is not the config version of Skaffold {pinned}"
    artifacts = {item["image"]: item for item in config["build"]["artifacts"]}
    for item in artifacts.values():
        assert (REPO_ROOT / item["context"] / item["docker"]["dockerfile"]).is_file(), item
    [path] = config["manifests"]["kustomize"]["paths"]
    images = {container["image"].split(":")[0] for item in render(REPO_ROOT / path) if item["kind"] == "Deployment"
              for container in item["spec"]["template"]["spec"]["containers"]}
    assert images == set(artifacts), "Skaffold must build exactly the images the manifests it deploys run"
    assert config["build"]["local"]["push"] is False


def test_both_ci_pipelines_test_build_push_and_bump_every_service():
    actions = yaml.safe_load((LAB / "ci" / "github-actions.yaml").read_text())
    jobs = actions["jobs"]
    assert jobs["build"]["needs"] == "test" and jobs["bump"]["needs"] == "build"
    for name in ("test", "build"):
        assert jobs[name]["strategy"]["matrix"]["service"] == list(SERVICES)
    build = next(step for step in jobs["build"]["steps"] if str(step.get("uses", "")).startswith("docker/build-push"))
    assert build["with"]["file"] == "services/${{ matrix.service }}/Dockerfile"
    assert "bump-image-tags.py manifests/overlays/dev" in json.dumps(jobs["bump"])
    assert actions[True]["push"]["paths-ignore"][0] == "manifests/overlays/**"  # YAML reads the key `on` as True

    circle = yaml.safe_load((LAB / "ci" / "circleci-config.yml").read_text())
    assert circle["version"] == 2.1
    flow = {next(iter(item)): next(iter(item.values())) for item in circle["workflows"]["release"]["jobs"]}
    assert flow["build"]["requires"] == ["test"] and flow["bump"]["requires"] == ["build"]
    for name in ("test", "build"):
        assert flow[name]["matrix"]["parameters"]["service"] == list(SERVICES)
    assert "bump-image-tags.py manifests/overlays/dev" in json.dumps(circle["jobs"]["bump"])
    assert "services/<< parameters.service >>/Dockerfile" in json.dumps(circle["jobs"]["build"])
    # Kept for learners to copy into their fork: this repository runs neither.
    assert not (REPO_ROOT / ".github" / "workflows" / "release.yaml").exists()
    assert not (REPO_ROOT / ".circleci").exists()


def bump(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LAB / "ci" / "bump-image-tags.py"), *args], capture_output=True,
                          text=True, timeout=30)


def test_the_bump_points_the_dev_overlay_at_the_new_images(tmp_path):
    copy = tmp_path / "manifests"
    subprocess.run(["cp", "-r", str(MANIFESTS), str(copy)], check=True)
    before = (copy / "overlays" / "dev" / "kustomization.yaml").read_text()
    done = bump(str(copy / "overlays" / "dev"), "--registry", "ghcr.io/learner/workshop", "--tag", "3f2c1e9")
    assert done.returncode == 0, done.stderr
    after = (copy / "overlays" / "dev" / "kustomization.yaml").read_text()
    images = {container["image"] for item in render(copy / "overlays" / "dev") if item["kind"] == "Deployment"
              for container in item["spec"]["template"]["spec"]["containers"]}
    assert images == {f"ghcr.io/learner/workshop/{name}:3f2c1e9" for name in SERVICES}
    # Only the images block changed: comments and the rest of the file stay.
    assert after.split("images:")[0] == before.split("images:")[0]
    again = bump(str(copy / "overlays" / "dev"), "--registry", "ghcr.io/learner/workshop", "--tag", "3f2c1e9")
    assert again.returncode == 0 and (copy / "overlays" / "dev" / "kustomization.yaml").read_text() == after


@pytest.mark.parametrize(("args", "says"), [
    (["--tag", "not a tag"], "'not a tag' is not a valid image tag"),
    (["--tag", "ok"], "cannot read"),
    (["--tag", "ok"], "has no top-level `images:` list"),
], ids=["bad-tag", "no-overlay", "no-images"])
def test_the_bump_refuses_bad_input_in_one_sentence(args, says, tmp_path):
    overlay = tmp_path / "overlay"
    if says != "cannot read":
        overlay.mkdir()
        (overlay / "kustomization.yaml").write_text("resources:\n- ../base\n")
    done = bump(str(overlay), "--registry", "ghcr.io/x/workshop", *args)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


# --- the lab on the sim cluster -------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_env():
    """A fork's URL for lab.sh (this clone may have no https origin). Argo CD's manifest: on the
    sim, labrun points ARGOCD_MANIFEST at the file workshop/sim/releases.py makes from its Go module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ARGOCD_MANIFEST", raising=False)
        patch.setenv("REPO_URL", REPO_URL)
        yield


@pytest.fixture(scope="module")
def started(kubeconfig: Path, lab_env) -> Path:
    lab("reset", LEVEL, kubeconfig)
    lab("deploy", LEVEL, kubeconfig)
    return kubeconfig


@pytest.mark.cluster
@pytest.mark.slow
def test_every_manifest_passes_server_side_dry_run(started, tmp_path):
    for path in sorted((LAB / "manifests").glob("*.yaml")):
        done = kubectl(started, "apply", "--dry-run=server", "-f", str(path), check=False)
        assert done.returncode == 0, f"{path.relative_to(REPO_ROOT)}:\n{done.stderr}"
    for overlay in OVERLAYS:
        rendered = tmp_path / f"{overlay.replace('/', '-')}.yaml"
        rendered.write_text(yaml.safe_dump_all(render(MANIFESTS / overlay)))
        namespace = "workshop-prod" if overlay.endswith("prod") else "workshop"
        created = kubectl(started, "create", "namespace", namespace, check=False).returncode == 0
        try:  # a server-side dry run does not create the namespace its objects need
            done = kubectl(started, "apply", "--dry-run=server", "-f", str(rendered), check=False)
            assert done.returncode == 0, f"manifests/{overlay}:\n{done.stderr}"
        finally:
            if created and namespace != "workshop":
                kubectl(started, "delete", "namespace", namespace, "--wait=false")


@pytest.mark.cluster
@pytest.mark.slow
def test_the_starting_state_fails_what_level_4_adds(started, tmp_path, simulated):
    graded = grade(LEVEL, started, tmp_path)
    assert graded.returncode == 1, graded.stdout
    statuses = graded.by_status()
    assert statuses["passed"] == {"l4-argocd-running"}, graded.stdout
    assert statuses["failed"] == ALL_CHECKS - {"l4-argocd-running"} - (DATA_PLANE if simulated else set())
    assert ('deployment/gateway.metadata.labels.environment: expected "dev", got nothing'
            in graded.check("l4-dev-overlay")["mismatches"])
    assert graded.check("l4-application")["mismatches"] == [
        "application/workshop-dev (namespace argocd): expected it to exist, got nothing"]
    assert "deployment/account-v2: expected it to exist, got nothing" in graded.check("l4-canary")["mismatches"]


@pytest.fixture(scope="module")
def solved(started: Path) -> Path:
    lab("solve", LEVEL, started)
    return started


@pytest.mark.cluster
@pytest.mark.slow
def test_solve_makes_every_check_pass(solved, tmp_path, simulated):
    graded = grade(LEVEL, solved, tmp_path, "--wait", "60")
    assert graded.returncode == 0, graded.stdout
    statuses = graded.by_status()
    assert statuses["passed"] == ALL_CHECKS - (DATA_PLANE if simulated else set()), graded.stdout
    application = json.loads(kubectl(solved, "-n", "argocd", "get", "application", "workshop-dev", "-o", "json").stdout)
    assert application["spec"]["source"]["repoURL"] == REPO_URL


def ops(patch) -> list[str]:
    return ["--type", "json", "-p", json.dumps(patch)]


NS = ["-n", "workshop"]
BROKEN = {
    "placeholder-repo": (["-n", "argocd", "patch", "application/workshop-dev", *ops([{
        "op": "replace", "path": "/spec/source/repoURL",
        "value": "https://github.com/YOUR-GITHUB-USER/microservices-workshop.git"}])], {"l4-application"},
        'application/workshop-dev.spec.source.repoURL: expected your fork\'s URL, '
        'got "https://github.com/YOUR-GITHUB-USER/microservices-workshop.git"'),
    "manual-sync": (["-n", "argocd", "patch", "application/workshop-dev", "--type=merge", "-p",
                     '{"spec": {"syncPolicy": null}}'], {"l4-application"},
                    'application/workshop-dev (namespace argocd).spec.syncPolicy: expected {"automated": {"prune": true, '
                    '"selfHeal": true}}, got nothing'),
    "hand-applied": (["apply", "-f", str(REPO_ROOT / "labs" / "03-operate" / "manifests" / "app-order.yaml")],
                     {"l4-dev-overlay"}, 'deployment/order.metadata.labels.environment: expected "dev", got nothing'),
    "version-in-selector": ([*NS, "patch", "service/account", "--type=merge", "-p",
                             '{"spec": {"selector": {"version": "v1"}}}'], {"l4-canary"},
                            'service/account.spec.selector.version: expected not set: the Service must select both '
                            'versions, got "v1"'),
    "canary-majority": ([*NS, "scale", "deployment/account-v2", "--replicas=3"], {"l4-canary"},
                        'service/account share of v2: expected less than half: fewer v2 pods than v1 (3), got "3 of 6 '
                        'pods"'),
}


def ready_endpoints_of(kubeconfig: Path, service: str, pod_prefix: str) -> int:
    """Ready endpoints of ``service`` whose pod's name starts with ``pod_prefix`` (what l4-canary counts)."""
    slices = json.loads(kubectl(kubeconfig, *NS, "get", "endpointslices", "-l", f"kubernetes.io/service-name={service}",
                                "-o", "json").stdout)["items"]
    return sum(1 for piece in slices for endpoint in piece.get("endpoints") or []
               if (endpoint.get("targetRef") or {}).get("name", "").startswith(pod_prefix)
               and (endpoint.get("conditions") or {}).get("ready", True))


def settle_canary_majority(kubeconfig: Path) -> None:
    # The Deployment is rolled out before the EndpointSlice controller has listed the new pods:
    # l4-canary counts endpoints, so wait until the three v2 pods are behind the Service.
    kubectl(kubeconfig, *NS, "rollout", "status", "deployment/account-v2", "--timeout=120s")
    wait_until("the account Service has 3 ready endpoints of account-v2",
               lambda: ready_endpoints_of(kubeconfig, "account", "account-v2-") >= 3, timeout=120, interval=1)


# What to wait for after a breakage before grading: the broken state must exist (the new
# pods of a scale-up created, ready and behind the Service), or the check sees the old state and passes.
SETTLE = {
    "canary-majority": settle_canary_majority,
}


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_state_fails_its_check_with_hint_and_diff(name, solved, tmp_path):
    breakage, failing, says = BROKEN[name]
    kubectl(solved, *breakage)
    try:
        if name in SETTLE:
            SETTLE[name](solved)
        graded = grade(LEVEL, solved, tmp_path)
        assert graded.returncode == 1, graded.stdout
        assert graded.by_status()["failed"] == failing, graded.stdout
        found = [line for check_id in failing for line in graded.check(check_id)["mismatches"]]
        assert says in found, f"{says!r} not in {found}"
    finally:
        lab("solve", LEVEL, solved)  # converges: it removes the selector key a merge patch added


@pytest.fixture
def check_marker(pytestconfig):
    """Importing a check module declares its checks with the `workshop_check` marker, which
    `workshop check` registers; register it here too (markers are strict in this suite)."""
    pytestconfig.addinivalue_line("markers", "workshop_check(spec): a self-grading check (workshop.grading.check)")


def load_check(name: str):
    spec = importlib.util.spec_from_file_location(f"level4_{name}", LAB / "checks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.cluster
@pytest.mark.slow
def test_synced_healthy_check_reads_argocds_verdict(solved, kubeconfig, check_marker):
    """No repo-server can fetch on the sim, so no controller ever writes the Application's
    status: the TEST writes what Argo CD would, and the check must follow it."""
    checks = load_check("check_02_argocd")
    cluster = Cluster.connect(kubeconfig=str(kubeconfig))

    def set_status(status: dict | None) -> None:
        kubectl(kubeconfig, "-n", "argocd", "patch", "application/workshop-dev", "--type=merge",
                "-p", json.dumps({"status": status}))
        cluster.refresh()

    try:
        no_status = r"workshop-dev \(namespace argocd\)\.status: expected .*\"Synced\".*, got nothing"
        with pytest.raises(CheckFailed, match=no_status):
            checks.check_synced_healthy(cluster, "argocd")  # as the sim leaves it: no status at all
        set_status({"sync": {"status": "Synced", "revision": "8b9c0d1e"}, "health": {"status": "Healthy"}})
        checks.check_synced_healthy(cluster, "argocd")
        set_status({"sync": {"status": "OutOfSync", "revision": "8b9c0d1e"}, "health": {"status": "Healthy"}})
        with pytest.raises(CheckFailed, match='status.sync.status: expected "Synced", got "OutOfSync"'):
            checks.check_synced_healthy(cluster, "argocd")
        set_status({"sync": {"status": "Synced", "revision": "8b9c0d1e"}, "health": {"status": "Degraded"}})
        with pytest.raises(CheckFailed, match='status.health.status: expected "Healthy", got "Degraded"'):
            checks.check_synced_healthy(cluster, "argocd")
    finally:
        set_status(None)
        cluster.close()


@pytest.mark.cluster
@pytest.mark.slow
def test_reset_leaves_nothing_behind(solved, lab_env):
    lab("reset", LEVEL, solved)
    for namespace in ("workshop", "workshop-helm", "argocd"):  # the Helm release's history lives in its namespace
        gone = kubectl(solved, "get", "namespace", namespace, check=False)
        assert gone.returncode != 0 and "NotFound" in gone.stderr, namespace
    crds = kubectl(solved, "get", "crds", "-o", "name").stdout
    assert not re.search(r"argoproj\.io", crds), crds
    cluster_wide = kubectl(solved, "get", "clusterroles,clusterrolebindings", "-o", "name").stdout
    assert "argocd" not in cluster_wide, [line for line in cluster_wide.split() if "argocd" in line]
