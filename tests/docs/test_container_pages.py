"""The lab pages with no cluster (level 1), run for real on the container engine: podman here
and in CI (`make containers-setup`), behind the runner's `docker` shim; a Docker engine if one
answers. Each block passes, and the page's Cleanup leaves no container, pod, volume or network
of compose behind (the runner removes any it finds, failure or not: port 8080 is free after)."""

import io
import os
import shutil
import subprocess

import pytest

from workshop import REPO_ROOT
from workshop.doctest.pages import lab_pages
from workshop.doctest.runner import docker_engine_reachable, run_page, uses_container_engine

pytestmark = [pytest.mark.containers, pytest.mark.slow]


@pytest.fixture(scope="module")
def container_engine():
    if docker_engine_reachable():
        return
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO_ROOT / ".cache" / "containers" / "containers.conf"))
    if shutil.which("podman") is None or subprocess.run(["podman", "info"], env=env, capture_output=True,
                                                         timeout=60).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("podman cannot run containers here (make containers-setup)")
        pytest.skip("SKIPPING THE LEVEL 1 PAGE: podman cannot run containers here (make containers-setup)")


@pytest.mark.parametrize("page", [page for page in lab_pages() if uses_container_engine(page)],
                         ids=lambda page: page.name)
def test_page_runs_on_the_container_engine(page, container_engine):
    result = run_page(page, "sim", None, out=io.StringIO())
    assert result.ok, result.report()
