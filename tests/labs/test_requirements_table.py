"""labs/00-setup/requirements.md is measured, never stale: measure again on the sims and compare.

`make requirements` runs lab-N, solve-N and reset-N of levels 2 to 6 and sums every pod's
requests: levels 2–4 and 6 on a KWOK sim (this test), level 5 on the real mesh, where istiod's
webhook injects the sidecars as on kind (tests/labs/test_requirements_mesh.py, beside the rest).
Each test fails when its rows of the committed table differ (then run
`workshop requirements --sim N --mesh-sim M --write` and commit the new table).
"""

from __future__ import annotations

import pytest

from workshop import requirements

ON_KWOK = [level for level in requirements.MEASURED_LEVELS if level not in requirements.MESH_LEVELS]


def without_mesh_levels(table: str) -> list[str]:
    mesh_rows = set(requirements.rows_of(table, requirements.MESH_LEVELS))
    return [line for line in table.splitlines() if line not in mesh_rows]


@pytest.mark.slow
def test_the_committed_requirements_table_is_what_the_sim_measures(kubeconfig, simulated):
    if not simulated:
        pytest.skip("the committed table is measured on the sim cluster; this cluster has real nodes")
    # Each lab.sh runs with KUBECONFIG set to this cluster (its guard reads it).
    measured = requirements.measure(kubeconfig, levels=ON_KWOK, sim_label=requirements.SIM_LABEL,
                                    log=lambda line: None)
    committed = requirements.OUTPUT.read_text()
    assert without_mesh_levels(measured) == without_mesh_levels(committed), (
        "labs/00-setup/requirements.md is stale: run `workshop requirements --sim N --mesh-sim M --write` "
        f"and commit it.\n--- measured ---\n{measured}")
