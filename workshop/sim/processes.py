"""Background processes with pid files: start, check, stop, and read the tail of their logs.

Each component runs detached (its own session, so Ctrl-C on `make` does not kill the
cluster), writes its output to ``logs/<name>.log``, and has a ``<name>.pid`` file. A pid file
is trusted only if that pid still runs the same binary with an argument naming this
cluster's state folder: after a reboot the number may belong to some other program, which we must not kill.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from contextlib import ExitStack
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now (the kernel picks them)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))  # loopback only: nothing of the sim listens elsewhere
            ports.append(sock.getsockname()[1])
        return ports


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_ours(pid: int, binary: str, marker: str) -> bool:
    """Does ``pid`` run ``binary`` with an argument containing ``marker`` (our state folder)?"""
    args = cmdline(pid)
    if not args or Path(args[0]).name != binary:
        return False
    try:  # a zombie (exited, not yet reaped) is not running
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and any(marker in arg for arg in args[1:])


def find(binary: str, marker: str) -> list[int]:
    """Every running pid that is ``binary`` with ``marker`` in its arguments (see is_ours)."""
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and is_ours(int(entry.name), binary, marker)]


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class Process:
    """One named background process of a sim cluster, identified by its pid file."""

    def __init__(self, name: str, binary: str, root: Path, marker: str):
        # marker: a text only this cluster's instance has in its arguments (e.g. "<root>/pki/").
        self.name, self.binary, self.root, self.marker = name, binary, root, marker
        self._spawned: int | None = None  # pid, when this Python process started it
        self._exit_code: int | None = None
        self.pid_file = root / f"{name}.pid"
        self.log_file = root / "logs" / f"{name}.log"

    def pid(self) -> int | None:
        """The pid from the pid file, or None if there is no (readable) pid file."""
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        if self._spawned is not None:
            # Started by this Python process: ask the kernel with waitpid. (Right after exec,
            # for an instant, /proc/<pid>/cmdline can be empty: is_ours would wrongly say no.)
            return self.exited() is None
        pid = self.pid()
        return pid is not None and is_ours(pid, self.binary, self.marker)

    def stale(self) -> bool:
        """A pid file is there but its process is not ours any more."""
        return self.pid_file.exists() and not self.running()

    def start(self, command: list[str], env: dict[str, str] | None = None) -> int:
        """Start ``command`` detached, output to the log file; write and return its pid.

        os.posix_spawn rather than subprocess.Popen: a Popen object expects to be waited
        for, and warns when collected while its process still runs, which is the point here.
        """
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(command)}\n".encode())
            log.flush()
            pid = os.posix_spawn(command[0], command, dict(os.environ if env is None else env), file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, log.fileno(), 2),
            ], setsid=True)  # a session of its own: Ctrl-C on `make` does not reach it
        self.pid_file.write_text(f"{pid}\n")
        self._spawned, self._exit_code = pid, None
        return pid

    def exited(self) -> int | None:
        """Exit code if this process was started by us and has exited, else None."""
        if self._spawned is None or self._exit_code is not None:
            return self._exit_code
        try:
            pid, status = os.waitpid(self._spawned, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: it is gone, status unknown
            self._exit_code = -1
            return self._exit_code
        if pid:
            self._exit_code = os.waitstatus_to_exitcode(status)
        return self._exit_code

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; removes the pid file. Returns how many were stopped.

        Besides the pid in the pid file, this stops strays: processes of this component and
        this cluster that no pid file names any more (left by a start that was killed).
        """
        pid = self.pid()
        stopped = 0
        if pid is not None and self.running():
            _terminate(pid, self.running, timeout)
            stopped += 1
        for stray in find(self.binary, self.marker):
            _terminate(stray, lambda: is_ours(stray, self.binary, self.marker), timeout)
            stopped += 1
        self.pid_file.unlink(missing_ok=True)
        return stopped


def _terminate(pid: int, alive, timeout: float) -> None:
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        time.sleep(0.05)
    if alive():
        _signal(pid, signal.SIGKILL)
        while alive():
            time.sleep(0.05)
    try:  # if this Python process started it, collect its exit status (no zombie left)
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _signal(pid: int, sig: int) -> None:
    # Each component leads its own process group (start_new_session): signal the group,
    # so anything it spawned goes too.
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        # No group of that id: a stray that leads none (a forwarder's per-connection child, alive
        # while a peer sim holds a connection through it). The process alone, or it never stops.
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    except PermissionError:
        os.kill(pid, sig)
