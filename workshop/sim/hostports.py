"""kind's extraPortMappings on the host: which 127.0.0.1 ports a real-node sim listens on.

The learner's kind cluster maps 127.0.0.1:9080 and :9443 to NodePorts 30080 and 30443
(labs/00-setup/kind-cluster.yaml), and the pages say ``curl http://127.0.0.1:9080/``. Those
ports are one per machine, so the rule is:

- sim 1 (``make sim-up NODES=real``, a contributor's cluster) insists on them: a start fails,
  naming the process that holds a port;
- any other real-node sim (the test session's, ``workshop.pytest_cluster.REAL_NODE_SIM``) takes
  them when they are free, and free ports otherwise, recording in its state who held them,
  so that a page that needs them can fail saying why (``learner_ports_problem``).

    >>> choose(1)                                   # doctest: +SKIP
    ({9080: 30080, 9443: 30443}, {})
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from workshop.sim.processes import cmdline, free_ports

# host port -> NodePort, as labs/00-setup/kind-cluster.yaml maps them.
LEARNER_PORTS = {9080: 30080, 9443: 30443}
LISTEN = "0A"
# Set, a sim other than 1 leaves the learner's ports to others even when they are free.
LEAVE_PORTS_ENV = "WORKSHOP_SIM_LEAVE_LEARNER_PORTS"  # TCP state LISTEN in /proc/net/tcp


class PortsHeld(Exception):
    """A learner port is held and the sim insists on it; the message names the holder."""


def is_free(port: int) -> bool:
    """Can a forwarder bind 127.0.0.1:``port`` (with SO_REUSEADDR, as socat's reuseaddr)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def holder(port: int) -> str:
    """Who listens on ``port``: "pid 123 (socat TCP-LISTEN:9080,...)", or what is known."""
    inodes = _listening_inodes(port)
    if not inodes:
        return "no listener found (a socket in another network namespace, or one closing)"
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in (int(name) for name in os.listdir("/proc") if name.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return f"pid {pid} ({' '.join(cmdline(pid))[:120]})"
            except OSError:
                continue
    return f"a process this user cannot see (socket inode {', '.join(sorted(inodes))})"


def choose(index: int) -> tuple[dict[int, int], dict[int, str]]:
    """(host port -> NodePort, learner port -> who held it) for real-node sim ``index``; see the module."""
    held = {port: holder(port) for port in LEARNER_PORTS if not is_free(port)}
    if index != 1 and os.environ.get(LEAVE_PORTS_ENV):
        # Several engineers' sims on one machine: only the one that runs the pages needs 9080/9443.
        held = held or {port: f"nobody ({LEAVE_PORTS_ENV} was set)" for port in LEARNER_PORTS}
        return dict(zip(free_ports(len(LEARNER_PORTS)), LEARNER_PORTS.values())), held
    if not held:
        return dict(LEARNER_PORTS), {}
    if index == 1:
        raise PortsHeld("; ".join(f"127.0.0.1:{port}, kind's extraPortMapping to NodePort {LEARNER_PORTS[port]}, "
                                  f"is held by {who}" for port, who in held.items())
                        + ": stop it, or start another sim (SIM=N gets free ports instead).")
    return dict(zip(free_ports(len(LEARNER_PORTS)), LEARNER_PORTS.values())), held


def named_in(text: str) -> bool:
    """Does ``text`` (a page) curl one of the learner's ports, like ``http://127.0.0.1:9080/``?"""
    return any(f"127.0.0.1:{port}" in text for port in LEARNER_PORTS)


def learner_ports_problem(host_ports: dict[int, int], held: dict[int, str]) -> str | None:
    """None if the sim listens on the learner's ports; else why not (for a page that curls them)."""
    if host_ports == LEARNER_PORTS:
        return None
    why = "; ".join(f"127.0.0.1:{port} was held by {who}" for port, who in held.items()) or "it got other ports"
    return (f"this sim does not listen on kind's 127.0.0.1:9080/9443 ({why} when it started): stop that, "
            "then restart the sim (`make sim-down SIM=N`).")
