"""Level 5's rows of labs/00-setup/requirements.md, measured again on the real mesh.

`make lab-5` and `make solve-5` as a learner runs them on kind: Istio installed by istioctl, the
sidecars injected by istiod's webhook (their requests counted as Kubernetes counts a native
sidecar), then `make reset-5 ISTIO=uninstall`. Beside the rest (scripts/run-tests.sh), in the
process that holds the session's mesh; the other levels: tests/labs/test_requirements_table.py."""

from __future__ import annotations

import os

import pytest

from workshop import requirements

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_level_5s_rows_are_what_the_real_mesh_measures(mesh_cluster, monkeypatch):
    kubeconfig, learner_env = mesh_cluster
    if os.environ.get("WORKSHOP_KUBECONFIG"):
        pytest.skip("the committed table is measured on the sims; this cluster is another one")
    for name in ("ISTIO_DIR", "PATH"):  # what a learner has after Istio's download
        monkeypatch.setenv(name, learner_env[name])
    measured = requirements.measure(kubeconfig, levels=requirements.MESH_LEVELS, sim_label=requirements.SIM_LABEL,
                                    log=lambda line: None)
    committed = requirements.OUTPUT.read_text()
    wanted = requirements.rows_of(committed, requirements.MESH_LEVELS)
    assert wanted, "the committed table has no row for level 5"
    assert requirements.rows_of(measured, requirements.MESH_LEVELS) == wanted, (
        "labs/00-setup/requirements.md is stale for level 5: run `workshop requirements --sim N --mesh-sim M "
        f"--write` and commit it.\n--- measured ---\n{measured}")
