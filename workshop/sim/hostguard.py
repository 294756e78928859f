"""Keep every address of the sims on this machine: `unreachable` routes on the host while a sim runs.

A sim's API server runs on the host. Without these routes, a packet it (or a test) sends to a
Service address (10.96.x.x) or to a KWOK pod's address (10.244.x.x, text only: nothing runs
there) would leave through the host's default route. With them, it fails at once ("No route to
host") and never leaves. The real nodes' own routes (a /24 or /30 through their veth, see
nodenet.py) are more specific, so their traffic still flows.

The routes are added when the first sim of this host starts, and removed when the last one
stops (holders are recorded in /run/workshop-sim/guard.json, as nodenet does for sysctls).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from workshop.sim import certs, kwok, nodenet

GUARDED_RANGES = (
    certs.SERVICE_CLUSTER_IP_RANGE,  # ClusterIPs: only kube-proxy inside a node makes them real
    kwok.POD_CIDR,                   # KWOK's pod addresses: written in Pod status, never routed
    "10.246.0.0/16",                 # real nodes' pods (every slot's 10.246.<8s>.0/21)
    "10.247.0.0/16",                 # real nodes' links (every slot's 10.247.<s>.0/24)
)
RECORD = nodenet.RUN_DIR / "guard.json"


def can_route() -> bool:
    """Changing routes needs root (CAP_NET_ADMIN): a developer's unprivileged sim runs without the guard."""
    return os.geteuid() == 0


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


def _present(cidr: str) -> bool:
    return bool(_ip("route", "show", "exact", cidr, "type", "unreachable").stdout.strip())


def _holders() -> list[str]:
    """The sims holding the routes; one whose state is gone (stopped, or killed with its folder) no longer counts."""
    try:
        recorded = json.loads(RECORD.read_text()).get("holders", [])
    except (OSError, ValueError):
        return []
    return [holder for holder in recorded if (Path(holder) / "state.json").exists()]


def _write(holders: list[str]) -> None:
    if holders:
        RECORD.write_text(json.dumps({"holders": sorted(set(holders)), "ranges": list(GUARDED_RANGES)}, indent=1))
    else:
        RECORD.unlink(missing_ok=True)


def hold(owner: Path) -> bool:
    """Make sure the routes are there while the sim in ``owner`` runs; False when they cannot be made."""
    if not can_route():
        return False
    with nodenet.host_lock():
        for cidr in GUARDED_RANGES:
            if not _present(cidr):
                done = _ip("route", "add", "unreachable", cidr)
                if done.returncode != 0:
                    raise nodenet.NetworkError(f"could not add `unreachable {cidr}`: {done.stderr.strip()}")
        _write(_holders() + [str(owner)])
    return True


def release(owner: Path) -> None:
    """The sim in ``owner`` stopped: remove the routes if it was the last one holding them."""
    if not can_route():
        return
    with nodenet.host_lock():
        holders = [holder for holder in _holders() if holder != str(owner)]
        _write(holders)
        if holders:
            return
        for cidr in GUARDED_RANGES:
            if _present(cidr):
                _ip("route", "del", "unreachable", cidr)
