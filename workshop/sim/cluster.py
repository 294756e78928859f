"""Start, check and stop one sim cluster: a real control plane on 127.0.0.1, fake nodes.

    >>> from workshop.sim.cluster import Sim
    >>> sim = Sim(1)              # state in .sim/, context workshop-sim
    >>> sim.up()                  # no-op if already up; prints ready_seconds at the end
    >>> sim.kubeconfig            # PosixPath('.../.sim/kubeconfig')
    >>> sim.down()                # stops every process, removes the cluster's data

Order of a start, and why:
1. certificates and kubeconfigs (fresh each time: a restarted sim is a new cluster),
2. etcd, the API server's only storage,
3. kube-apiserver, once etcd answers; we wait for its /readyz,
4. kube-controller-manager, kube-scheduler and kwok together (they only need the API),
5. the fake nodes and the Istio and Knative CRDs (server-side apply), then wait until
   every CRD is Established and every node Ready.
A process that exits during a start stops the start: its log tail is printed.

``up(nodes="real")`` (``make sim-up NODES=real``) starts no KWOK: two real workers instead
(workshop/sim/nodes.py), a forwarder to the API server for them, CoreDNS, and forwarders of
kind's extraPortMappings. The mode is recorded in state.json, so status and down know it.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from workshop import REPO_ROOT
from workshop.sim import addons, certs, crds, hostguard, hostports, kubeconfig, kwok, netpol, nodenet
from workshop.sim.nodenet import NodeNet
from workshop.sim.nodes import CLUSTER_DNS_IP, NODE_NAMES, RealNode
from workshop.sim.build import all_specs, build_all
from workshop.sim.gobuild import built_paths, is_built
from workshop.sim.processes import Process, free_ports, rss_bytes, tail
from workshop.sim.processes import _terminate as terminate

# KWOK workers: as many as the learner's kind cluster has (labs/00-setup/kind-cluster.yaml), so a
# spread of two replicas and a drain of workshop-worker place and evict pods as they do there.
NODE_COUNT = 2
NODE_MODES = ("kwok", "real")
API_FORWARDER_PORT = 6443
# kind's extraPortMappings of the workshop cluster (labs/00-setup/kind-cluster.yaml): host port -> NodePort.
# Sim 1 insists on the learner's ports; another sim takes them when free (workshop/sim/hostports.py).
PORT_MAPPINGS = hostports.LEARNER_PORTS
START_TIMEOUT = 90.0  # seconds for each wait; a cold page cache on a busy 2-core machine is slow

# name: binary. Started in this order, stopped in the reverse order.
COMPONENTS = {
    "etcd": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kwok": "kwok",
    # KWOK sims only: the stand-in for kind's local-path-provisioner (workshop/sim/claim_binder.py).
    "claim-binder": "python3",
}
KWOK_ONLY = ("kwok", "claim-binder")


class SimError(Exception):
    """A start or check failed; the message says what happened and what to do."""


class ComponentExited(SimError):
    def __init__(self, process: Process, code: int | None):
        status = f"exited with status {code}" if code is not None else "is not running"
        super().__init__(f"{process.name} {status}; last lines of {process.log_file}:\n{indent(tail(process.log_file))}")
        self.component = process.name


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


@dataclass(frozen=True)
class Sim:
    """Sim cluster number ``index``: 1 is ``.sim/`` with context ``workshop-sim``; N is ``.sim/N/``, ``workshop-sim-N``."""

    index: int = 1

    def __post_init__(self):
        if self.index < 1:
            raise ValueError(f"a sim cluster number is 1 or more, got {self.index}")

    @property
    def root(self) -> Path:
        base = REPO_ROOT / ".sim"
        return base if self.index == 1 else base / str(self.index)

    @property
    def context(self) -> str:
        return "workshop-sim" if self.index == 1 else f"workshop-sim-{self.index}"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def mode(self) -> str:
        """"kwok" or "real", as recorded by the last start."""
        return self.state().get("nodes", "kwok")

    def processes(self, mode: str | None = None) -> list[Process]:
        """This cluster's processes in start order (those of ``mode``, default the recorded one)."""
        # `.sim/pki/` is not a prefix of `.sim/2/pki/`: the marker tells cluster 1 from cluster 2.
        def marker(name: str) -> str:
            return f"--data-dir={self.root / 'etcd'}" if name == "etcd" else f"{self.pki}/"
        mode = mode or self.mode()
        names = [name for name in COMPONENTS if mode == "kwok" or name not in KWOK_ONLY]
        processes = [Process(name, COMPONENTS[name], self.root, marker(name)) for name in names]
        if mode == "real":
            processes += self.forwarders()
            for node in self.real_nodes():
                processes += node.processes()
        return processes

    def forwarders(self) -> list[Process]:
        """socat processes: the nodes' way to the API server, and kind's extraPortMappings."""
        # socat logs to a file of ours: that argument tells this cluster's socat from any other.
        marker = f"{self.root / 'logs'}/"
        names = ["apiserver-forwarder", "apiserver-node-forwarder",
                 *(f"port-{port}-forwarder" for port in PORT_MAPPINGS)]
        return [Process(name, "socat", self.root, marker) for name in names]

    def slot(self) -> int | None:
        """This sim's real-node slot on the host (workshop/sim/nodenet.py), if it holds one."""
        recorded = self.state().get("slot")
        if recorded:
            return recorded
        owned = [slot for slot in nodenet.SLOTS if nodenet._slot_owner(slot) == str(self.root)]
        return owned[0] if owned else None

    def real_nodes(self, slot: int | None = None) -> list[RealNode]:
        slot = slot or self.slot()
        if slot is None:
            return []
        return [RealNode(self.root, name, NodeNet(slot, number)) for number, name in enumerate(NODE_NAMES, start=1)]

    def host_ports(self) -> dict[int, int]:
        """Host port on 127.0.0.1 -> NodePort, for kind's extraPortMappings (recorded at start)."""
        return {int(host): node_port for host, node_port in self.state().get("host_ports", {}).items()}

    def learner_ports_problem(self) -> str | None:
        """None if this sim listens on kind's 127.0.0.1:9080/9443, else why not."""
        held = {int(port): who for port, who in self.state().get("host_ports_held", {}).items()}
        return hostports.learner_ports_problem(self.host_ports(), held)

    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    # ----------------------------------------------------------------- checks

    def api_ready(self, timeout: float = 2.0) -> bool:
        return self._api_get("/readyz", timeout) == "ok"

    def _api_get(self, path: str, timeout: float) -> str | None:
        """GET on the API server as admin; None if it is not there (no state, no certificates, no answer)."""
        port = self.state().get("ports", {}).get("kube-apiserver")
        if not port:
            return None
        try:
            context = self._tls()
        except (OSError, ssl.SSLError):
            return None
        return _get(self._api_url(port, path), context, timeout)

    def _api_url(self, port: int, path: str) -> str:
        return f"https://127.0.0.1:{port}{path}"

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(self.pki / "admin.crt", self.pki / "admin.key")
        return context

    def is_up(self) -> bool:
        return all(process.running() for process in self.processes()) and self.api_ready()

    # ------------------------------------------------------------------ start

    def up(self, out=sys.stdout, nodes: str = "kwok") -> float:
        """Start the cluster unless it is up; return the seconds until it was ready.

        ``nodes``: "kwok" (fake nodes, the fast control-plane tests) or "real" (two real workers).
        """
        if nodes not in NODE_MODES:
            raise SimError(f"nodes must be one of {', '.join(NODE_MODES)}, got {nodes!r}")
        started = time.monotonic()
        with self._lock():
            if self.is_up() and self.mode() != nodes:
                raise SimError(f"{self.context} is up with {self.mode()} nodes, not {nodes}: "
                               f"stop it first (`make sim-down{'' if self.index == 1 else f' SIM={self.index}'}`).")
            if self.is_up():
                print(f"sim-up: {self.context} is already up: nothing to do.", file=out)
                self._print_ready(out, time.monotonic() - started)
                return time.monotonic() - started
            self._clean_leftovers(out)
            building = time.monotonic()
            binaries = self._binaries(out)
            images = self._node_images(out) if nodes == "real" else {}
            started += time.monotonic() - building  # ready_seconds measures the start, not a first build
            try:
                if not hostguard.hold(self.root):
                    print("sim-up: not root: no `unreachable` routes guard the sim's addresses on this host.", file=out)
                if nodes == "real":
                    self._start_real(binaries, images, out)
                else:
                    self._start(binaries, NODE_COUNT, out)
            except BaseException:
                self._stop_all()
                raise
            seconds = time.monotonic() - started
            self._print_ready(out, seconds)
            return seconds

    def _binaries(self, out) -> dict[str, Path]:
        specs = all_specs()
        if not all(is_built(spec) for spec in specs):
            print("sim-up: building the sim binaries first (cached afterwards) ...", file=out, flush=True)
            return build_all(log=lambda message: print(message, file=out, flush=True))
        paths: dict[str, Path] = {}
        for spec in specs:
            paths.update(built_paths(spec))
        return paths

    def _node_images(self, out) -> dict[str, str]:
        from workshop.sim import images

        from workshop.sim import metrics_server, netpol, storage

        print("sim-up: building the node images (pause, CoreDNS, metrics-server, local-path-provisioner, "
              "kube-network-policies; cached afterwards) ...", file=out, flush=True)
        log = lambda message: print(message, file=out, flush=True)  # noqa: E731
        # metrics-server: what a kind node pulls when level 3 applies the release manifest, under that very name.
        built = {"pause": images.pause_image(), "coredns": images.coredns_image(),
                 "metrics-server": metrics_server.image(), "netpol": netpol.image(log)}
        return built | {f"storage-{role}": image for role, image in storage.images(log).items()}

    @staticmethod
    def _node_image_names(images: dict[str, str]) -> dict[str, str]:
        """The names the nodes know some of the sim's own images by, instead of their local ones."""
        from workshop.sim import metrics_server

        return {images["metrics-server"]: metrics_server.release_image()} if "metrics-server" in images else {}

    def _clean_leftovers(self, out) -> None:
        """Report what is left of an earlier run (dead components, stale pid files) and clear it."""
        for process in self._every_process():
            if process.stale():
                print(f"sim-up: removing the stale pid file of {process.name} (pid {process.pid()} is gone); "
                      f"last lines of its log:\n{indent(tail(process.log_file))}", file=out)
                process.pid_file.unlink(missing_ok=True)
            elif process.running():
                print(f"sim-up: stopping {process.name} left from an unhealthy run.", file=out)
        self._stop_all()

    def _start(self, binaries: dict[str, Path], node_count: int, out) -> None:
        ports, component_kubeconfigs = self._prepare(out, extra_state={})
        stages = kwok.write_stages(self.root / "kwok" / "stages.yaml")
        processes = {process.name: process for process in self.processes()}
        commands = self._commands(binaries, ports, component_kubeconfigs, stages)

        processes["etcd"].start(commands["etcd"])
        self._wait("etcd answers", lambda: _get(f"http://127.0.0.1:{ports['etcd']}/health", None, 1.0) is not None,
                   [processes["etcd"]])
        processes["kube-apiserver"].start(commands["kube-apiserver"])
        self._wait("kube-apiserver is ready", self.api_ready, [processes["etcd"], processes["kube-apiserver"]])
        for name in ("kube-controller-manager", "kube-scheduler", "kwok", "claim-binder"):
            processes[name].start(commands[name])
        everyone = list(processes.values())
        from workshop.sim import claim_binder

        self._install_crds_and(_load_yaml(kwok.nodes_manifest(node_count)) + [claim_binder.storage_class()], everyone)
        self._wait(f"{node_count} nodes are Ready", lambda: self.ready_nodes() >= node_count, everyone)

    def _prepare(self, out, extra_state: dict, extra_ips: tuple[str, ...] = ()) -> tuple[dict, dict]:
        """Fresh folders, certificates, ports, kubeconfigs and state.json; returns (ports, component kubeconfigs)."""
        for folder in ("etcd", "pki", "kwok", "logs", "nodes"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.unlink(missing_ok=True)
        print(f"sim-up: starting {self.context} in {self.root.relative_to(REPO_ROOT)}/ ...", file=out, flush=True)
        certs.generate(self.pki, self.context, extra_ips)
        names = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
        ports = dict(zip(names, free_ports(len(names))))
        server = self._api_url(ports["kube-apiserver"], "")
        kubeconfig.write(self.kubeconfig, self.context, server, self.pki, "admin")
        component_kubeconfigs = {
            identity: kubeconfig.write(self.pki / f"{identity}.kubeconfig", self.context, server, self.pki, identity)
            for identity in ("kube-controller-manager", "kube-scheduler", "kwok")
        }
        self.state_file.write_text(json.dumps({"ports": ports, "context": self.context, **extra_state}, indent=2))
        return ports, component_kubeconfigs

    def _install_crds_and(self, documents: list[dict], everyone: list[Process], istio: bool = True) -> None:
        documents = documents + [document for path in crds.crd_files(istio) for document in _load_yaml(path.read_text())]
        self._apply(documents, everyone)
        self._wait("every CRD is Established", self.crds_established, everyone)

    def _start_real(self, binaries: dict[str, Path], images: dict[str, str], out) -> None:
        """The control plane, then two real workers; see workshop/sim/nodes.py and nodenet.py."""
        try:  # before anything is claimed or started: a held learner port stops sim 1 here
            host_ports, held = hostports.choose(self.index)
        except hostports.PortsHeld as error:
            raise SimError(str(error)) from None
        slot = nodenet.claim_slot(self.root)
        nodes = self.real_nodes(slot)
        forwarder_ip = nodes[0].net.host_ip
        ports, component_kubeconfigs = self._prepare(
            out, {"nodes": "real", "slot": slot, "host_ports": host_ports, "host_ports_held": held,
             "node_ips": {node.name: node.net.node_ip for node in nodes}},
            extra_ips=(forwarder_ip, nodes[0].net.node_ip))
        nodenet.note_host_dirs()
        nodenet.hold_kubelet_sysctls(self.root)
        for node in nodes:
            nodenet.create(node.net, [n.net for n in nodes])
            # kindnet's NetworkPolicy queue, with iptables-legacy standing in for nftables (workshop/sim/netpol.py).
            netpol.install_queue_rules(node.net.netns)
            certs.issue_node(self.pki, node.name, node.net.node_ip)
        commands = self._commands(binaries, ports, component_kubeconfigs, stages=None)
        processes = {process.name: process for process in self.processes("real")}
        processes["etcd"].start(commands["etcd"])
        self._wait("etcd answers", lambda: _get(f"http://127.0.0.1:{ports['etcd']}/health", None, 1.0) is not None,
                   [processes["etcd"]])
        # Webhooks served by pods (istiod's injector): dial the endpoint's pod IP, which the host routes to
        # (nodenet), not the Service's ClusterIP, which only kube-proxy inside the nodes knows.
        processes["kube-apiserver"].start(commands["kube-apiserver"] + self._kubelet_client_flags()
                                          + ["--enable-aggregator-routing=true"])
        control = [processes[name] for name in ("etcd", "kube-apiserver")]
        for node in nodes:
            node.prepare_cgroups()
            node.write_configs(self.pki, self.context, f"https://{forwarder_ip}:{API_FORWARDER_PORT}",
                               images["pause"], nodenet.sim_pod_cidr(slot))
        # containerd does not need the API: start it (configs written) while the API server comes up.
        containerds = [node.start_containerd() for node in nodes]
        self._wait("kube-apiserver is ready", self.api_ready, control)
        for name in ("kube-controller-manager", "kube-scheduler"):
            processes[name].start(commands[name])
        forwarders = self._start_forwarders(processes, forwarder_ip, ports["kube-apiserver"], nodes[0], host_ports)
        everyone = control + [processes["kube-controller-manager"], processes["kube-scheduler"]] + forwarders
        self._wait("containerd answers on both nodes", lambda: all(node.containerd_ready() for node in nodes),
                   everyone + containerds)
        from workshop.sim import images as node_images

        node_images.load([node.socket for node in nodes], list(images.values()), self._node_image_names(images))
        for node in nodes:
            everyone += node.start_kubelet_and_proxy(binaries)
        everyone += containerds
        from workshop.sim import storage

        # kind's `standard` StorageClass: local-path-provisioner, a folder per node (workshop.sim.storage).
        addon_documents = addons.kubernetes_endpoints(forwarder_ip, API_FORWARDER_PORT) \
            + addons.coredns(images["coredns"], CLUSTER_DNS_IP) \
            + storage.documents(self.root / "nodes", [node.name for node in nodes],
                                {"provisioner": images["storage-provisioner"], "helper": images["storage-helper"]}) \
            + netpol.documents(images["netpol"])
        self._apply_with_kubectl(binaries["kubectl"], addon_documents, everyone)
        self._install_crds_and([], everyone, istio=False)  # as kind: Istio's come with `make lab-5`
        self._wait(f"{len(nodes)} real nodes are Ready", lambda: self.ready_nodes() >= len(nodes), everyone)
        self._wait("CoreDNS is available", self.dns_available, everyone)
        # Policies are enforced from the start, as on kind: kube-network-policies listens on both nodes.
        self._wait("kube-network-policies listens on every node",
                   lambda: all(netpol.listening(node.net.netns) for node in nodes), everyone)

    def _kubelet_client_flags(self) -> list[str]:
        """The API server's identity towards the kubelets (kubeadm's apiserver-kubelet-client)."""
        return [
            f"--kubelet-client-certificate={self.pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={self.pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={self.pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
        ]

    def _start_forwarders(self, processes, forwarder_ip: str, api_port: int, node: RealNode,
                          host_ports: dict[int, int]) -> list[Process]:
        started = []
        targets = {"apiserver-forwarder": (f"TCP-LISTEN:{API_FORWARDER_PORT},bind={forwarder_ip},reuseaddr,fork",
                                           f"TCP:127.0.0.1:{api_port}")}
        # kind's control-plane node serves the API on <its InternalIP>:6443, the address level 7's
        # remote secrets name (another cluster's istiod dials it): the first node does the same here.
        node_side = {"apiserver-node-forwarder": (
            f"TCP-LISTEN:{API_FORWARDER_PORT},bind={node.net.node_ip},reuseaddr,fork",
            f"TCP:{forwarder_ip}:{API_FORWARDER_PORT}")}
        for (host_port, node_port), learner_port in zip(host_ports.items(), PORT_MAPPINGS):
            # Bound to 127.0.0.1 only, as kind's listenAddress.
            targets[f"port-{learner_port}-forwarder"] = (f"TCP-LISTEN:{host_port},bind=127.0.0.1,reuseaddr,fork",
                                                        f"TCP:{node.net.node_ip}:{node_port}")
        for name, (listen, connect) in {**targets, **node_side}.items():
            process = processes[name]
            # nsenter execs socat in the node's network namespace: the process is still socat.
            inside = ["/usr/bin/nsenter", f"--net={node.net.netns_path}", "--"] if name in node_side else []
            process.start([*inside, "/usr/bin/socat", "-lf", str(self.root / "logs" / f"{name}.socat.log"),
                           listen, connect])
            started.append(process)
        return started

    def _apply_with_kubectl(self, kubectl: Path, documents: list[dict], watched: list[Process]) -> None:
        path = addons.write(self.root / "nodes" / "addons.yaml", documents)
        result = subprocess.run([str(kubectl), f"--kubeconfig={self.kubeconfig}", "apply", "--server-side",
                                 "--field-manager=workshop-sim", "-f", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            self._check_alive(watched)
            raise SimError(f"applying {path} failed: {result.stderr.strip()}")

    def dns_available(self) -> bool:
        body = self._api_get("/apis/apps/v1/namespaces/kube-system/deployments/coredns", 5.0)
        if body is None:
            return False
        status = json.loads(body).get("status", {})
        return status.get("availableReplicas", 0) >= 1 and status.get("updatedReplicas", 0) == status.get("replicas", -1)

    def _commands(self, binaries, ports, component_kubeconfigs, stages: Path | None) -> dict[str, list[str]]:
        pki = self.pki
        etcd_url, peer_url = f"http://127.0.0.1:{ports['etcd']}", f"http://127.0.0.1:{ports['etcd-peer']}"
        return {
            "etcd": [
                str(binaries["etcd"]), "--name=sim", f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=sim={peer_url}",
                # A throwaway test cluster: skipping fsync makes every write (and the start) much faster.
                "--unsafe-no-fsync", "--log-level=warn",
            ],
            "kube-apiserver": [
                str(binaries["kube-apiserver"]),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={ports['kube-apiserver']}",
                f"--cert-dir={pki}", f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                # RBAC decides what each identity may do (the Node authorizer is for kubelets, as in kubeadm).
                "--authorization-mode=Node,RBAC",
                # The aggregation layer's front proxy (kubeadm's settings): without it, every
                # component logs that the requestheader CA is missing.
                f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
                f"--requestheader-allowed-names={certs.FRONT_PROXY_CLIENT}",
                "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
                # PodSecurity is on by default; privileged Pods are allowed by the API and refused
                # by Pod Security admission where a namespace enforces `restricted`.
                "--enable-admission-plugins=NodeRestriction", "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={certs.SERVICE_CLUSTER_IP_RANGE}",
                # No real network: the `kubernetes` Service keeps no endpoints rather than a loopback one.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
            "kube-controller-manager": [
                str(binaries["kube-controller-manager"]),
                *_component_auth(component_kubeconfigs["kube-controller-manager"]),
                "--bind-address=127.0.0.1", f"--secure-port={ports['kube-controller-manager']}",
                "--leader-elect=false", "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--cluster-name={self.context}", "--profiling=false",
            ],
            "kube-scheduler": [
                str(binaries["kube-scheduler"]),
                *_component_auth(component_kubeconfigs["kube-scheduler"]),
                "--bind-address=127.0.0.1", f"--secure-port={ports['kube-scheduler']}",
                "--leader-elect=false", "--profiling=false",
            ],
            "kwok": kwok.command(binaries["kwok"], component_kubeconfigs["kwok"], stages, self.index) if stages else [],
            # kwok's identity (system:masters, a test double as kwok is); its path is in this sim's pki.
            "claim-binder": [str(Path(sys.executable).parent / "python3"), "-m", "workshop.sim.claim_binder",
                             f"--kubeconfig={component_kubeconfigs['kwok']}"],
        }

    def _wait(self, what: str, condition, watched: list[Process], timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(watched)
            if condition():
                return
            if time.monotonic() > deadline:
                raise SimError(f"timed out after {timeout:.0f} s waiting until {what}; see the logs in {self.root / 'logs'}")
            time.sleep(0.1)

    def _check_alive(self, watched: list[Process]) -> None:
        for process in watched:
            code = process.exited()
            if code is not None or not process.running():
                raise ComponentExited(process, code)

    def _apply(self, documents: list[dict], watched: list[Process]) -> None:
        """Server-side apply of each object, four at a time, what `kubectl apply --server-side` does.

        Server-side apply is one PATCH per object with the content type
        application/apply-patch+yaml (JSON is valid YAML). Done here rather than with kubectl:
        no process start, no discovery or OpenAPI download, which take seconds after each CRD.
        """
        port, context = self.state()["ports"]["kube-apiserver"], self._tls()

        def apply(document: dict) -> None:
            group_version, kind = document["apiVersion"], document["kind"]
            collection = {"CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                          "Node": "/api/v1/nodes",
                          "StorageClass": "/apis/storage.k8s.io/v1/storageclasses"}[kind]
            url = self._api_url(port, f"{collection}/{document['metadata']['name']}?fieldManager=workshop-sim&force=true")
            request = urllib.request.Request(url, data=json.dumps(document).encode(), method="PATCH",
                                             headers={"Content-Type": "application/apply-patch+yaml"})
            try:
                with urllib.request.urlopen(request, context=context, timeout=60):
                    pass
            except urllib.error.HTTPError as error:
                detail = error.read().decode(errors="replace")[:500]
                raise SimError(f"applying {kind} {document['metadata']['name']} ({group_version}) failed: {detail}")
            except OSError as error:
                self._check_alive(watched)  # a dead component explains a failed request best
                raise SimError(f"applying {kind} {document['metadata']['name']} failed: {error}")

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(apply, documents))

    def _print_ready(self, out, seconds: float) -> None:
        nodes = self.ready_nodes()
        print(f"sim-up: {self.context} is ready: KUBECONFIG={self.kubeconfig} (context {self.context})", file=out)
        print(f"sim-up: ready_seconds={seconds:.1f} nodes={nodes}", file=out, flush=True)

    def crds_established(self) -> bool:
        body = self._api_get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", 5.0)
        items = json.loads(body).get("items", []) if body else []
        return bool(items) and all(_condition(item, "Established") for item in items)

    def ready_nodes(self) -> int:
        body = self._api_get("/api/v1/nodes", 5.0)
        if body is None:
            return 0
        return sum(_condition(item, "Ready") for item in json.loads(body).get("items", []))

    # ----------------------------------------------------------------- images

    def load(self, image_names: list[str], out=sys.stdout, names: dict[str, str] | None = None) -> None:
        """`kind load docker-image` for the sim: podman images into every real node, names kept
        (or given by ``names``, {podman image: its name in the nodes}: the sim's own stand-ins)."""
        from workshop.sim import images

        nodes = self.real_nodes() if self.mode() == "real" else []
        if not nodes or not self.is_up():
            raise SimError(f"{self.context} has no real nodes running: start it with `make sim-up NODES=real"
                           f"{'' if self.index == 1 else f' SIM={self.index}'}`.")
        images.load([node.socket for node in nodes], image_names, names)
        print(f"sim-load: {', '.join(image_names)} loaded into {', '.join(node.name for node in nodes)}", file=out)

    # ------------------------------------------------------------------- stop

    def down(self, out=sys.stdout) -> int:
        """Stop every process and remove the cluster's data (logs stay); return how many were running."""
        with self._lock():
            stopped = self._stop_all()
            for folder in ("etcd", "pki", "kwok", "nodes"):
                shutil.rmtree(self.root / folder, ignore_errors=True)
            self.kubeconfig.unlink(missing_ok=True)
            self.state_file.unlink(missing_ok=True)
        print(f"sim-down: {self.context}: stopped {stopped} process(es); logs kept in {self.root / 'logs'}", file=out)
        return stopped

    def _every_process(self) -> list[Process]:
        """Whatever mode ran last: a crashed start may have left either kind."""
        kwok_only = [process for process in self.processes("kwok") if process.name in KWOK_ONLY]
        return self.processes("real") + kwok_only

    def _stop_all(self) -> int:
        """Stop every process (nodes first, each cleaning what it made on the host), then the control plane."""
        stopped = 0
        slot = self.slot()
        # The forwarder inside the first node's namespace first (its process group, by its pid file):
        # alive, it would keep that namespace and its veth. Not Process.stop(): its search for strays
        # would also find the other forwarders' per-connection children, which lead no group.
        inside = next(process for process in self.forwarders() if process.name == "apiserver-node-forwarder")
        pid = inside.pid()
        if pid is not None and inside.running():
            terminate(pid, inside.running, 10.0)
            stopped += 1
        for node in self.real_nodes(slot):
            stopped += node.stop()
        for process in reversed(self._every_process()):
            stopped += process.stop()
        hostguard.release(self.root)
        if slot is not None:
            last = nodenet.release_kubelet_sysctls(self.root)
            nodenet.release_slot(self.root)
            if last:
                nodenet.remove_made_host_dirs()
        return stopped

    # ----------------------------------------------------------------- status

    def status(self, out=sys.stdout) -> int:
        """Print each component's state; 0 if all run and the API is ready, 1 if some do not, 3 if none runs."""
        processes = self.processes()
        running = [process for process in processes if process.running()]
        if not running:
            stale = [process.name for process in processes if process.stale()]
            note = f" (stale pid files: {', '.join(stale)})" if stale else ""
            print(f"sim-status: {self.context} is not running{note}: start it with `make sim-up"
                  f"{'' if self.index == 1 else f' SIM={self.index}'}`.", file=out)
            return 3
        total = 0
        for process in processes:
            if process.running():
                rss = rss_bytes(process.pid())
                total += rss
                print(f"  {process.name:<24} running  pid {process.pid():<8} rss {rss / 2**20:6.0f} MiB", file=out)
            else:
                print(f"  {process.name:<24} STOPPED  last lines of {process.log_file}:\n{indent(tail(process.log_file))}", file=out)
        ready = self.api_ready()
        print(f"sim-status: {self.context}: {len(running)}/{len(processes)} running, API "
              f"{'ready' if ready else 'NOT ready'}, nodes Ready={self.ready_nodes() if ready else 0}, "
              f"rss total {total / 2**20:.0f} MiB, KUBECONFIG={self.kubeconfig}", file=out)
        return 0 if len(running) == len(processes) and ready else 1

    @contextmanager
    def _lock(self):
        """One start or stop at a time per cluster (a test fixture and `make sim-up` may race)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _component_auth(path: Path) -> list[str]:
    """A component uses one identity for the API and to check who calls its own /healthz."""
    return [f"--kubeconfig={path}", f"--authentication-kubeconfig={path}", f"--authorization-kubeconfig={path}"]


def _condition(item: dict, kind: str) -> bool:
    """Is condition ``kind`` True in this object's status?"""
    conditions = (item.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _load_yaml(text: str) -> list[dict]:
    # libyaml's loader when PyYAML has it: Istio's CRD file is ~1 MB, slow in pure Python.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [document for document in yaml.load_all(text, Loader=loader) if document]


def _get(url: str, context: ssl.SSLContext | None, timeout: float) -> str | None:
    """Body of a GET if it answers 200, else None (refused, timeout, TLS not up yet, 5xx...)."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as response:
            return response.read().decode() if response.status == 200 else None
    except (OSError, ValueError):
        return None
