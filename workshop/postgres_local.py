"""A throwaway PostgreSQL server for the tests and `make bench-app`: Debian's binaries
(`make postgres-for-tests` installs them), run as an unprivileged user in a temporary folder,
reachable only on a unix socket in that folder.

    with LocalPostgres() as pg:
        url = pg.create_database("account")   # postgresql:///account?host=/tmp/wspg-.../&user=postgres

Not the image's server (scripts/containers/postgres/): the services' tests need a database in
a second, not a container; both are the same PostgreSQL from Debian's package.
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_SECONDS = 30
# Who runs the server when we are root (PostgreSQL refuses to run as root).
UNPRIVILEGED_USER = "nobody"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here; the message says how to install them."""


def binaries() -> Path:
    """The folder holding initdb and postgres: PATH first, then Debian's versioned folder."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    raise PostgresUnavailable("PostgreSQL is not installed: run `make postgres-for-tests` (apt-get install postgresql)")


class LocalPostgres:
    def __init__(self, max_connections: int = 200):
        self.bin = binaries()
        self.max_connections = max_connections
        self.proc: subprocess.Popen | None = None
        # A short path: a unix socket's path must stay under 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="wspg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    def _demote(self):
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return {}

    def start(self) -> "LocalPostgres":
        demote = self._demote()
        if demote:
            os.chown(self.root, demote["user"], demote["group"])
        # trust on the socket: it lives in a folder only this user (and root) can enter.
        subprocess.run([self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-sync", "--locale=C"], check=True, capture_output=True, timeout=120, **demote)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [self.bin / "postgres", "-D", self.data, "-k", self.root, "-c", "listen_addresses=",
                 "-c", f"max_connections={self.max_connections}", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **demote)
        self._wait_ready()
        return self

    def _wait_ready(self):
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited ({self.proc.returncode}):\n{self.log.read_text()[-2000:]}")
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"postgres not ready in {START_TIMEOUT_SECONDS}s:\n{self.log.read_text()[-2000:]}")
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql:///{database}?host={self.root}&user=postgres"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL (what a service gets as DATABASE_URL)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown (SIGTERM waits for every client)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc):
        self.stop()
