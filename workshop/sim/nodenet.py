"""The network of the real-node sim: a namespace per node, one veth pair to the host, routes.

Each real-node sim takes a *slot* (1-30) on this host, claimed in ``/run/workshop-sim/slots/``,
so two sims (of any checkout) never share a name or an address. For slot ``s``, node ``n``
(1 or 2)::

    network namespace   wsim<s>-w<n>                 (/run/netns/)
    veth, host side     wsim<s>w<n>   10.247.<s>.<4n-3>/30
    veth, node side     eth0          10.247.<s>.<4n-2>/30   (the node's InternalIP)
    pod range           10.246.<8s+n>.0/24          (inside 10.246.<8s>.0/21: the sim's pods)

KWOK's pod addresses are 10.244.0.0/16, Services 10.96.0.0/16: no overlap. **No default
route** in a node's namespace: a packet to any address outside the sim answers "Network is
unreachable" at once. The node reaches the host, the other node's pods and the Services' range
(its own processes' ClusterIP calls, before kube-proxy's DNAT) through its veth;
the host forwards between our veths only (per-interface ``forwarding``, never the global
``ip_forward``), and the routes go with the veths when the namespace is deleted.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workshop.sim.certs import SERVICE_CLUSTER_IP_RANGE

RUN_DIR = Path("/run/workshop-sim")
SLOTS = range(1, 31)
# What the kubelet changes on the host, for every node alike: restored when the last real-node sim stops.
KUBELET_SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops")
# kind's documented host preparation ("too many open files" in its known issues): every kubelet,
# containerd and API server takes inotify instances, 128 by default for the whole host, and
# several real-node sims at once (the test suite's, a developer's) exhaust it. Raised while a
# real-node sim runs, never lowered, restored with the kubelet's settings.
INOTIFY_MINIMUMS = {"fs.inotify.max_user_instances": 512, "fs.inotify.max_user_watches": 524288}


class NetworkError(Exception):
    """A network setup step failed; the message names the command and its error."""


@dataclass(frozen=True)
class NodeNet:
    slot: int
    number: int  # 1 or 2

    @property
    def netns(self) -> str:
        return f"wsim{self.slot}-w{self.number}"

    @property
    def netns_path(self) -> Path:
        return Path("/run/netns") / self.netns

    @property
    def host_link(self) -> str:
        return f"wsim{self.slot}w{self.number}"

    @property
    def host_ip(self) -> str:
        return f"10.247.{self.slot}.{4 * self.number - 3}"

    @property
    def node_ip(self) -> str:
        return f"10.247.{self.slot}.{4 * self.number - 2}"

    @property
    def pod_cidr(self) -> str:
        return f"10.246.{8 * self.slot + self.number}.0/24"


def sim_pod_cidr(slot: int) -> str:
    """Every pod address of the sim in ``slot`` (what kube-proxy calls the cluster CIDR)."""
    return f"10.246.{8 * slot}.0/21"


def sim_link_cidr(slot: int) -> str:
    return f"10.247.{slot}.0/24"


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise NetworkError(f"`{' '.join(command)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def in_netns(netns: str, *command: str) -> str:
    # nsenter --net only (not `ip netns exec`): the same mount namespace as the host.
    return run("nsenter", f"--net=/run/netns/{netns}", "--", *command)


# ------------------------------------------------------------------ slots


@contextmanager
def host_lock():
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _slot_owner(slot: int) -> str | None:
    try:
        return (RUN_DIR / "slots" / str(slot)).read_text().strip()
    except OSError:
        return None


def claim_slot(owner: Path) -> int:
    """The slot of the sim whose state folder is ``owner``: its own if it has one, else the first free."""
    with host_lock():
        (RUN_DIR / "slots").mkdir(exist_ok=True)
        for slot in SLOTS:
            if _slot_owner(slot) == str(owner):
                return slot
        for slot in SLOTS:
            owner_now = _slot_owner(slot)
            # A slot whose owner folder has no real-node state any more is left from a crash.
            if owner_now is None or not _owns_nodes(Path(owner_now), slot):
                (RUN_DIR / "slots" / str(slot)).write_text(f"{owner}\n")
                return slot
    raise NetworkError(f"all {len(SLOTS)} real-node sim slots of this host are taken (see {RUN_DIR / 'slots'})")


def _owns_nodes(root: Path, slot: int) -> bool:
    """Does the sim in ``root`` still hold ``slot``? A sim starting or stopping holds its lock: yes."""
    lock = root / ".lock"
    if lock.exists():
        with open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    try:
        return json.loads((root / "state.json").read_text()).get("slot") == slot
    except (OSError, ValueError):
        return any(NodeNet(slot, number).netns_path.exists() for number in (1, 2))


def release_slot(owner: Path) -> None:
    with host_lock():
        for slot in SLOTS:
            if _slot_owner(slot) == str(owner):
                (RUN_DIR / "slots" / str(slot)).unlink(missing_ok=True)
        _remove_empty(RUN_DIR / "slots")


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


# --------------------------------------------------- kernel settings (host)


def hold_kubelet_sysctls(owner: Path) -> None:
    """Record the host's values of what the kubelet changes, once for all the sims that run."""
    with host_lock():
        record = _sysctl_record()
        if not record.get("values"):
            record["values"] = {name: read_sysctl(name) for name in KUBELET_SYSCTLS}
        for name, minimum in INOTIFY_MINIMUMS.items():
            if name not in record["values"]:  # a record an older sim started
                record["values"][name] = read_sysctl(name)
            if int(read_sysctl(name)) < minimum:
                write_sysctl(name, str(minimum))
        record["holders"] = sorted(set(record.get("holders", [])) | {str(owner)})
        (RUN_DIR / "sysctls.json").write_text(json.dumps(record, indent=1))


def release_kubelet_sysctls(owner: Path) -> bool:
    """Restore the recorded values when the last sim holding them stops; True if it was the last."""
    with host_lock():
        record = _sysctl_record()
        holders = [holder for holder in record.get("holders", []) if holder != str(owner)]
        if holders:
            record["holders"] = holders
            (RUN_DIR / "sysctls.json").write_text(json.dumps(record, indent=1))
            return False
        for name, value in record.get("values", {}).items():
            write_sysctl(name, value)
        (RUN_DIR / "sysctls.json").unlink(missing_ok=True)
    _remove_empty(RUN_DIR / "slots")
    return True


def _sysctl_record() -> dict:
    try:
        return json.loads((RUN_DIR / "sysctls.json").read_text())
    except (OSError, ValueError):
        return {}


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctl(name: str) -> str:
    return _sysctl_path(name).read_text().strip()


def write_sysctl(name: str, value: str) -> None:
    _sysctl_path(name).write_text(f"{value}\n")


# ------------------------------------------------------------ namespaces


def create(node: NodeNet, all_nodes: list[NodeNet]) -> None:
    """The node's namespace, its veth pair, addresses and routes (host and node side)."""
    delete(node)
    run("ip", "netns", "add", node.netns)
    run("ip", "link", "add", node.host_link, "type", "veth", "peer", "name", "eth0", "netns", node.netns)
    run("ip", "addr", "add", f"{node.host_ip}/30", "dev", node.host_link)
    run("ip", "link", "set", node.host_link, "up")
    # Forward between our veths only: this interface's flag, not the host's global ip_forward.
    write_sysctl(f"net.ipv4.conf.{node.host_link}.forwarding", "1")
    in_netns(node.netns, "ip", "addr", "add", f"{node.node_ip}/30", "dev", "eth0")
    in_netns(node.netns, "ip", "link", "set", "lo", "up")
    in_netns(node.netns, "ip", "link", "set", "eth0", "up")
    # The sim's own ranges through the host; nothing else (no default route). The Services' range too,
    # as a kind node's default route covers it: the node's own processes (hostNetwork pods such as
    # kube-network-policies) need a route to a ClusterIP before kube-proxy's OUTPUT DNAT rewrites it.
    # A ClusterIP kube-proxy does not know reaches the host, whose hostguard route refuses it.
    for cidr in (sim_pod_cidr(node.slot), sim_link_cidr(node.slot), SERVICE_CLUSTER_IP_RANGE):
        in_netns(node.netns, "ip", "route", "add", cidr, "via", node.host_ip, "dev", "eth0")
    in_netns(node.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    # Replies between two pods of one bridge must cross iptables, or a Service's DNAT is not undone.
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if bridge_nf.exists():
        in_netns(node.netns, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
    run("ip", "route", "add", node.pod_cidr, "via", node.node_ip, "dev", node.host_link)


def delete(node: NodeNet) -> None:
    """Remove the namespace (its veth, and the routes through it, go with it)."""
    if node.netns_path.exists():
        run("ip", "netns", "delete", node.netns)
    link = Path(f"/sys/class/net/{node.host_link}")
    deadline = time.monotonic() + 5
    while link.exists() and time.monotonic() < deadline:  # the kernel removes the pair a moment later
        time.sleep(0.05)
    if link.exists():
        subprocess.run(["ip", "link", "delete", node.host_link], capture_output=True)


def exists(node: NodeNet) -> bool:
    return node.netns_path.exists() or Path(f"/sys/class/net/{node.host_link}").exists()


# Folders the runtime creates on the host outside our state folder: `ip netns add` makes
# /run/netns (bind-mounted on itself), containerd's shims put their sockets in /run/containerd/s,
# libcni caches results in /var/lib/cni/results. Removed when we made them and they are empty.
HOST_DIRS = (Path("/run/netns"), Path("/run/containerd/s"), Path("/run/containerd"),
             Path("/var/lib/cni/results"), Path("/var/lib/cni"))


def note_host_dirs() -> None:
    """Remember which of HOST_DIRS did not exist before the first real-node sim."""
    with host_lock():
        record = RUN_DIR / "made-dirs.json"
        made = set(json.loads(record.read_text())) if record.exists() else set()
        made |= {str(path) for path in HOST_DIRS if not path.exists()}
        record.write_text(json.dumps(sorted(made)))


def remove_made_host_dirs() -> None:
    """Once the last real-node sim stopped: remove the HOST_DIRS we made, if empty (deepest first).

    One that is not empty now belongs to another tool as well (podman's CNI also caches in
    /var/lib/cni): it stays, and so does whatever is in it.
    """
    with host_lock():
        record = RUN_DIR / "made-dirs.json"
        if not record.exists():
            return
        made = json.loads(record.read_text())
        for path in sorted(map(Path, made), key=lambda p: len(p.parts), reverse=True):
            if not path.is_dir() or any(path.iterdir()):
                continue
            if path == Path("/run/netns"):
                subprocess.run(["umount", str(path)], capture_output=True)
            try:
                path.rmdir()
            except OSError:
                pass
        record.unlink()
