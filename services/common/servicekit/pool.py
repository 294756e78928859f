"""A small pool of database connections, borrowed per query or transaction.

Not one connection per thread: under gevent every client connection is a greenlet (a "thread"
to threading.local), so per-thread connections would grow with the clients. Connections are
opened when none is idle, and kept for the next request while they are healthy.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ConnectionPool:
    def __init__(self, open_connection: Callable[[], object], close_connection: Callable[[object], None],
                 reusable: Callable[[object], bool], max_idle: int):
        self._open_connection = open_connection
        self._close_connection = close_connection
        self._reusable = reusable  # False for a connection left in a transaction or dropped by the server
        self.max_idle = max_idle
        self._idle: list = []
        self._open_count = 0
        self._closed = False
        self._lock = threading.Lock()

    @property
    def open_connections(self) -> int:
        return self._open_count

    @contextmanager
    def borrow(self) -> Iterator:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                self._open_count += 1  # counted before opening, so concurrent borrowers see it
        if conn is None:
            try:
                conn = self._open_connection()
            except BaseException:
                with self._lock:
                    self._open_count -= 1
                raise
        try:
            yield conn
        finally:
            reusable = self._reusable(conn)
            with self._lock:
                keep = reusable and not self._closed and len(self._idle) < self.max_idle
                if keep:
                    self._idle.append(conn)
                else:
                    self._open_count -= 1
            if not keep:
                self._close_connection(conn)

    def discard_idle(self) -> None:
        """Close the idle connections: the server dropped them all (it restarted)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._open_count -= len(idle)
        for conn in idle:
            self._close_connection(conn)

    def close(self) -> None:
        """Close the idle connections; borrowed ones are closed when they come back."""
        with self._lock:
            self._closed = True
        self.discard_idle()
