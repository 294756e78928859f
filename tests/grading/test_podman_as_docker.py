"""Podman answering as `docker` (podman-docker, or the doc runner's shim): level 1's checker
still finds the containers of a locally built image, which Podman names localhost/<name>."""

import json
import os

from workshop.grading.engine import ContainerEngine

# A `docker` that is podman: `ps --filter ancestor=` only knows the localhost/ name.
FAKE_DOCKER = """#!/usr/bin/env bash
case "$1" in
  ps) [[ "$3" == "ancestor=localhost/workshop/gateway:dev" ]] && echo c0ffee ;;
  inspect) echo '[{"Id": "c0ffee", "Name": "workshop_gateway_1"}]' ;;
esac
exit 0
"""


def test_a_docker_that_is_podman_finds_the_localhost_image_containers(tmp_path, monkeypatch):
    (tmp_path / "docker").write_text(FAKE_DOCKER)
    (tmp_path / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    containers = ContainerEngine("docker", "4.3.1").containers_of("localhost/workshop/gateway:dev")
    assert containers == json.loads('[{"Id": "c0ffee", "Name": "workshop_gateway_1"}]')
