"""Every lab page, run against the sim cluster: each block passes or is marked, and the
page's cleanup leaves the cluster as the page found it. A page on two clusters (level 7) runs
on the second one too, as kind-east and kind-west (workshop.doctest.pair).

The levels of ``substrate.REAL_NODE_LEVELS`` run on the real-node sim (pods run): with level 1's
images built as ``make images`` builds them, and loaded by the page's own `kind load` (the
runner's stand-in for kind's CLI). Level 5 runs on the real mesh, beside the rest
(tests/docs/test_level5_page.py). The others run on the KWOK sim."""

import io
import os
import subprocess
import textwrap
import uuid

import pytest

from workshop import REPO_ROOT
from workshop.doctest import pair, substrate
from workshop.doctest.pages import lab_pages, read_page
from workshop.doctest.runner import page_env, run_page

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# Level 1 runs no cluster: tests/docs/test_container_pages.py runs it on the container engine.
ON_KWOK = [page for page in lab_pages() if substrate.of(page) == substrate.CONTROL_PLANE]
NOT_RUN = [page for page in lab_pages() if substrate.of(page) == substrate.NOT_RUN]
ON_REAL_NODES = [page for page in lab_pages() if substrate.of(page) == substrate.REAL_NODES]
LEVEL_1_IMAGES = ("gateway", "customer", "order", "account", "loadgen", "postgres")


@pytest.fixture(scope="session")
def level_1_images():
    """The six images of level 1 in podman's store, as `make images` builds them (layers cached)."""
    built = subprocess.run([str(REPO_ROOT / "scripts" / "containers" / "build.sh"), *LEVEL_1_IMAGES],
                           capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT)
    assert built.returncode == 0, built.stderr[-2000:]


def _load_like_kind(sim: int) -> None:
    """What level 2's `kind load docker-image` did, for a page that starts later: the stand-in loads
    only the images a node does not hold yet (a few seconds when level 2's page ran first)."""
    from workshop.doctest import kind_shim

    images = [f"localhost/workshop/{name}:dev" for name in LEVEL_1_IMAGES]
    assert kind_shim.load(sim, [*images, "--name", "workshop"]) == 0


@pytest.mark.parametrize("page", ON_REAL_NODES, ids=lambda page: page.name)
def test_page_runs_on_real_nodes(page, real_kubeconfig, level_1_images):
    real_sim = None
    if not os.environ.get("WORKSHOP_KUBECONFIG"):  # a kind cluster has its own kind and ports
        from workshop.pytest_cluster import REAL_NODE_SIM
        from workshop.sim import hostports
        from workshop.sim.cluster import Sim

        real_sim = REAL_NODE_SIM
        if page.level > 2:  # the page's prerequisite: level 2's step 1 loaded level 1's images
            _load_like_kind(real_sim)
        if hostports.named_in(page.path.read_text()):
            problem = Sim(real_sim).learner_ports_problem()
            assert problem is None, f"{page.name} curls kind's host ports, and {problem}"
    result = run_page(page, "sim", real_kubeconfig, out=io.StringIO(), real_sim=real_sim)
    assert result.ok, result.report()


@pytest.mark.parametrize("page", NOT_RUN, ids=lambda page: page.name)
def test_page_not_run_says_why(page):
    pytest.skip(f"{page.name} NOT RUN: {substrate.NOT_RUN_LEVELS[page.level]}")


@pytest.mark.parametrize("page", ON_KWOK, ids=lambda page: page.name)
def test_page_runs_on_the_sim(page, kubeconfig, request, tmp_path):
    if pair.needs_two_clusters(page):
        kubeconfig = pair.write(kubeconfig, request.getfixturevalue("kubeconfig_2"), tmp_path / "kubeconfig")
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


def test_what_a_page_leaves_in_the_other_cluster_is_caught(tmp_path, kubeconfig, kubeconfig_2):
    both = pair.write(kubeconfig, kubeconfig_2, tmp_path / "kubeconfig")
    name = f"doctest-{uuid.uuid4().hex[:6]}"
    page = _page(tmp_path, f"""\
        ```console
        $ kubectl --context kind-west create namespace {name}
        ```

        ## Cleanup

        ```console
        $ kubectl --context kind-east get namespace {name} --ignore-not-found
        ```
        """)
    try:
        result = run_page(page, "sim", both, out=io.StringIO(), cleanup_timeout=5)
        assert not result.ok
        assert f"left behind: [kind-west] Namespace {name} (v1)" in result.cleanup_problem
        assert result.cleanup_problem.endswith(f"(the runner then deleted namespace {name} (kind-west))")
    finally:
        subprocess.run(["kubectl", "--context", "kind-west", "delete", "namespace", name, "--wait=false",
                        "--ignore-not-found"], env=page_env(both, None), capture_output=True, check=True)
