"""Issue 20, item 13: `make app-up` in a fresh checkout. The container scripts write the podman
settings they need themselves, and `make images` sets containers up first."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "containers"


def test_make_images_runs_the_container_setup_first():
    plan = subprocess.run(["make", "-n", "images"], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True).stdout
    setup, build = plan.find("scripts/containers/setup.sh"), plan.find("scripts/containers/build.sh")
    assert 0 <= setup < build, plan


@pytest.mark.skipif(shutil.which("podman") is None, reason="build.sh stops earlier without podman")
def test_build_writes_the_podman_settings_a_fresh_checkout_lacks(tmp_path):
    cache = tmp_path / "fresh-cache"
    env = {k: v for k, v in os.environ.items() if k != "CONTAINERS_CONF"}
    # A service that does not exist: the script stops before building anything, after its setup.
    result = subprocess.run([str(SCRIPTS / "build.sh"), "no-such-service"], env={**env, "CONTAINERS_CACHE": str(cache)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no such service: no-such-service" in result.stderr
    assert "containers.conf: no such file" not in result.stderr
    assert 'runtime = "runc"' in (cache / "containers.conf").read_text()


def test_image_names_are_spelled_once():
    """The scripts name images through lib.sh's image_of, so a rename is one line."""
    for script in ("build.sh", "app.sh"):
        text = (SCRIPTS / script).read_text()
        assert "workshop/$service" not in text and "image_of" in text
