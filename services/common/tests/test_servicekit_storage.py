"""The SQLite store under many concurrent clients: a bounded pool, not one connection per client."""

import threading

from servicekit.storage import Database

SCHEMA = "CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL);"


def seed(conn):
    conn.execute("INSERT INTO counter VALUES (0)")


def test_many_short_lived_clients_do_not_leave_connections_open(tmp_path):
    """Under gevent every client connection is a greenlet; each used to keep its own connection."""
    db = Database(tmp_path / "t.db", SCHEMA, seed)
    start = threading.Barrier(50)

    def client():
        start.wait(10)
        with db.transaction() as conn:
            conn.execute("UPDATE counter SET n = n + 1")
        db.query("SELECT n FROM counter")

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    try:
        assert db.query("SELECT n FROM counter")[0]["n"] == 50
        assert db.open_connections <= Database.MAX_IDLE
    finally:
        db.close()
    assert db.open_connections == 0


def test_a_failed_transaction_rolls_back_and_the_connection_is_reused_clean(tmp_path):
    db = Database(tmp_path / "t.db", SCHEMA, seed)
    try:
        try:
            with db.transaction() as conn:
                conn.execute("UPDATE counter SET n = 99")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert db.query("SELECT n FROM counter")[0]["n"] == 0
        with db.transaction() as conn:  # the pooled connection is not stuck in the old transaction
            conn.execute("UPDATE counter SET n = 1")
        assert db.query("SELECT n FROM counter")[0]["n"] == 1
    finally:
        db.close()
