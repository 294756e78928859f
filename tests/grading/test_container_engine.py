"""Level 1's grading target: reading Docker's and Podman's inspect output the same way."""

import pytest

from workshop.grading import engine
from workshop.grading.kube import CannotCheck

CMD = ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"]


@pytest.mark.parametrize("image", [
    {"Config": {"Healthcheck": {"Test": CMD}}},  # Docker
    {"Config": {}, "Healthcheck": {"Test": CMD}},  # Podman
])
def test_the_health_command_is_found_where_each_engine_keeps_it(image):
    assert engine.health_command(image).startswith("python3 -c 'import urllib.request;")


def test_no_health_check_is_none_and_a_shell_form_is_kept_as_is():
    assert engine.health_command({"Config": {}}) is None
    assert engine.health_command({"Config": {"Healthcheck": {"Test": ["NONE"]}}}) is None
    assert engine.health_command({"Config": {"Healthcheck": {"Test": ["CMD-SHELL", "curl -f x"]}}}) == "curl -f x"


@pytest.mark.parametrize("state, status", [
    ({"Health": {"Status": "healthy"}}, "healthy"),  # Docker
    ({"Healthcheck": {"Status": "starting"}}, "starting"),  # older Podman
    ({}, ""),
])
def test_health_status_reads_both_engines(state, status):
    assert engine.health_status({"State": state}) == status


def test_a_lab_grades_a_cluster_unless_it_says_otherwise(tmp_path):
    assert engine.lab_target(tmp_path) == "cluster"
    (tmp_path / "level.yaml").write_text("target: container-engine\n")
    assert engine.lab_target(tmp_path) == "container-engine"


def test_no_engine_is_one_sentence_saying_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("WORKSHOP_ENGINE", raising=False)
    with pytest.raises(CannotCheck, match="start Docker Desktop"):
        engine.ContainerEngine.detect()
