"""Level 2's checks share these: the services of the app, and their pod labels."""

import pytest

SERVICES = ("gateway", "customer", "order", "account")


@pytest.fixture(scope="session")
def services() -> tuple[str, ...]:
    return SERVICES
