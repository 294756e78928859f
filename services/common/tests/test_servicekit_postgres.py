"""The PostgreSQL store (DATABASE_URL) on a real local server: the same contract as the SQLite one,
a bounded pool, and a database that goes away answered as 503, never as a traceback."""

import os
import threading

import pytest

from servicekit.app import build_app, close
from servicekit.config import Config

postgres_local = pytest.importorskip("workshop.postgres_local")

SCHEMA = "CREATE TABLE IF NOT EXISTS counter (n BIGINT NOT NULL);"


def seed(conn):
    conn.execute("INSERT INTO counter VALUES (?)", (0,))


@pytest.fixture(scope="module")
def server():
    try:
        pg = postgres_local.LocalPostgres().start()
    except postgres_local.PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield pg
    pg.stop()


@pytest.fixture
def url(server, request):
    return server.create_database(f"kit_{request.node.name[:40].lower()}")


def counting_app(url):
    """A service on the database at ``url`` with one route, /count, that reads it."""
    app = build_app("kit", Config(service="kit", database_url=url), openapi={}, schema=SCHEMA,
                    postgres_schema=SCHEMA, seed=seed)

    @app.get("/count")
    def count():
        return {"n": app.extensions["servicekit"].db.query("SELECT n FROM counter")[0]["n"]}

    return app


def database_of(url) -> str:
    return url.split("///", 1)[1].split("?", 1)[0]


def test_many_clients_share_a_bounded_pool_and_lose_no_update(url):
    from servicekit.postgres import PostgresDatabase

    db = PostgresDatabase(url, SCHEMA, seed)
    start = threading.Barrier(50)

    def client():
        start.wait(10)
        with db.transaction() as conn:
            conn.execute("UPDATE counter SET n = n + 1")

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert db.query("SELECT n FROM counter")[0]["n"] == 50
        assert db.open_connections <= PostgresDatabase.MAX_OPEN
    finally:
        db.close()
    assert db.open_connections == 0


def test_schema_and_seed_are_made_once_and_a_failed_transaction_rolls_back(url):
    from servicekit.postgres import PostgresDatabase

    first, second = PostgresDatabase(url, SCHEMA, seed), PostgresDatabase(url, SCHEMA, seed)
    try:
        assert second.query("SELECT count(*) AS c FROM counter")[0]["c"] == 1
        with pytest.raises(RuntimeError):
            with first.transaction() as conn:
                conn.execute("UPDATE counter SET n = 99")
                raise RuntimeError("boom")
        assert second.query("SELECT n FROM counter")[0]["n"] == 0
    finally:
        first.close()
        second.close()


def test_a_database_that_goes_away_is_503_and_not_ready(url, server):
    app = counting_app(url)
    client = app.test_client()
    try:
        assert client.get("/count").get_json() == {"n": 0} and client.get("/readyz").status_code == 200
        database = database_of(url)
        import psycopg

        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            admin.execute("ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS false" % database)
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        for _ in range(2):  # a pooled connection the server dropped, then a refused new one
            resp = client.get("/count")
            assert resp.status_code == 503 and resp.get_json()["error"] == "storage unavailable"
        assert client.get("/readyz").status_code == 503
    finally:
        close(app)


def test_a_database_restart_costs_no_request_a_503(url, server):
    """Every pooled connection is dropped at once (as a restart drops them): the next queries and
    transactions open new ones instead of failing on the dead ones, one request each."""
    import psycopg

    from servicekit.postgres import PostgresDatabase

    db = PostgresDatabase(url, SCHEMA, seed)
    held = threading.Barrier(4)

    def borrow_together():
        with db.transaction() as conn:  # four at once: four connections go back to the pool
            conn.execute("SELECT 1")
            held.wait(10)

    threads = [threading.Thread(target=borrow_together) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert db.open_connections == 4
        database = database_of(url)
        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            dropped = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = %s", (database,)).fetchone()[0]
        assert dropped == 4
        assert db.query("SELECT n FROM counter") == [{"n": 0}]
        with db.transaction() as conn:
            conn.execute("UPDATE counter SET n = n + 1")
        assert db.ping() and db.query("SELECT n FROM counter") == [{"n": 1}]
        assert db.open_connections == 1
    finally:
        db.close()


def test_a_service_started_before_its_database_runs_answers_503_then_serves_once_it_is_up(url, server):
    """A first deploy starts the service and its database together: the service must not crash in a
    loop (a Deployment without a readiness probe would flap between Available and not). It answers
    503 and /readyz 503 until the database answers, then makes the schema and the seed and serves."""
    import psycopg

    database = database_of(url)
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute("ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS false" % database)
    app = counting_app(url)
    client = app.test_client()
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        refused = client.get("/count")
        assert refused.status_code == 503 and refused.get_json()["error"] == "storage unavailable"
        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            admin.execute("ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS true" % database)
        assert client.get("/readyz").status_code == 200
        assert client.get("/count").get_json() == {"n": 0}
    finally:
        close(app)
