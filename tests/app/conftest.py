"""A local PostgreSQL for the tests of the services' state under replicas (session-wide;
each test makes its own databases)."""

import os
import uuid

import pytest

from workshop.postgres_local import LocalPostgres, PostgresUnavailable


@pytest.fixture(scope="session")
def postgres():
    try:
        server = LocalPostgres().start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def database(postgres):
    """database("account") -> the URL of a new, empty database for this test."""
    return lambda service: postgres.create_database(f"{service}_{uuid.uuid4().hex[:8]}")
