"""Level 1's checks grade the container engine: the `engine` fixture is the graded target."""

import pytest

SERVICES = ("gateway", "customer", "order", "account")


@pytest.fixture(scope="session")
def engine(cluster):
    """The ContainerEngine that `workshop check 1` grades (see workshop/grading/engine.py)."""
    return cluster


@pytest.fixture(scope="session")
def services() -> tuple[str, ...]:
    return SERVICES
