"""Generated lines stay in sync with versions.env, and compose.yaml matches the services."""

import re
from pathlib import Path

import pytest
import yaml

from workshop.versions import all_versions

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["gateway", "customer", "order", "account", "loadgen"]
DOCKERFILES = sorted(path.parent.name for path in (REPO / "services").glob("*/Dockerfile"))
MARKER = "# generated from versions.env"


@pytest.mark.parametrize("service", DOCKERFILES)
def test_dockerfile_base_image_is_generated_from_versions_env(service):
    lines = (REPO / "services" / service / "Dockerfile").read_text().splitlines()
    # The marker stands on the line above: a Dockerfile has no end-of-line comments.
    generated = [(above, line) for above, line in zip(lines, lines[1:]) if line.startswith("ARG BASE_IMAGE=")]
    assert len(generated) == 1 and generated[0][0].startswith(MARKER), f"services/{service}/Dockerfile: marker missing"
    expected = f"ARG BASE_IMAGE={all_versions()['PYTHON_BASE_IMAGE']}"
    assert generated[0][1] == expected, f"services/{service}/Dockerfile: run `make sync-versions`"


def test_compose_builds_every_service_from_its_dockerfile():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    for service in SERVICES:
        spec = compose["services"][service]
        assert spec["build"] == {"context": "services", "dockerfile": f"{service}/Dockerfile"}
        assert spec["image"] == f"localhost/workshop/{service}:dev" and spec["read_only"] is True
    assert compose["services"]["gateway"]["ports"] == ["127.0.0.1:8080:8080"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_requirements_reuse_the_shared_pins(service):
    text = (REPO / "services" / service / "requirements.txt").read_text()
    assert "-r ../common/requirements.txt" in text and not re.search(r"==", text)
