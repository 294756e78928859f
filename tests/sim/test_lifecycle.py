"""The sim cluster's own promises: idempotent start, clean stop, loud failures.

These start a cluster of their own (number 9: .sim/9/, context workshop-sim-9), so they
never disturb the cluster the other tests use. The module starts it twice in all.
"""

import io
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from workshop import REPO_ROOT
from workshop.pytest_cluster import _unavailable

LIFECYCLE_SIM = 9
READY_LINE = re.compile(r"^sim-up: ready_seconds=\d+\.\d nodes=[1-9]\d*$")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`workshop sim ...` as a user runs it, in a child process."""
    return subprocess.run([sys.executable, "-m", "workshop.cli", "sim", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=env, timeout=600)


def processes_of(root: Path) -> list[int]:
    """Pids of every process whose arguments mention this state folder (ours or not)."""
    marker = f"{root}/"
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(marker.encode() in arg for arg in args[1:]) and b"pytest" not in args[0]:
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def sim():
    from workshop.sim.cluster import Sim
    from workshop.sim.gobuild import BuildError

    if os.environ.get("WORKSHOP_KUBECONFIG"):
        pytest.skip("tests of the sim cluster itself: WORKSHOP_KUBECONFIG is set, so no sim is started")
    sim = Sim(LIFECYCLE_SIM)
    sim.down(out=io.StringIO())
    try:
        from workshop.sim.build import build_all

        build_all(log=lambda message: None)
    except BuildError as error:
        _unavailable(str(error))
    yield sim
    sim.down(out=io.StringIO())


def test_up_prints_ready_line_last_and_second_up_is_a_no_op(sim):
    first = run_cli("up", "--sim", str(LIFECYCLE_SIM))
    assert first.returncode == 0, first.stderr + first.stdout
    assert READY_LINE.match(first.stdout.strip().splitlines()[-1]), first.stdout
    pids = {process.name: process.pid() for process in sim.processes()}
    assert all(pids.values()) and sim.is_up()

    second = run_cli("up", "--sim", str(LIFECYCLE_SIM))
    assert second.returncode == 0, second.stderr
    assert "already up: nothing to do" in second.stdout
    assert READY_LINE.match(second.stdout.strip().splitlines()[-1]), second.stdout
    assert {process.name: process.pid() for process in sim.processes()} == pids, "a no-op start restarted something"


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to list listening sockets")
def test_every_component_listens_on_loopback_only(sim):
    sim.up(out=io.StringIO())
    pids = {process.pid() for process in sim.processes()}
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line.split()[3] for line in listening if any(f"pid={pid}," in line for pid in pids)]
    assert len(ours) >= 4, f"expected etcd (2), kube-apiserver, controller manager, scheduler: {ours}"
    assert all(address.startswith("127.0.0.1:") for address in ours), ours


def test_status_reports_a_killed_component_with_its_log(sim):
    sim.up(out=io.StringIO())
    assert run_cli("status", "--sim", str(LIFECYCLE_SIM)).returncode == 0
    [scheduler] = [process for process in sim.processes() if process.name == "kube-scheduler"]
    os.kill(scheduler.pid(), signal.SIGKILL)

    status = run_cli("status", "--sim", str(LIFECYCLE_SIM))
    assert status.returncode == 1, status.stdout
    assert re.search(r"kube-scheduler\s+STOPPED", status.stdout), status.stdout
    last_line = scheduler.log_file.read_text().splitlines()[-1]
    assert last_line in status.stdout, "the tail of the scheduler's log is missing"

    # The next start says what it found, and repairs it.
    again = run_cli("up", "--sim", str(LIFECYCLE_SIM))
    assert again.returncode == 0, again.stderr
    assert "stale pid file of kube-scheduler" in again.stdout
    assert sim.is_up()


def test_down_leaves_no_process_and_status_then_says_not_running(sim):
    sim.up(out=io.StringIO())
    assert processes_of(sim.root)
    # A process no pid file names any more (as after a start that was killed) is found too.
    (sim.root / "kwok.pid").unlink()
    down = run_cli("down", "--sim", str(LIFECYCLE_SIM))
    assert down.returncode == 0, down.stderr
    assert processes_of(sim.root) == []
    assert not list(sim.root.glob("*.pid"))
    status = run_cli("status", "--sim", str(LIFECYCLE_SIM))
    assert status.returncode == 3 and "is not running" in status.stdout


def test_a_stale_pid_file_is_not_trusted(sim, tmp_path):
    sim.down(out=io.StringIO())
    # A pid that certainly runs something else: this test process itself.
    (sim.root / "etcd.pid").write_text(f"{os.getpid()}\n")
    status = run_cli("status", "--sim", str(LIFECYCLE_SIM))
    assert status.returncode == 3 and "stale pid files: etcd" in status.stdout
    run_cli("down", "--sim", str(LIFECYCLE_SIM))
    assert os.getpid() and not (sim.root / "etcd.pid").exists()


def test_missing_go_is_one_clear_sentence(tmp_path):
    env = {**os.environ, "PATH": "/usr/bin:/bin", "WORKSHOP_CACHE": str(tmp_path / "empty-cache")}
    result = run_cli("build", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Go toolchain" in result.stderr


def test_a_component_that_exits_during_start_is_reported_and_nothing_is_left(sim, monkeypatch):
    from workshop.sim.cluster import ComponentExited, Sim

    sim.down(out=io.StringIO())
    real_commands = Sim._commands

    def broken_commands(self, *args):
        commands = real_commands(self, *args)
        commands["kube-apiserver"].append("--no-such-flag")
        return commands

    monkeypatch.setattr(Sim, "_commands", broken_commands)
    with pytest.raises(ComponentExited, match=r"kube-apiserver exited with status 1; last lines of .*kube-apiserver\.log"):
        sim.up(out=io.StringIO())
    assert "unknown flag: --no-such-flag" in (sim.root / "logs" / "kube-apiserver.log").read_text()
    assert processes_of(sim.root) == [], "a failed start must stop what it started"
