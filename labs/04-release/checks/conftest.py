"""Level 4's checks share these: what the dev overlay deploys, and where Argo CD lives."""

import pytest

OVERLAY_WORKLOADS = ("gateway", "customer", "order", "account", "loadgen")


@pytest.fixture(scope="session")
def overlay_workloads() -> tuple[str, ...]:
    return OVERLAY_WORKLOADS


@pytest.fixture(scope="session")
def argocd_namespace() -> str:
    return "argocd"
