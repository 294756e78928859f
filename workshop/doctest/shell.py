"""Run a page's commands the way a learner's terminal does: one bash session per page.

    >>> from workshop.doctest.shell import Shell
    >>> with Shell(cwd=Path("/tmp"), env={"PATH": "/usr/bin:/bin"}) as shell:
    ...     _ = shell.run("cd / && export GREETING=hi")
    ...     shell.run("echo $GREETING from $PWD").output
    'hi from /\\n'

Why one long-lived bash and not a subprocess per command: a learner pastes the commands
into one terminal, so `cd`, `export`, shell variables and background jobs (`kubectl
port-forward ... &`, then `kill %1`) carry over from one command to the next.

Each command is written to a file and sourced with stdin from /dev/null (a command reading
stdin must not eat the next command) and its output (stdout and stderr together, as on a
terminal) in a file; its exit status lands in another file, which we wait for. bash runs in
a session of its own, so everything it started, background jobs included, is ended by one
killpg of that group when the page is done, and nothing else is touched.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _timeout_from_env() -> float:
    value = os.environ.get("DOCTEST_TIMEOUT", "300")
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise SystemExit(f"DOCTEST_TIMEOUT must be a number of seconds above 0, got {value!r}.")
    return seconds


DEFAULT_TIMEOUT = _timeout_from_env()


@dataclass
class Outcome:
    output: str
    status: int | None  # None: timed out, or the shell died (e.g. the command ran `exit`)
    seconds: float
    error: str | None = None


class Shell:
    def __init__(self, cwd: Path, env: dict[str, str]):
        self.dir = Path(tempfile.mkdtemp(prefix="doctest-shell-"))
        self.count = 0
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True, text=True)

    def __enter__(self) -> Shell:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, command: str, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        if not self.alive:
            return Outcome("", None, 0.0, "not run: the shell had already ended (an earlier command timed out or ran `exit`)")
        self.count += 1
        script, out, status = (self.dir / f"{self.count}.{ext}" for ext in ("sh", "out", "status"))
        script.write_text(command + "\n")
        # Write the status to a temporary name then rename, so we never read half a number.
        line = (f"source {shlex.quote(str(script))} </dev/null >{shlex.quote(str(out))} 2>&1; "
                f"echo $? >{shlex.quote(str(status))}.tmp; mv {shlex.quote(str(status))}.tmp {shlex.quote(str(status))}\n")
        started = time.monotonic()
        try:
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return Outcome("", None, 0.0, "the shell had already exited (an earlier command ran `exit`?)")
        while not status.exists():
            if not self.alive:
                return Outcome(self._read(out), None, time.monotonic() - started,
                               "the shell exited during this command (did it run `exit` or `set -e`?)")
            if time.monotonic() - started > timeout:
                output = self._read(out)  # before close(), which removes the files
                self.close()
                return Outcome(output, None, time.monotonic() - started,
                               f"timed out after {timeout:.0f} s (a command that never returns needs `&`, "
                               f"or DOCTEST_TIMEOUT=SECONDS)")
            time.sleep(0.05)
        return Outcome(self._read(out), int(status.read_text().strip() or 1), time.monotonic() - started)

    @staticmethod
    def _read(path: Path) -> str:
        if not path.exists():
            return ""
        return ANSI.sub("", path.read_bytes().decode("utf-8", errors="replace"))

    def close(self) -> None:
        """End bash and everything it started (its own process group), then remove the files."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=5)
                # bash is gone, but a background job may still be in the group.
                time.sleep(0.1)
            except subprocess.TimeoutExpired:
                continue
        self.process.wait()
        if self.dir.exists():
            for path in self.dir.glob("*"):
                path.unlink(missing_ok=True)
            self.dir.rmdir()
