"""NetworkPolicy enforcement on the real-node sim: kube-network-policies, as kind's kindnet runs it.

kind enforces NetworkPolicy with ``sigs.k8s.io/kube-network-policies`` inside kindnet: the
first packet of every connection goes to userspace through an nftables ``queue`` rule, the
controller evaluates the policies and answers accept or drop. The real-node sim runs the
same controller, built from the module at KUBE_NETWORK_POLICIES_VERSION, as upstream's own
``install.yaml`` of that version installs it (a DaemonSet with its ServiceAccount and RBAC),
with kindnet's settings: queue 102, fail open.

**The stand-in.** This machine's kernel has ``nfnetlink_queue`` and the xtables ``NFQUEUE``
target but not nftables' queue expression (CONFIG_NFT_QUEUE): the controller's nftables table
is refused as a whole (it keeps running and logs "syncing nftables rules"). The sim puts the
equivalent rules in each node's namespace with **iptables-legacy** (iptables-nft would
translate NFQUEUE into the missing expression), the chain of upstream's ``syncNFTablesRules``:

    root's own traffic of the node (kubelet probes)   accept   (meta skuid 0)
    packets of established or related connections     accept   (ct state established,related)
    every other packet                                queue 102, bypass when nobody listens

Upstream queues only packets from or to the node's pods that some policy selects (a set in
its table); the set cannot exist here, so every new connection is queued: upstream's own rule
when AdminNetworkPolicy is on. The verdicts are the controller's either way (a packet no
policy applies to is accepted), one userspace round trip per new connection more. In the
POSTROUTING hook, after DNAT and before SNAT, as upstream's chain (priority srcnat - 5); the
mangle table is iptables' one there. ``--netfilter-bug-1766-fix=false``: that workaround
(DNS queued in PREROUTING after DNAT) has no iptables table to live in, and its flag says it
is not needed from kernel 6.12 (this one is newer); DNS is then judged in POSTROUTING like the
rest. IPv4 only: the sim has no IPv6.

    >>> from workshop.sim import netpol
    >>> netpol.image()                      # built once, then cached (podman's store)
    'localhost/workshop-sim/kube-network-policies:<KUBE_NETWORK_POLICIES_VERSION>'
    >>> netpol.install_queue_rules("wsim3-w1")   # into a node's network namespace
"""

from __future__ import annotations

import subprocess

import yaml

from workshop.sim.gobuild import GoBuild, build, module_dir
from workshop.versions import all_versions

MODULE = "sigs.k8s.io/kube-network-policies"
NAMESPACE = "kube-system"
NAME = "kube-network-policies"
# kindnet's configuration of the controller (kind's images/kindnetd/cmd/kindnetd/main.go).
QUEUE_ID = 102
CHAIN = "KUBE-NETWORK-POLICIES"
IPTABLES_LEGACY = "/usr/sbin/iptables-legacy"


class NetpolError(Exception):
    """The queue rules could not be installed; the message names the command and its error."""


def spec(versions: dict[str, str] | None = None) -> GoBuild:
    version = (versions or all_versions())["KUBE_NETWORK_POLICIES_VERSION"]
    # Upstream's Dockerfile: `go build -o /go/bin/netpol ./cmd`; gobuild names a binary after its package.
    return GoBuild(name="kube-network-policies", version=version, requires={MODULE: version},
                   binaries={"cmd": f"{MODULE}/cmd"}, inherit_go_directive=MODULE)


def binary(log=None):
    return build(spec(), log)["cmd"]


def image(log=None) -> str:
    """Upstream's image: the binary at /bin/netpol, root (distroless/static's default user), no
    entrypoint (install.yaml's args start with /bin/netpol: upstream's Dockerfile has a CMD only)."""
    from workshop.sim.images import scratch_image

    name = f"localhost/workshop-sim/kube-network-policies:{spec().version}"
    return scratch_image(name, {"/bin/netpol": binary(log)}, [], user="0:0")


def documents(image_name: str) -> list[dict]:
    """Upstream's install.yaml at the pinned version, changed only where the sim differs from kind."""
    manifest = module_dir(MODULE, spec().version) / "install.yaml"
    out = []
    for doc in yaml.safe_load_all(manifest.read_text()):
        if not doc:
            continue
        if doc["kind"] == "DaemonSet":
            pod = doc["spec"]["template"]["spec"]
            container = pod["containers"][0]
            container["image"] = image_name  # built from the module: nothing is pulled
            container["args"] = [arg for arg in container["args"] if not arg.startswith("--nfqueue-id")] + [
                f"--nfqueue-id={QUEUE_ID}", "--fail-open",  # kindnet's values
                "--netfilter-bug-1766-fix=false",  # no iptables table after DNAT in PREROUTING (module docstring)
                "--disable-nri",  # Debian's containerd 1.6 has no NRI socket
            ]
            # Both host folders serve NRI only (its socket; the pods' namespaces it reads IPs in): no NRI, no mounts.
            container.pop("volumeMounts", None)
            pod.pop("volumes", None)
        out.append(doc)
    return out


def queue_rules() -> list[list[str]]:
    """The iptables-legacy rules (mangle table) standing in for upstream's nftables chain."""
    queue = ["-j", "NFQUEUE", "--queue-num", str(QUEUE_ID), "--queue-bypass"]  # bypass: kindnet fails open
    return [
        ["-N", CHAIN],
        ["-A", CHAIN, "-m", "owner", "--uid-owner", "0", "-j", "RETURN"],
        ["-A", CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        ["-A", CHAIN, *queue],
        ["-A", "POSTROUTING", "-j", CHAIN],
    ]


def install_queue_rules(netns: str) -> None:
    """Put the queue rules into a node's network namespace (they go with the namespace)."""
    for rule in queue_rules():
        command = ["nsenter", f"--net=/run/netns/{netns}", "--", IPTABLES_LEGACY, "-w", "-t", "mangle", *rule]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise NetpolError(f"`{' '.join(command)}` failed: {(result.stderr or result.stdout).strip()}")


def listening(netns: str) -> bool:
    """Does the controller listen on its queue in this node? It binds it once its informers have synced
    (its pod is Ready before that: no probe), so this is when policies start being enforced."""
    table = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "--", "cat", "/proc/net/netfilter/nfnetlink_queue"],
                           capture_output=True, text=True).stdout
    return any(line.split()[:1] == [str(QUEUE_ID)] for line in table.splitlines())


def rules_in(netns: str) -> str:
    """The mangle table of a node, as iptables-legacy-save prints it (for tests and sim-status)."""
    return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "--", f"{IPTABLES_LEGACY}-save", "-t", "mangle"],
                          capture_output=True, text=True).stdout
