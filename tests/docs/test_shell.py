"""One bash session per page: state carries over like in a learner's terminal."""

import os
from pathlib import Path

from workshop.doctest.shell import Shell

ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}


def test_cd_export_variables_and_jobs_carry_over(tmp_path):
    (tmp_path / "sub").mkdir()
    with Shell(tmp_path, ENV) as shell:
        assert shell.run("cd sub && export A=1 && B=2").status == 0
        outcome = shell.run("echo $PWD $A $B")
        assert outcome.output == f"{tmp_path / 'sub'} 1 2\n"
        shell.run("sleep 300 &")
        assert shell.run("kill %1 && echo killed").output == "killed\n"


def test_stdout_and_stderr_are_kept_in_order_with_the_status(tmp_path):
    with Shell(tmp_path, ENV) as shell:
        outcome = shell.run("echo out; echo err >&2; false")
        assert (outcome.output, outcome.status) == ("out\nerr\n", 1)
        assert shell.run("cat; echo stdin-is-empty").output == "stdin-is-empty\n"


def test_a_command_that_never_returns_times_out_and_ends_its_processes(tmp_path):
    marker = tmp_path / "pid"
    with Shell(tmp_path, ENV) as shell:
        outcome = shell.run(f"sleep 300 & echo $! > {marker}; echo waiting; sleep 300", timeout=1)
        assert outcome.status is None and outcome.error.startswith("timed out after 1 s")
        assert outcome.output == "waiting\n", "what it printed before the timeout is kept"
        assert shell.run("echo later").error.startswith("not run: the shell had already ended")
    pid = int(marker.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_exit_ends_the_session_with_a_clear_error(tmp_path):
    with Shell(tmp_path, ENV) as shell:
        outcome = shell.run("exit 3")
        assert outcome.status is None and "exited during this command" in outcome.error
