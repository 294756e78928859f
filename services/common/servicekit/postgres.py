"""PostgreSQL when DATABASE_URL is set: one database per service, shared by all its replicas.

    db = PostgresDatabase("postgresql://account@account-db:5432/account", SCHEMA, seed)

The same interface as storage.Database (transaction(), query(), ping(), close()), and the
services write their SQL once, with ``?`` placeholders, for both. What changes with replicas:

- the schema and the seed are made once, under an advisory lock, however many replicas start
  together (CREATE TABLE IF NOT EXISTS alone races in the catalog), and as soon as the database
  answers: a service started before its database (a first deploy) runs, answers 503 "storage
  unavailable" and /readyz 503 meanwhile, instead of crashing in a loop;
- ids come from the database's sequences, so they are unique across replicas;
- a transaction is READ COMMITTED: a service that reads then writes a row locks it first
  (see account.data.post), and a unique violation between two replicas is retried (run()).

The password comes from PGPASSWORD (a Secret), which libpq reads itself: the URL holds none.
psycopg cooperates with gevent on its own (from 3.1.14): a query blocks a greenlet, not the worker.
"""

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from servicekit.pool import ConnectionPool

# Any constant will do: every replica of a service takes the same lock on its own database.
SCHEMA_LOCK = 20_2020
CONNECT_TIMEOUT_SECONDS = 3
_PLACEHOLDER = re.compile(r"\?")
# The database did not answer (down, restarting, no free connection): the app answers 503.
Unavailable = psycopg.OperationalError


def _sql(sql: str) -> str:
    """The services' ``?`` placeholders in psycopg's style (no literal ``%`` or ``?`` in their SQL)."""
    return _PLACEHOLDER.sub("%s", sql)


class Connection:
    """A psycopg connection that speaks like sqlite3's: execute(sql with ?, params) -> cursor."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw

    def execute(self, sql: str, params=()):
        return self.raw.execute(_sql(sql), params)

    def executemany(self, sql: str, rows):
        with self.raw.cursor() as cur:
            cur.executemany(_sql(sql), rows)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


class PostgresDatabase:
    """A small pool of connections, borrowed per query or transaction (as storage.Database)."""

    # Open connections per process, at most: replicas times this stays under the server's
    # max_connections (100 by default). A request that finds none free within the wait gets 503.
    MAX_OPEN = 16
    # All of them are kept: a new connection costs the server a process (a fork and its warm-up),
    # and closing the ones over 8 after every burst made 16 concurrent clients 3 times slower.
    MAX_IDLE = MAX_OPEN
    WAIT_SECONDS = 5
    dialect = "postgres"

    def __init__(self, url: str, schema: str, seed: Callable[[Connection], None]):
        self.url = url
        self._schema, self._seed = schema, seed
        self._prepared = False
        self._prepare_lock = threading.Lock()
        self._pool = ConnectionPool(self._open, lambda conn: conn.raw.close(), self._reusable, self.MAX_IDLE)
        self._slots = threading.BoundedSemaphore(self.MAX_OPEN)
        try:
            self._prepare()
        except Unavailable as error:
            logging.getLogger(__name__).warning(
                "the database does not answer yet (%s): storage answers 503 until it does", str(error).strip())

    def _prepare(self) -> None:
        """The schema and the seed, once, before the first use (raises Unavailable while the database is down)."""
        if self._prepared:
            return
        with self._prepare_lock:
            if self._prepared:
                return
            with self._transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
                conn.raw.execute(self._schema + "\nCREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);")
                if conn.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone() is None:
                    self._seed(conn)
                    conn.execute("INSERT INTO meta (key, value) VALUES ('seeded', 'yes')")
            self._prepared = True

    def _open(self) -> Connection:
        raw = psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                              connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name="workshop")
        return Connection(raw)

    @staticmethod
    def _reusable(conn: Connection) -> bool:
        # A connection the server dropped (restart, failover) is not put back.
        return not conn.raw.closed and not conn.raw.broken and not conn.in_transaction

    @property
    def open_connections(self) -> int:
        return self._pool.open_connections

    @contextmanager
    def _connection(self, first: str, params=()) -> Iterator[tuple[Connection, psycopg.Cursor]]:
        """A connection, and the cursor of ``first`` (BEGIN or a SELECT) run on it. After a database
        restart every idle connection is one the server dropped: the first to be borrowed fails on
        ``first``, before any work was done, so the idle ones are all closed and ``first`` runs once
        more on a new connection. A restart then costs no request a 503."""
        if not self._slots.acquire(timeout=self.WAIT_SECONDS):
            raise Unavailable(f"no free database connection in {self.WAIT_SECONDS}s")
        try:
            for attempt in (1, 2):
                with self._pool.borrow() as conn:
                    try:
                        cursor = conn.execute(first, params)
                    except Unavailable:
                        if attempt == 2 or not conn.raw.broken:
                            raise
                        self._pool.discard_idle()
                        continue
                    yield conn, cursor
                    return
        finally:
            self._slots.release()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        self._prepare()
        with self._transaction() as conn:
            yield conn

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._connection("BEGIN") as (conn, _):
            try:
                yield conn
            except BaseException:
                if not conn.raw.broken:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def run(self, work: Callable[[Connection], object], attempts: int = 3):
        """work(conn) in a transaction, again when another replica's insert won a unique key."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except psycopg.errors.UniqueViolation:
                if attempt == attempts:
                    raise

    def query(self, sql: str, params=()) -> list[dict]:
        """A SELECT (the services never write through query: a SELECT is safe to run twice)."""
        self._prepare()
        with self._connection(sql, params) as (_, cursor):
            return cursor.fetchall()

    def ping(self) -> bool:
        try:
            self._prepare()
            with self._connection("SELECT 1") as (_, cursor):
                cursor.fetchone()
            return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        self._pool.close()
