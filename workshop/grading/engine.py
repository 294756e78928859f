"""The container engine as a grading target, for levels that run no cluster (level 1).

A lab says so in ``checks/level.yaml`` (``target: container-engine``); ``workshop check``
then grades Docker or Podman, whichever answers, instead of a kube context. The engine
is only read: ``image inspect``, ``ps``, ``inspect`` — and, through testinfra, commands
run inside the learner's own containers (``id``, the image's health check).

    engine = ContainerEngine.detect()          # WORKSHOP_ENGINE=podman to choose
    engine.inspect_image("localhost/workshop/gateway:dev")["Config"]["Labels"]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from workshop.grading.kube import CannotCheck

COMMAND_TIMEOUT = 20  # seconds: an engine that hangs must not hang the checker
ENGINES = ("docker", "podman")


def lab_target(checks_dir: Path) -> str:
    """What a lab's checks grade: ``cluster`` (the default) or ``container-engine``."""
    settings = checks_dir / "level.yaml"
    if not settings.is_file():
        return "cluster"
    return (yaml.safe_load(settings.read_text()) or {}).get("target", "cluster")


class ContainerEngine:
    """Read-only access to Docker or Podman through its command line."""

    def __init__(self, name: str, version: str):
        self.name = name
        self.context = name  # what the report's header names as "context"
        self.server = f"{name} {version}"
        self.requests = 0

    @classmethod
    def detect(cls) -> "ContainerEngine":
        wanted = os.environ.get("WORKSHOP_ENGINE")
        candidates = [wanted] if wanted else [name for name in ENGINES if shutil.which(name)]
        for name in candidates:
            try:
                done = subprocess.run([name, "version", "--format", "{{.Client.Version}}"], capture_output=True,
                                      text=True, timeout=COMMAND_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0:
                return cls(name, done.stdout.strip() or "?")
        raise CannotCheck("No container engine answers: start Docker Desktop (or install Podman), "
                          "then run make check-1 again.")

    # --- what the grading plugin expects of a target ---------------------------------
    def preflight(self) -> str:
        return ""  # no Kubernetes version to report; the header names the engine

    def is_simulated(self) -> bool:
        return False

    def begin_attempt(self) -> None:
        """Nothing is cached between attempts: every read asks the engine."""

    def refresh(self) -> None:
        """See begin_attempt."""

    def close(self) -> None:
        """Nothing to close: every read is its own process."""

    # --- reads -----------------------------------------------------------------------
    def run(self, *args: str) -> subprocess.CompletedProcess:
        self.requests += 1
        try:
            return subprocess.run([self.name, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise CannotCheck(f"`{self.name} {' '.join(args)}` did not answer in {COMMAND_TIMEOUT} s: "
                              f"is {self.name} running?") from None

    def inspect_image(self, ref: str) -> dict | None:
        """``image inspect`` of ``ref``, or None when there is no such image."""
        done = self.run("image", "inspect", ref)
        return json.loads(done.stdout)[0] if done.returncode == 0 and done.stdout.strip() else None

    def containers_of(self, image: str) -> list[dict]:
        """``inspect`` of every running container started from ``image``."""
        ids: list[str] = []
        # Podman names a locally built image localhost/<name>, and its filter wants that name;
        # also when it answers as `docker` (podman-docker, or the doc runner's shim).
        names = [image, f"localhost/{image}"] if "/" in image else [image]
        for name in names:
            done = self.run("ps", "--filter", f"ancestor={name}", "--format", "{{.ID}}")
            ids += [found for found in done.stdout.split() if found not in ids] if done.returncode == 0 else []
        if not ids:
            return []
        inspected = self.run("inspect", *ids)
        return json.loads(inspected.stdout) if inspected.returncode == 0 else []

    def testinfra_spec(self, container: dict) -> str:
        """``podman://workshop-gateway``: how testinfra reaches inside a container."""
        return f"{self.name}://{container['Name'].lstrip('/')}"


def health_status(container: dict) -> str:
    """``healthy``, ``unhealthy``, ``starting`` or ``""`` (no health check), for Docker and Podman."""
    state = container.get("State") or {}
    health = state.get("Health") or state.get("Healthcheck") or {}
    return health.get("Status", "")


def health_command(image: dict) -> str | None:
    """The image's HEALTHCHECK as a shell command line, or None when it has none."""
    # Docker keeps it under Config; Podman at the top level of `image inspect`.
    healthcheck = (image.get("Config") or {}).get("Healthcheck") or image.get("Healthcheck") or {}
    test = healthcheck.get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return test[1]
    import shlex

    return shlex.join(test[1:] if test[0] == "CMD" else test)
