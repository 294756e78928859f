"""Every lab page, run against the sim cluster: each block passes or is marked, and the
page's cleanup leaves the cluster as the page found it."""

import io
import subprocess
import textwrap
import uuid

import pytest

from workshop.doctest.pages import lab_pages, read_page
from workshop.doctest.runner import page_env, run_page

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@pytest.mark.parametrize("page", lab_pages(), ids=lambda page: page.name)
def test_page_runs_on_the_sim(page, kubeconfig):
    log = io.StringIO()
    result = run_page(page, "sim", kubeconfig, out=log)
    assert result.ok, result.report()


def _page(tmp_path, body):
    path = tmp_path / "README.md"
    path.write_text(textwrap.dedent(body))
    return read_page(path, level=9)


def test_a_clean_page_leaves_the_cluster_as_found(tmp_path, kubeconfig):
    name = f"doctest-{uuid.uuid4().hex[:6]}"
    page = _page(tmp_path, f"""\
        ```console
        $ kubectl create namespace {name}
        $ kubectl -n {name} create configmap settings --from-literal=LOG_LEVEL=debug
        ```

        ```text
        namespace/{name} created
        configmap/settings created
        ```

        ## Cleanup

        ```console
        $ kubectl delete namespace {name} --wait=false
        ```
        """)
    result = run_page(page, "sim", kubeconfig, out=io.StringIO())
    assert result.ok, result.report()


def test_a_page_that_leaves_something_behind_is_caught(tmp_path, kubeconfig):
    name = f"doctest-{uuid.uuid4().hex[:6]}"
    page = _page(tmp_path, f"""\
        ```console
        $ kubectl create namespace {name}
        ```

        ## Cleanup

        ```console
        $ kubectl get namespace {name} -o name
        ```
        """)
    try:
        result = run_page(page, "sim", kubeconfig, out=io.StringIO(), cleanup_timeout=5)
        assert not result.ok
        assert result.cleanup_problem.startswith("the cleanup did not leave the cluster as found: left behind:")
        assert f"Namespace {name} (v1)" in result.cleanup_problem
        assert result.cleanup_problem.endswith(f"(the runner then deleted namespace {name})")
        phase = subprocess.run(["kubectl", "get", "namespace", name, "-o", "jsonpath={.status.phase}",
                                "--ignore-not-found"], env=page_env(kubeconfig, None), capture_output=True, text=True)
        assert phase.stdout in ("", "Terminating")
    finally:
        subprocess.run(["kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found"],
                       env=page_env(kubeconfig, None), capture_output=True, check=True)
