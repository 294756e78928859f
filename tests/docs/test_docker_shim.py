"""The doc runner's `docker` shim (workshop/doctest/runner.py): real scripts run by real bash.

The "real" podman and podman-compose here are small recording scripts on PATH, so every test
sees exactly the arguments the shim passed on, without a container engine; the last test
builds a real image with the real podman when there is one.
"""

import os
import shlex
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from workshop import REPO_ROOT
from workshop.doctest.runner import docker_engine_reachable, docker_shim

LOCAL_BASE = "localhost/workshop/base-python:bookworm"  # scripts/containers/lib.sh's LOCAL_BASE_IMAGE

# A stand-in for /usr/bin/podman: one line per call in $CALLS (its arguments, then CONTAINERS_CONF),
# `image exists` says yes, `healthcheck run` passes once $HEALTHY_AFTER calls were made.
FAKE_PODMAN = """#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$CALLS"
printf 'CONTAINERS_CONF=%s\\n' "${CONTAINERS_CONF:-}" >>"$CALLS.env"
case "$1 ${2:-}" in
  "image exists") exit 0 ;;
  "container inspect") echo yes ;;
  "healthcheck run")
    count=$(( $(cat "$CALLS.health" 2>/dev/null || echo 0) + 1 )); echo "$count" >"$CALLS.health"
    (( count > ${HEALTHY_AFTER:-0} )) || { echo unhealthy; exit 1; } ;;
esac
exit 0
"""
FAKE_COMPOSE = """#!/usr/bin/env bash
printf 'podman-compose %s\\n' "$*" >>"$CALLS"
[[ " $* " == *" ps -q "* ]] && printf 'c1\\nc2\\n'
exit 0
"""


@pytest.fixture
def shim(tmp_path, monkeypatch):
    """(run, calls): run(*argv) runs the shim's docker or podman; calls() is what the fake podman got."""
    if docker_engine_reachable():
        pytest.skip("a Docker engine answers here: the runner makes no shim")
    bin_dir, shim_dir = tmp_path / "bin", tmp_path / "shim"
    bin_dir.mkdir()
    shim_dir.mkdir()
    for name, text in {"podman": FAKE_PODMAN, "podman-compose": FAKE_COMPOSE}.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert docker_shim(shim_dir) == shim_dir
    calls = tmp_path / "calls"
    env = {key: value for key, value in os.environ.items() if key not in ("CONTAINERS_CONF", "BASE_IMAGE")}
    env.update(PATH=f"{shim_dir}{os.pathsep}{bin_dir}{os.pathsep}{os.environ['PATH']}", CALLS=str(calls))

    def run(*argv: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), env={**env, **extra_env}, capture_output=True, text=True, timeout=60)

    def recorded() -> list[str]:
        return calls.read_text().splitlines() if calls.exists() else []

    def recorded_env() -> list[str]:
        return Path(f"{calls}.env").read_text().splitlines()

    recorded.env = recorded_env
    return run, recorded


def builds(calls: list[str]) -> list[list[str]]:
    return [shlex.split(call) for call in calls if call.startswith("build ")]


def test_build_gets_this_machines_options_before_the_learners(shim):
    run, calls = shim
    done = run("docker", "build", "-f", "services/gateway/Dockerfile", "-t", "localhost/workshop/gateway:dev", "services")
    assert done.returncode == 0, done.stderr
    [argv] = builds(calls())
    learner = ["-f", "services/gateway/Dockerfile", "-t", "localhost/workshop/gateway:dev", "services"]
    assert argv[-len(learner):] == learner
    injected = argv[1:-len(learner)]
    assert injected[:3] == ["--format", "docker", "--network=host"]
    assert ["--build-arg", f"BASE_IMAGE={LOCAL_BASE}"] == injected[3:5]
    if Path("/etc/pip.conf").is_file():
        assert "/etc/pip.conf:/etc/pip.conf:ro" in injected
    if Path("/etc/ssl/certs").is_dir():
        assert "/etc/ssl/certs:/etc/ssl/certs:ro" in injected


def test_a_base_image_the_learner_passes_comes_last_and_wins(shim):
    run, calls = shim
    assert run("podman", "build", "--build-arg", "BASE_IMAGE=python:3", "-t", "x", ".").returncode == 0
    [argv] = builds(calls())
    bases = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--build-arg"]
    assert bases == [f"BASE_IMAGE={LOCAL_BASE}", "BASE_IMAGE=python:3"]


def test_image_build_is_a_build_too(shim):
    run, calls = shim
    assert run("docker", "image", "build", "-t", "x", ".").returncode == 0
    [argv] = builds(calls())
    assert argv[1:4] == ["--format", "docker", "--network=host"] and argv[-3:] == ["-t", "x", "."]


@pytest.mark.parametrize("argv", [
    ["ps", "-a", "--format", "{{.Names}}"],
    ["run", "--rm", "localhost/workshop/gateway:dev", "id"],
    ["image", "inspect", "localhost/workshop/gateway:dev", "--format", '{{ index .Config.Labels "io.workshop.service" }}'],
    ["history", "localhost/workshop/gateway:dev"],
    ["image", "ls", "localhost/workshop/*"],
])
def test_other_commands_reach_podman_untouched(shim, argv):
    run, calls = shim
    assert run("docker", *argv).returncode == 0
    assert calls() == [" ".join(argv)]


def test_podman_gets_the_workshop_containers_conf(shim):
    run, calls = shim
    assert run("docker", "ps").returncode == 0
    assert calls.env() == [f"CONTAINERS_CONF={REPO_ROOT / '.cache' / 'containers' / 'containers.conf'}"]


def test_docker_compose_is_podman_compose(shim):
    run, calls = shim
    assert run("docker", "compose", "ps", "--format", "{{.Image}}").returncode == 0
    assert calls() == ["podman-compose ps --format {{.Image}}"]


def test_up_wait_runs_each_health_check_until_it_passes(shim):
    run, calls = shim
    done = run("docker", "compose", "up", "-d", "--build", "--wait", HEALTHY_AFTER="2")
    assert done.returncode == 0, done.stderr
    recorded = calls()
    assert recorded[:2] == ["podman-compose up -d --build --wait", "podman-compose ps -q"]
    health = [call for call in recorded if call.startswith("healthcheck run")]
    assert health == ["healthcheck run c1"] * 3 + ["healthcheck run c2"]


def test_up_wait_gives_up_with_a_sentence_when_a_check_never_passes(shim):
    run, _ = shim
    done = run("docker", "compose", "up", "-d", "--wait", HEALTHY_AFTER="1000", DOCTEST_WAIT_SECONDS="1")
    assert done.returncode == 1
    assert "docker compose up --wait: container c1 is not healthy" in done.stderr


def test_up_without_wait_runs_no_health_check(shim):
    run, calls = shim
    assert run("docker", "compose", "up", "-d").returncode == 0
    assert calls() == ["podman-compose up -d"]


def test_no_shim_when_a_docker_engine_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    assert docker_shim(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def _podman_works() -> bool:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO_ROOT / ".cache" / "containers" / "containers.conf"))
    return (shutil.which("podman") is not None
            and subprocess.run(["podman", "image", "exists", LOCAL_BASE], env=env, capture_output=True).returncode == 0)


@pytest.mark.containers
@pytest.mark.slow
@pytest.mark.skipif(docker_engine_reachable() or not _podman_works(),
                    reason="needs podman and the local base image (make containers-setup), and no Docker engine")
def test_a_learners_docker_build_builds_here_on_the_local_base_with_its_health_check(tmp_path):
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    assert docker_shim(shim_dir) == shim_dir
    # The default base cannot be pulled (no registry answers here): the build must use the local one.
    (tmp_path / "Dockerfile").write_text(textwrap.dedent("""\
        ARG BASE_IMAGE=registry.invalid/no-such-base
        FROM ${BASE_IMAGE}
        HEALTHCHECK CMD ["true"]
        CMD ["python3", "--version"]
        """))
    env = {key: value for key, value in os.environ.items() if key not in ("CONTAINERS_CONF", "BASE_IMAGE")}
    env["PATH"] = f"{shim_dir}{os.pathsep}{env['PATH']}"
    tag = f"localhost/doctest-shim-{tmp_path.name.lower()}:test"
    try:
        built = subprocess.run(["docker", "build", "-q", "-t", tag, str(tmp_path)], env=env, capture_output=True,
                               text=True, timeout=300)
        assert built.returncode == 0, built.stderr[-2000:]
        health = subprocess.run(["docker", "image", "inspect", tag, "--format", "{{json .Config.Healthcheck}}"],
                                env=env, capture_output=True, text=True)
        assert '"true"' in health.stdout, "podman's default OCI format would have dropped the HEALTHCHECK"
        ran = subprocess.run(["docker", "run", "--rm", tag], env=env, capture_output=True, text=True, timeout=120)
        assert ran.stdout.startswith("Python 3."), ran.stdout + ran.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], env=env, capture_output=True)
