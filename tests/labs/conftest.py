"""Fixtures for the labs' tests: is the cluster under test simulated (KWOK nodes, no data plane)?"""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def simulated(kubeconfig: Path) -> bool:
    """True on a cluster whose nodes are all KWOK fakes (the sim), whatever WORKSHOP_KUBECONFIG says."""
    from workshop.grading.kube import Cluster

    cluster = Cluster.connect(kubeconfig=str(kubeconfig))
    try:
        return cluster.is_simulated()
    finally:
        cluster.close()
