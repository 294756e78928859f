"""Where each lab page runs in CI, and so what its blocks prove.

- ``container-engine``: level 1 runs on podman (tests/docs/test_container_pages.py);
- ``real-nodes``: the real-node sim, whose pods run (tests/docs/test_pages_run.py);
- ``real-mesh``: a real-node sim where `make lab-5` installs real Istio (istiod's webhook, Envoy
  sidecars), prepared as a learner's laptop is (workshop/sim/mesh.py prepare_for_lab), holding
  kind's 127.0.0.1:9080/9443 (tests/docs/test_pages_run.py);
- ``control-plane``: the KWOK sim, a real API server whose pods never run: a block that passes
  there proves the API accepted it, not that anything worked.

``make doc-coverage`` counts a block as run only on the first two; the third is its own column.
A level moves to real nodes by joining REAL_NODE_LEVELS (the test and the coverage read it).
"""

from __future__ import annotations

from workshop.doctest.pages import Page

CONTAINER_ENGINE = "container-engine"
REAL_NODES = "real-nodes"
REAL_MESH = "real-mesh"
CONTROL_PLANE = "control-plane"
NOT_RUN = "not-run"
# Level 4 waits for Argo CD's images (`make lab-4` waits for argocd-server, which cannot run on the
# real nodes: argo-cd needs a newer Go than this machine's), levels 6-7 for their labs: KWOK until then.
REAL_NODE_LEVELS = frozenset({2, 3})
# Level 5 installs Istio with istioctl, as on kind: its page runs on the real mesh (a level in both
# sets is not run until it leaves NOT_RUN_LEVELS).
REAL_MESH_LEVELS = frozenset({5})
# Pages no CI run executes, and why (said by the test that skips them and by `make doc-coverage`).
NOT_RUN_LEVELS = {
    7: "level 7's page needs two real meshes joined on one network (make lab-7 installs Istio in both "
       "with istioctl; workshop/sim/multicluster.py makes the pair, tests/labs/test_level7.py runs the lab "
       "on it); it runs again once the page runner prepares the pair",
}


def of(page: Page) -> str:
    from workshop.doctest.runner import uses_container_engine

    if uses_container_engine(page):
        return CONTAINER_ENGINE
    if page.level in NOT_RUN_LEVELS:
        return NOT_RUN
    if page.level in REAL_MESH_LEVELS:
        return REAL_MESH
    return REAL_NODES if page.level in REAL_NODE_LEVELS else CONTROL_PLANE


def proves_it_works(page: Page) -> bool:
    """Do this page's blocks run against something that really runs them (not only an API)?"""
    return of(page) in (CONTAINER_ENGINE, REAL_NODES, REAL_MESH)
