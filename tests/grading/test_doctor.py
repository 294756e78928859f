"""`workshop doctor`: version parsing, timeouts on every command, and fixes for every problem."""

import subprocess
import sys
import time

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


def test_capacity_thresholds():
    assert [f.status for f in doctor.check_capacity(cpus=1, available_bytes=2 * 2**30)] == [doctor.FAIL, doctor.FAIL]
    assert [f.status for f in doctor.check_capacity(cpus=2, available_bytes=6 * 2**30)] == [doctor.OK, doctor.WARN]
    assert [f.status for f in doctor.check_capacity(cpus=4, available_bytes=16 * 2**30)] == [doctor.OK, doctor.OK]


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
