"""SQLite in DATA_DIR: each service owns its file, creates its schema and seed data at start.

Why SQLite: no database server to run, yet data survives restarts when DATA_DIR is a
volume, which is exactly what the labs on persistence and failover need to show.
"""

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: Path, schema: str, seed: Callable[[sqlite3.Connection], None]):
        self.path = Path(path)
        self._local = threading.local()  # one connection per thread: sqlite3 objects are not shared
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # executescript() commits on its own, so the schema (all IF NOT EXISTS) goes first...
        self.connect().executescript(schema + "\nCREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);")
        # ...and the seed in one transaction, once per data directory: restarts keep the data.
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone() is None:
                seed(conn)
                conn.execute("INSERT INTO meta (key, value) VALUES ('seeded', 'yes')")

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # autocommit mode (isolation_level=None): transactions are explicit, see transaction().
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            conn.execute("PRAGMA busy_timeout=5000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking."""
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.connect().execute(sql, params).fetchall()

    def ping(self) -> bool:
        try:
            self.connect().execute("SELECT 1").fetchone()
            return os.access(self.path, os.W_OK)
        except sqlite3.Error:
            return False

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
