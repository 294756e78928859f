"""Where each lab page runs in CI, and so what its blocks prove.

- ``container-engine``: level 1 runs on podman (tests/docs/test_container_pages.py);
- ``real-nodes``: the real-node sim, whose pods run (tests/docs/test_pages_run.py);
- ``control-plane``: the KWOK sim, a real API server whose pods never run: a block that passes
  there proves the API accepted it, not that anything worked.

``make doc-coverage`` counts a block as run only on the first two; the third is its own column.
A level moves to real nodes by joining REAL_NODE_LEVELS (the test and the coverage read it).
"""

from __future__ import annotations

from workshop.doctest.pages import Page

CONTAINER_ENGINE = "container-engine"
REAL_NODES = "real-nodes"
CONTROL_PLANE = "control-plane"
NOT_RUN = "not-run"
# Level 3 waits for metrics-server on the real nodes (its HPA steps and `make solve-3`), level 4 for
# Argo CD's images, levels 5-7 for the real-node mesh and beyond: they stay on KWOK until then.
REAL_NODE_LEVELS = frozenset({2})
# Pages no CI run executes, and why (said by the test that skips them and by `make doc-coverage`).
NOT_RUN_LEVELS = {
    5: "level 5's page needs the real mesh (make lab-5 installs Istio with istioctl, and istiod's injection "
       "webhook cannot run on KWOK); it runs again once the page runner prepares a real-mesh sim",
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
    return REAL_NODES if page.level in REAL_NODE_LEVELS else CONTROL_PLANE


def proves_it_works(page: Page) -> bool:
    """Do this page's blocks run against something that really runs them (not only an API)?"""
    return of(page) in (CONTAINER_ENGINE, REAL_NODES)
