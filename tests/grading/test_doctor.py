"""`workshop doctor`: version parsing, timeouts on every command, and fixes for every problem."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from workshop import engine, laptop
from workshop.engine import EngineInfo
from workshop.grading import doctor


def test_parse_and_compare_versions():
    assert doctor.parse_version("kind v0.1.2 go1.25 linux/amd64") == "0.1.2"
    assert doctor.parse_version("Client Version: v1.2.3\nKustomize Version: v5.7.1") == "1.2.3"
    assert doctor.parse_version("nothing here") is None
    assert doctor.compare("1.2.3", "v1.2.3", minor_skew=False)
    assert not doctor.compare("1.2.4", "v1.2.3", minor_skew=False)
    assert doctor.compare("1.8.9", "v1.9.0", minor_skew=True) and not doctor.compare("1.7.0", "v1.9.0", minor_skew=True)


def test_a_command_that_hangs_is_cut_off():
    started = time.monotonic()
    assert doctor.run(["sleep", "30"], timeout=0.5) == (124, "")
    assert time.monotonic() - started < 5


def test_a_missing_tool_comes_with_the_fix():
    tool = doctor.Tool("no-such-tool-xyz", ("version",), "KIND_VERSION")
    finding = doctor.check_tool(tool, {"KIND_VERSION": "v9.9.9"})
    assert finding.status == doctor.FAIL
    assert finding.line() == "✗ no-such-tool-xyz: not found. Install no-such-tool-xyz v9.9.9: see Level 0 (labs/00-setup)"


def test_a_tool_at_another_version_is_a_warning(tmp_path, monkeypatch):
    fake = tmp_path / "faketool"
    fake.write_text("#!/bin/sh\necho 'faketool version v1.0.0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    finding = doctor.check_tool(doctor.Tool("faketool", ("version",), "X"), {"X": "v2.0.0"})
    assert finding.status == doctor.WARN and "tested with v2.0.0" in finding.what
    assert doctor.check_tool(doctor.Tool("faketool", ("version",), "X"), {"X": "v1.0.0"}).status == doctor.OK


GiB = 2**30


def machine(cpus, gib, name="docker"):
    return EngineInfo(name, cpus, int(gib * GiB), "arm64", "28.3.2")


def test_capacity_is_judged_on_the_engines_machine_against_the_generated_figures():
    data = laptop.load()
    level, most_cpus, most_gib = laptop.highest(data)
    least_cpus, least_gib = laptop.lowest(data)
    # Enough for every measured level: says so, with the generated figure.
    [enough] = doctor.check_capacity(machine(most_cpus, most_gib + 0.5))
    assert enough.status == doctor.OK and f"{most_cpus} CPUs and {most_gib} GiB" in enough.what
    assert "docker's machine has" in enough.what and "linux/arm64" in enough.what
    # Less than the least any level needs: a problem, with the fix.
    [short] = doctor.check_capacity(machine(least_cpus, least_gib - 0.25))
    assert short.status == doctor.FAIL and f"{least_cpus} CPUs and {least_gib} GiB" in short.what
    assert "podman machine set" in short.fix
    # Between the two: a warning naming the levels that do not fit and their figures.
    data = {**data, "levels": {**data["levels"], "9": {"cpus": most_cpus, "memory_gib": most_gib + 4, "complete": True}}}
    [some] = doctor.check_capacity(machine(most_cpus, most_gib + 0.5), data)
    assert some.status == doctor.WARN and f"level 9 needs {most_cpus} CPUs and {most_gib + 4} GiB" in some.what
    # No engine: unknown, never the laptop's own /proc/meminfo.
    [unknown] = doctor.check_capacity(None)
    assert unknown.status == doctor.WARN and "unknown" in unknown.what


def test_doctor_states_no_figure_of_its_own():
    """Every CPU or memory threshold comes from labs/00-setup/laptop.json (the figures the pages state)."""
    source = Path(doctor.__file__).read_text()
    assert not re.findall(r"\d+(?:\.\d+)?\s*(?:GiB|GB)\b", source), "doctor.py types a memory figure"
    assert "/proc/meminfo" not in source and "cpu_count" not in source


FIXTURES = Path(__file__).parents[1] / "fixtures" / "engine-info"


def test_docker_info_is_read_from_its_json_fields():
    info = engine.parse_docker_info((FIXTURES / "docker-api-1.29-info-sample.json").read_text())
    assert (info.name, info.cpus, info.memory_bytes, info.arch, info.version) == ("docker", 1, 2099236864, "amd64", "1.9.0")
    assert not info.can_save_one_platform()      # `image save --platform` needs Docker 28 (API 1.48)
    # Docker Desktop on Apple Silicon reports the VM's kernel architecture: aarch64 is linux/arm64.
    desktop = engine.parse_docker_info('{"NCPU": 8, "MemTotal": 8217473024, "Architecture": "aarch64", '
                                       '"OSType": "linux", "ServerVersion": "28.3.2"}\nWARNING: a warning after the JSON')
    assert desktop.platform == "linux/arm64" and desktop.can_save_one_platform()


def test_docker_without_its_daemon_is_an_error_not_zero_cpus():
    with pytest.raises(engine.EngineError, match="daemon did not answer"):
        engine.parse_docker_info((FIXTURES / "docker-28.2.2-no-daemon.txt").read_text())


def test_podman_info_is_read_from_its_host_section():
    recorded = engine.parse_podman_info((FIXTURES / "podman-4.3.1-linux-amd64.json").read_text())
    assert (recorded.name, recorded.cpus, recorded.memory_bytes, recorded.arch) == ("podman", 2, 25276510208, "amd64")
    with pytest.raises(engine.EngineError, match="did not print JSON"):
        engine.parse_podman_info("Error: cannot connect to Podman")


@pytest.mark.containers
def test_a_real_podman_info_run():
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    info = engine.engine_info("podman")
    assert info.name == "podman" and info.cpus >= 1 and info.memory_bytes > 2**28
    assert info.platform in ("linux/amd64", "linux/arm64")


def recorded_engines(answers: dict[str, tuple[int, str]]):
    """A runner that answers as recorded: {"docker -v": (0, "Docker version 28.3.2, build x"), ...}."""
    def runner(command, timeout):
        name = Path(command[0]).name
        return answers.get(" ".join([name, *command[1:]]), (127, f"{name}: not found"))
    return runner


DOCKER_UP = {"docker -v": (0, "Docker version 28.3.2, build 578ccf6"),
             "docker info --format json": (0, '{"NCPU": 4, "MemTotal": 4101234688, "Architecture": "x86_64", '
                                              '"ServerVersion": "28.3.2"}')}
DOCKER_DOWN = {"docker -v": (0, "Docker version 28.2.2, build e6534b4"),
               "docker info --format json": (1, (FIXTURES / "docker-28.2.2-no-daemon.txt").read_text())}
PODMAN_UP = {"podman -v": (0, "podman version 4.3.1"),
             "podman info --format json": (0, (FIXTURES / "podman-4.3.1-linux-amd64.json").read_text())}


def choose(answers, **env):
    runner = recorded_engines(answers)
    with mock.patch.object(engine.shutil, "which", lambda name: f"/usr/bin/{name}" if f"{name} -v" in answers else None):
        return engine.choose_engine(env, runner).name, engine.kind_provider(env, runner)


def test_the_engine_is_chosen_as_kind_and_preload_choose():
    assert choose({**DOCKER_UP, **PODMAN_UP}) == ("docker", "docker")           # Docker first, as kind
    assert choose({**DOCKER_DOWN, **PODMAN_UP}) == ("podman", "docker")         # kind would still pick Docker
    assert choose({**DOCKER_DOWN, **PODMAN_UP}, KIND_EXPERIMENTAL_PROVIDER="podman") == ("podman", "podman")
    assert choose({**DOCKER_UP, **PODMAN_UP}, WORKSHOP_ENGINE="podman") == ("podman", "docker")
    assert choose(PODMAN_UP) == ("podman", "podman")
    # podman-docker's `docker` is Podman: kind does not take it for Docker, nor do we.
    shim = {"docker -v": (0, "podman version 4.3.1"), **PODMAN_UP}
    assert choose(shim) == ("podman", "podman")
    assert choose({}) == (None, None)


def test_doctor_names_the_engine_kind_will_use_when_it_is_another():
    runner = recorded_engines({**DOCKER_DOWN, **PODMAN_UP})
    with mock.patch.object(engine.shutil, "which", lambda name: f"/usr/bin/{name}"):
        findings, info = doctor.check_engine(env={}, runner=runner)
    assert [f.status for f in findings] == [doctor.OK, doctor.WARN]
    assert findings[1].fix == "Start docker, or `export KIND_EXPERIMENTAL_PROVIDER=podman`"
    assert info.name == "podman" and info.cpus == 2


def test_doctor_runs_to_the_end_with_an_unreachable_cluster(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text('{"apiVersion": "v1", "kind": "Config", "current-context": "kind-gone",'
                          ' "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],'
                          ' "users": [{"name": "u", "user": {"token": "t"}}],'
                          ' "contexts": [{"name": "kind-gone", "context": {"cluster": "c", "user": "u"}}]}')
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workshop.cli", "doctor", "--kubeconfig", str(kubeconfig)],
                          capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 60
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "✓ kube context kind-gone is local" in done.stdout
    assert "✗ cluster does not answer. Cannot reach the Kubernetes API server at https://127.0.0.1:1" in done.stdout
    assert "problem(s) to fix." in done.stdout
