"""pytest plugin: a Kubernetes API for the tests, the sim cluster unless told otherwise.

Register it with ``pytest_plugins = ["workshop.pytest_cluster"]`` in a conftest.py, then::

    import pytest

    @pytest.mark.cluster
    def test_namespaces(api_client):
        from kubernetes import client
        assert client.CoreV1Api(api_client).read_namespace("default")

Fixtures (session-scoped unless said otherwise):

- ``kubeconfig``: path of a kubeconfig. ``$WORKSHOP_KUBECONFIG`` if set (any cluster, e.g. a
  real kind one: the sim is then never started); otherwise the sim cluster, built if needed
  (cached) and started if it is not up.
- ``api_client``: a ``kubernetes.client.ApiClient`` for it.
- ``kubeconfig_2`` / ``api_client_2``: a second cluster (``$WORKSHOP_KUBECONFIG_2``, or sim
  cluster 2 when neither variable is set).
- ``namespace`` (per test): a fresh namespace, deleted afterwards; its ``default``
  ServiceAccount exists, so Pods can be created at once.
- ``real_kubeconfig`` / ``real_api_client``: a cluster whose Pods really run. ``$WORKSHOP_KUBECONFIG``
  if set (a kind cluster); otherwise sim cluster ``REAL_NODE_SIM`` (3) started with two real
  worker nodes (``nodes="real"``: containerd, kubelet, kube-proxy, CoreDNS). It needs root and
  the packages `make sim-node-setup` installs; without them its tests skip loudly (fail in CI).
- ``real_namespace`` (per test): a fresh namespace on that cluster.
- ``mesh_cluster``: (kubeconfig, environment) of a cluster ready for `make lab-5`, level 5's real
  mesh, shared by its page (tests/docs) and its lab tests (tests/labs). ``$WORKSHOP_KUBECONFIG`` with
  the session's own environment (a learner's Istio download); otherwise sim ``MESH_SIM`` (6) with
  real nodes, prepared as a learner's laptop is (workshop/sim/mesh.py prepare_for_lab): Istio's
  release folder (ISTIO_DIR, its bin/ first on PATH) and the images in the nodes. It holds kind's
  127.0.0.1:9080/9443, which level 5's page curls: ``REAL_NODE_SIM``, whose pages do not, leaves
  them free (workshop/sim/hostports.py).
- ``on_sim``: True when the tests run against the sim (no data plane).

Lifetime, decided once: **a session stops the sim clusters it started, and leaves alone a
sim that was already up when it began.** So `make test` on a fresh machine (or CI) leaves no
process behind, and a developer who ran `make sim-up` keeps a warm cluster between runs.
``WORKSHOP_SIM_KEEP=1`` keeps the clusters a session started, too.

When the sim cannot be built (no Go toolchain, no module proxy), tests needing it are
skipped with a loud reason, listed again at the end of the run; with ``CI=true`` they fail.
Tests marked ``real_cluster`` need a data plane and are skipped on the sim. Tests using
these fixtures are marked ``cluster`` automatically (``-m "not cluster"`` deselects them).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import pytest

CLUSTER_FIXTURES = {"kubeconfig", "api_client", "kubeconfig_2", "api_client_2", "namespace",
                    "real_kubeconfig", "real_api_client", "real_namespace", "mesh_cluster"}
# The real-node sim of a test session: a number of its own, so the KWOK sims stay as they are.
REAL_NODE_SIM = 3
# Level 5's real mesh: never 1 (a contributor's sim insists on 9080/9443), 7 is make bench-mesh's.
MESH_SIM = 6
_unavailable_reasons: list[str] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str):
    """Skip loudly outside CI, fail in CI: a CI run must never pass by skipping the cluster tests."""
    if in_ci():
        pytest.fail(f"the sim cluster is required in CI (CI=true): {reason}", pytrace=False)
    message = f"SIM CLUSTER UNAVAILABLE, cluster tests NOT RUN: {reason}"
    if message not in _unavailable_reasons:
        _unavailable_reasons.append(message)
    pytest.skip(message)


def _external(variable: str) -> Path | None:
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        pytest.fail(f"{variable}={value} is not a file: point it at a kubeconfig, or unset it to use the sim.",
                    pytrace=False)
    return path


def _sim_kubeconfig(request: pytest.FixtureRequest, index: int, nodes: str = "kwok") -> Path:
    try:
        from workshop.sim.cluster import Sim, SimError
        from workshop.sim.gobuild import BuildError
    except ImportError as error:  # cryptography missing: the venv predates requirements/sim.txt
        _unavailable(f"{error}; run `make venv`.")
    sim = Sim(index)
    if nodes == "real":
        _real_nodes_possible()
    was_up = sim.is_up()
    try:
        with _learner_ports_left(index == REAL_NODE_SIM and nodes == "real"):
            sim.up(nodes=nodes)
    except BuildError as error:
        _unavailable(str(error))
    except (SimError, FileNotFoundError) as error:
        pytest.fail(f"sim cluster {sim.context} did not start: {error}", pytrace=False)
    if not was_up and os.environ.get("WORKSHOP_SIM_KEEP") != "1":
        request.session.config.add_cleanup(sim.down)
    return sim.kubeconfig


@contextlib.contextmanager
def _learner_ports_left(leave: bool):
    """Start a sim that leaves kind's 127.0.0.1:9080/9443 to the mesh sim (hostports.LEAVE_PORTS_ENV)."""
    from workshop.sim.hostports import LEAVE_PORTS_ENV

    before = os.environ.get(LEAVE_PORTS_ENV)
    if leave:
        os.environ[LEAVE_PORTS_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(LEAVE_PORTS_ENV, None)
        else:
            os.environ[LEAVE_PORTS_ENV] = before


def _real_nodes_possible() -> None:
    """Root and the Debian packages of `make sim-node-setup`, or a loud skip (a failure in CI)."""
    import shutil

    if os.geteuid() != 0:
        _unavailable("real worker nodes need root (network namespaces, cgroups, mounts).")
    missing = [tool for tool in ("containerd", "runc", "ctr", "socat", "iptables", "nsenter", "podman", "gcc")
               if shutil.which(tool) is None]
    if missing or not Path("/usr/lib/cni/bridge").exists():
        _unavailable(f"missing {', '.join(missing) or 'the CNI plugins'}: run `make sim-node-setup`.")


@pytest.fixture(scope="session")
def on_sim() -> bool:
    return not os.environ.get("WORKSHOP_KUBECONFIG")


@pytest.fixture(scope="session")
def kubeconfig(request: pytest.FixtureRequest) -> Path:
    return _external("WORKSHOP_KUBECONFIG") or _sim_kubeconfig(request, 1)


@pytest.fixture(scope="session")
def kubeconfig_2(request: pytest.FixtureRequest) -> Path:
    external = _external("WORKSHOP_KUBECONFIG_2")
    if external:
        return external
    if os.environ.get("WORKSHOP_KUBECONFIG"):
        pytest.skip("WORKSHOP_KUBECONFIG is set but WORKSHOP_KUBECONFIG_2 is not: set both to run multi-cluster tests.")
    return _sim_kubeconfig(request, 2)


@pytest.fixture(scope="session")
def real_kubeconfig(request: pytest.FixtureRequest) -> Path:
    return _external("WORKSHOP_KUBECONFIG") or _sim_kubeconfig(request, REAL_NODE_SIM, nodes="real")


@pytest.fixture(scope="session")
def mesh_cluster(request: pytest.FixtureRequest) -> tuple[Path, dict[str, str]]:
    external = _external("WORKSHOP_KUBECONFIG")
    if external:
        return external, dict(os.environ)
    kubeconfig = _sim_kubeconfig(request, MESH_SIM, nodes="real")
    from workshop.sim import istio_release, mesh
    from workshop.sim.cluster import Sim

    mesh.prepare_for_lab(Sim(MESH_SIM))
    return kubeconfig, istio_release.learner_env()


def _api_client(path: Path):
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(path))
    return client


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path):
    client = _api_client(kubeconfig)
    yield client
    client.close()


@pytest.fixture(scope="session")
def api_client_2(kubeconfig_2: Path):
    client = _api_client(kubeconfig_2)
    yield client
    client.close()


@pytest.fixture(scope="session")
def real_api_client(real_kubeconfig: Path):
    client = _api_client(real_kubeconfig)
    yield client
    client.close()


@pytest.fixture
def namespace(api_client, request: pytest.FixtureRequest):
    """A fresh namespace named after the test; its default ServiceAccount exists when the test starts."""
    yield from _fresh_namespace(api_client, request)


@pytest.fixture
def real_namespace(real_api_client, request: pytest.FixtureRequest):
    """``namespace`` on the cluster of ``real_kubeconfig``."""
    yield from _fresh_namespace(real_api_client, request)


def _fresh_namespace(api_client, request: pytest.FixtureRequest):
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    stem = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    name = f"t-{stem}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"workshop-test": "true"})))
    deadline = time.monotonic() + 30
    while not core.list_namespaced_service_account(name, field_selector="metadata.name=default").items:
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {name}: the `default` ServiceAccount never appeared (is kube-controller-manager up?)")
        time.sleep(0.1)
    yield name
    core.delete_namespace(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("real_cluster") and not os.environ.get("WORKSHOP_KUBECONFIG"):
        pytest.skip("needs a real data plane (Pods that run, a network): set WORKSHOP_KUBECONFIG to a kind cluster.")


def pytest_terminal_summary(terminalreporter) -> None:
    for reason in _unavailable_reasons:
        terminalreporter.section("sim cluster unavailable", sep="!", red=True, bold=True)
        terminalreporter.write_line(reason, red=True, bold=True)
