"""Level 5's page, top to bottom, on the session's real mesh (``mesh_cluster``: `make lab-5`
installs real Istio there as on kind, and the sim holds kind's 127.0.0.1:9080/9443).

Its own file so that `make test` runs it beside the rest (scripts/run-tests.sh), in the process
that already holds the mesh for level 5's lab tests: one mesh, brought up once."""

import io
import os

import pytest

from workshop.doctest import substrate
from workshop.doctest.pages import lab_pages
from workshop.doctest.runner import run_page

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

ON_REAL_MESH = [page for page in lab_pages() if substrate.of(page) == substrate.REAL_MESH]


@pytest.mark.parametrize("page", ON_REAL_MESH, ids=lambda page: page.name)
def test_page_runs_on_the_real_mesh(page, mesh_cluster):
    kubeconfig, _ = mesh_cluster
    real_sim = None
    if not os.environ.get("WORKSHOP_KUBECONFIG"):
        from workshop.pytest_cluster import MESH_SIM
        from workshop.sim.cluster import Sim

        real_sim = MESH_SIM
        problem = Sim(real_sim).learner_ports_problem()
        assert problem is None, f"{page.name} curls kind's host ports, and {problem}"
    result = run_page(page, "sim", kubeconfig, out=io.StringIO(), real_sim=real_sim, mesh=real_sim is not None)
    assert result.ok, result.report()
