"""Level 3's checks share these: the services of the app, and the load generator."""

import pytest

SERVICES = ("gateway", "customer", "order", "account")


@pytest.fixture(scope="session")
def services() -> tuple[str, ...]:
    return SERVICES


@pytest.fixture(scope="session")
def workloads() -> tuple[str, ...]:
    """Every Deployment of the namespace after level 3: the app and its load generator."""
    return SERVICES + ("loadgen",)
