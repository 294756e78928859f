"""Where a service keeps its data: PostgreSQL when DATABASE_URL is set, else SQLite in DATA_DIR.

Each service owns its store and creates its schema and seed data at start. SQLite needs no
server and keeps data across restarts when DATA_DIR is a volume (level 1's compose), but it
belongs to one process: replicas each get their own. With replicas (levels 2 and up), every
replica of a service uses its one PostgreSQL database (servicekit.postgres).
"""

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from servicekit.pool import ConnectionPool


class Database:
    """SQLite in one file, through a small pool of connections (servicekit.pool)."""

    MAX_IDLE = 8  # connections kept open between requests
    dialect = "sqlite"

    def __init__(self, path: Path, schema: str, seed: Callable[[sqlite3.Connection], None]):
        self.path = Path(path)
        self._pool = ConnectionPool(self._open, sqlite3.Connection.close, lambda conn: not conn.in_transaction,
                                    self.MAX_IDLE)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # executescript() commits on its own, so the schema (all IF NOT EXISTS) goes first...
        with self._connection() as conn:
            conn.executescript(schema + "\nCREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);")
        # ...and the seed in one transaction, once per data directory: restarts keep the data.
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone() is None:
                seed(conn)
                conn.execute("INSERT INTO meta (key, value) VALUES ('seeded', 'yes')")

    def _open(self) -> sqlite3.Connection:
        # autocommit mode (isolation_level=None): transactions are explicit, see transaction().
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @property
    def open_connections(self) -> int:
        return self._pool.open_connections

    def _connection(self):
        return self._pool.borrow()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def run(self, work: Callable[[sqlite3.Connection], object], attempts: int = 3):
        """work(conn) in a transaction (BEGIN IMMEDIATE: writers queue, so no unique race to retry)."""
        with self.transaction() as conn:
            return work(conn)

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def ping(self) -> bool:
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1").fetchone()
            return os.access(self.path, os.W_OK)
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self._pool.close()


def open_database(config, service: str, schema: str, postgres_schema: str | None, seed):
    """The service's store as its settings say: DATABASE_URL (PostgreSQL), else DATA_DIR (SQLite)."""
    if config.database_url:
        if postgres_schema is None:
            raise ValueError(f"{service} has no PostgreSQL schema")
        from servicekit.postgres import PostgresDatabase  # psycopg is needed only then

        return PostgresDatabase(config.database_url, postgres_schema, seed)
    return Database(Path(config.data_dir) / f"{service}.db", schema, seed)
