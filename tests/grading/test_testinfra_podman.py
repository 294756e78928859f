"""In-container checks through testinfra's podman backend (what level 1's checks use)."""

import os
import shutil
import subprocess
import uuid

import pytest
from checkrun import REPO_ROOT, run_workshop_check

IMAGE = "localhost/workshop/account:dev"
pytestmark = pytest.mark.containers


@pytest.fixture
def container(monkeypatch):
    # The containers.conf scripts/containers/setup.sh writes (runc, cgroupfs: podman in a sandbox).
    conf = REPO_ROOT / ".cache" / "containers" / "containers.conf"
    if "CONTAINERS_CONF" not in os.environ and conf.is_file():
        monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    if subprocess.run(["podman", "image", "exists", IMAGE], timeout=30).returncode != 0:
        pytest.skip(f"{IMAGE} is not built (level 1's images: see labs/01-containerize)")
    name = f"grading-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["podman", "run", "-d", "--rm", "--name", name, "--read-only", "--tmpfs", "/tmp",
                    "-e", "DATA_DIR=/tmp",
                    IMAGE], check=True, capture_output=True, timeout=60)
    yield name
    subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, timeout=60)


def test_a_check_looks_inside_a_running_container(container, stub, tmp_path, write_checks):
    checks = write_checks({"check_container.py": f"""
        from workshop.grading import check

        @check(id="t-non-root", title="account runs as uid 10001", hint="USER 10001", timeout=0)
        def check_non_root(testinfra_host):
            host = testinfra_host("podman://{container}")
            assert host.user().uid == 10001, f"runs as uid {{host.user().uid}}"
            assert host.file("/tmp").is_directory

        @check(id="t-root", title="(must fail) account runs as root", hint="-", timeout=0)
        def check_root(testinfra_host):
            assert testinfra_host("podman://{container}").user().uid == 0
    """})
    run = run_workshop_check(1, "--kubeconfig", str(stub.kubeconfig(tmp_path)), "--checks", str(checks),
                             json_path=tmp_path / "r.json")
    statuses = {item["id"]: item["status"] for item in run.report["checks"]}
    assert statuses == {"t-non-root": "passed", "t-root": "failed"}, run.stdout
