"""What a learner on a real laptop runs, read as that learner: the paths no sim branch may hide.

Each test here stands for a way the workshop broke on kind (Docker Desktop or Podman) while the
tests on the sim stayed green: image names Podman and Docker resolve differently, images never
loaded into the cluster, `istioctl` not on PATH, Skaffold deleting the namespace on Ctrl-C, a CI
pipeline building one architecture only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from workshop.doctest.pages import lab_pages, read_page

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "customer", "order", "account", "loadgen", "invoice")
# An image reference of one of the workshop's own services, wherever it is written.
SERVICE_IMAGE = re.compile(r"(?<![\w./-])((?:[\w.-]+(?::\d+)?/)?workshop/(?:" + "|".join(SERVICES) + r")):[\w.-]+")


def docker_normalized(name: str) -> str:
    """What Docker (and kind's containerd) make of a repository name: docker.io/ unless it names a registry."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if rest else f"docker.io/library/{name}"


def podman_normalized(name: str) -> str:
    """What `podman build -t NAME` stores: localhost/ unless the name already names a registry."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"localhost/{name}"


def learner_files() -> list[Path]:
    """Every file a learner builds, loads or deploys the services' images with."""
    patterns = ["compose.yaml", "skaffold.yaml", "manifests/**/*.yaml", "labs/**/*.yaml", "labs/**/*.md",
                "labs/**/*.sh", "labs/**/*.py", "scripts/containers/*.sh", "services/*/Dockerfile",
                "services/**/README.md", "services/README.md"]
    files = {path for pattern in patterns for path in REPO_ROOT.glob(pattern)}
    return sorted(path for path in files if ".cache" not in path.parts)


def test_docker_and_podman_resolve_every_service_image_to_the_same_name():
    """`podman save | kind load image-archive` keeps Podman's name: the manifests must ask for exactly that."""
    wrong = []
    for path in learner_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for name in SERVICE_IMAGE.findall(line):
                if name.startswith(("ghcr.io/", "localhost:5001/")):
                    continue  # level 4's registry, level 0's local registry: fully qualified already
                if docker_normalized(name) != podman_normalized(name):
                    wrong.append(f"{path.relative_to(REPO_ROOT)}:{number}: {name} is "
                                 f"{docker_normalized(name)} for Docker, {podman_normalized(name)} for Podman")
    assert not wrong, "\n".join(wrong)


def images_of(folder: Path) -> set[str]:
    """The workshop's own service images the YAML files of a lab folder deploy."""
    found = set()
    for path in folder.rglob("*.yaml"):
        found.update(f"{name}:{tag}" for name, tag in re.findall(
            r"image:\s*\"?((?:[\w.-]+/)?workshop/(?:" + "|".join(SERVICES) + r")):([\w.-]+)", path.read_text()))
    return found


def kind_loaded(level: int) -> set[str]:
    """The images the page of ``level`` tells the learner to `kind load` (loops over services expanded)."""
    loaded = set()
    for block in read_page(next((REPO_ROOT / "labs").glob(f"{level:02d}-*")) / "README.md").blocks:
        for command in block.commands:
            if "kind load" not in command.text:
                continue
            loop = re.search(r"for (\w+) in ([\w ]+);", command.text)
            text = command.text
            if loop:
                variable, values = loop.group(1), loop.group(2).split()
                text = "\n".join(text.replace(f"${variable}", value) for value in values)
            loaded.update(f"{name}:{tag}" for name, tag in SERVICE_IMAGE_WITH_TAG.findall(text))
    return loaded


SERVICE_IMAGE_WITH_TAG = re.compile(r"(?<![\w./-])((?:[\w.-]+/)?workshop/(?:" + "|".join(SERVICES) + r")):([\w.-]+)")


@pytest.mark.parametrize("level", [2, 3, 4, 5, 6, 7])
def test_every_image_a_level_deploys_was_loaded_into_kind_by_then(level):
    """Levels 2 to 6 share cluster `workshop`: what an earlier page loaded is there. Level 7 makes new clusters."""
    first = 7 if level == 7 else 2
    loaded = set().union(*(kind_loaded(number) for number in range(first, level + 1)))
    folder = next((REPO_ROOT / "labs").glob(f"{level:02d}-*"))
    missing = images_of(folder) - loaded
    assert not missing, (f"labs/{folder.name} deploys {sorted(missing)}, which no page up to level {level} loads "
                         "into kind: its pods would sit in ErrImageNeverPull/ErrImagePull")


def test_every_rollout_status_on_a_page_has_a_timeout():
    """`kubectl rollout status` with no timeout waits forever on an image that is not there."""
    endless = [f"{block.where}: {command.text}" for page in lab_pages() for block in page.blocks
               for command in block.commands
               if "rollout status" in command.text and "--timeout" not in command.text]
    assert not endless, "\n".join(endless)


BARE_ISTIOCTL = re.compile(r"(^|[|;&(]\s*|\$\(\s*)istioctl\b", re.MULTILINE)


@pytest.mark.parametrize("level", [5, 7])
def test_istioctl_is_put_on_path_before_a_page_calls_it_by_name(level):
    """The release is unpacked into ./istio-<version>/bin: nothing puts that on PATH unless the page does."""
    page = read_page(next((REPO_ROOT / "labs").glob(f"{level:02d}-*")) / "README.md")
    on_path = False
    for block in page.blocks:
        for command in block.commands:
            if re.search(r"export PATH=\"?\$PWD/istio-[\w.]+/bin:\$PATH", command.text):
                on_path = True
            elif BARE_ISTIOCTL.search(command.text):
                assert on_path, f"{block.where}: `{command.text}` calls istioctl before the page puts it on PATH"


def test_skaffold_deploys_no_namespace_and_keeps_the_dev_label():
    """Skaffold deletes what it deployed: never the namespace; and it must not strip the dev overlay's label."""
    kubectl = shutil.which("kubectl") or str(REPO_ROOT / ".bin" / "kubectl")
    if not Path(kubectl).exists():
        pytest.skip("kubectl is built with the sim (make sim-build)")
    config = yaml.safe_load((REPO_ROOT / "skaffold.yaml").read_text())
    artifacts = {artifact["image"] for artifact in config["build"]["artifacts"]}
    for path in config["manifests"]["kustomize"]["paths"]:
        rendered = subprocess.run([kubectl, "kustomize", str(REPO_ROOT / path)], capture_output=True, text=True,
                                  check=True, timeout=60).stdout
        objects = [item for item in yaml.safe_load_all(rendered) if item]
        assert not [item for item in objects if item["kind"] == "Namespace"], f"{path} renders a Namespace"
        deployments = [item for item in objects if item["kind"] == "Deployment"]
        assert deployments, f"{path} renders no Deployment"
        for deployment in deployments:
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert labels.get("environment") == "dev", f"{path}: {deployment['metadata']['name']} loses the dev label"
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                assert container["image"].rsplit(":", 1)[0] in artifacts, \
                    f"{path}: {container['image']} is not an image Skaffold builds, so it would not be replaced"
    page = (REPO_ROOT / "labs" / "04-release" / "README.md").read_text()
    assert "skaffold dev --cleanup=false" in page


@pytest.mark.parametrize("pipeline", ["github-actions.yaml", "circleci-config.yml"])
def test_the_level4_pipelines_build_for_both_laptop_architectures(pipeline):
    """Apple Silicon kind nodes are arm64: an amd64-only image has no entry for them."""
    text = (REPO_ROOT / "labs" / "04-release" / "ci" / pipeline).read_text()
    assert re.search(r"platforms?\W+linux/amd64,linux/arm64", text), f"{pipeline} builds one architecture only"


def test_no_route_of_level5_puts_a_timeout_or_retries_beside_a_fault():
    """Istio delays or aborts before the route's timeout starts: a timeout beside a fault never fires."""
    wrong = []
    for path in sorted((REPO_ROOT / "labs" / "05-istio" / "manifests").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "VirtualService":
                continue
            for route in document["spec"].get("http") or []:
                if "fault" in route and ({"timeout", "retries"} & set(route)):
                    wrong.append(f"{path.name}: route {route.get('name', '?')} has a fault and "
                                 f"{', '.join(sorted({'timeout', 'retries'} & set(route)))}")
    assert not wrong, "\n".join(wrong)
