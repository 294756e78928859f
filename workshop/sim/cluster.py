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
"""

from __future__ import annotations

import fcntl
import json
import shutil
import ssl
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
from workshop.sim import certs, crds, kubeconfig, kwok
from workshop.sim.build import all_specs, build_all
from workshop.sim.gobuild import built_paths, is_built
from workshop.sim.processes import Process, free_ports, rss_bytes, tail

NODE_COUNT = 3
START_TIMEOUT = 90.0  # seconds for each wait; a cold page cache on a busy 2-core machine is slow

# name: binary. Started in this order, stopped in the reverse order.
COMPONENTS = {
    "etcd": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kwok": "kwok",
}


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

    def processes(self) -> list[Process]:
        # `.sim/pki/` is not a prefix of `.sim/2/pki/`: the marker tells cluster 1 from cluster 2.
        def marker(name: str) -> str:
            return f"--data-dir={self.root / 'etcd'}" if name == "etcd" else f"{self.pki}/"
        return [Process(name, binary, self.root, marker(name)) for name, binary in COMPONENTS.items()]

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

    def up(self, out=sys.stdout, nodes: int = NODE_COUNT) -> float:
        """Start the cluster unless it is up; return the seconds until it was ready."""
        started = time.monotonic()
        with self._lock():
            if self.is_up():
                print(f"sim-up: {self.context} is already up: nothing to do.", file=out)
                self._print_ready(out, time.monotonic() - started)
                return time.monotonic() - started
            self._clean_leftovers(out)
            building = time.monotonic()
            binaries = self._binaries(out)
            started += time.monotonic() - building  # ready_seconds measures the start, not a first build
            try:
                self._start(binaries, nodes, out)
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

    def _clean_leftovers(self, out) -> None:
        """Report what is left of an earlier run (dead components, stale pid files) and clear it."""
        for process in self.processes():
            if process.stale():
                print(f"sim-up: removing the stale pid file of {process.name} (pid {process.pid()} is gone); "
                      f"last lines of its log:\n{indent(tail(process.log_file))}", file=out)
                process.pid_file.unlink(missing_ok=True)
            elif process.running():
                print(f"sim-up: stopping {process.name} left from an unhealthy run.", file=out)
        self._stop_all()

    def _start(self, binaries: dict[str, Path], node_count: int, out) -> None:
        for folder in ("etcd", "pki", "kwok", "logs"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.unlink(missing_ok=True)
        print(f"sim-up: starting {self.context} in {self.root.relative_to(REPO_ROOT)}/ ...", file=out, flush=True)

        certs.generate(self.pki, self.context)
        names = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
        ports = dict(zip(names, free_ports(len(names))))
        server = self._api_url(ports["kube-apiserver"], "")
        kubeconfig.write(self.kubeconfig, self.context, server, self.pki, "admin")
        component_kubeconfigs = {
            identity: kubeconfig.write(self.pki / f"{identity}.kubeconfig", self.context, server, self.pki, identity)
            for identity in ("kube-controller-manager", "kube-scheduler", "kwok")
        }
        stages = kwok.write_stages(self.root / "kwok" / "stages.yaml")
        self.state_file.write_text(json.dumps({"ports": ports, "context": self.context}, indent=2))
        processes = {process.name: process for process in self.processes()}
        commands = self._commands(binaries, ports, component_kubeconfigs, stages)

        processes["etcd"].start(commands["etcd"])
        self._wait("etcd answers", lambda: _get(f"http://127.0.0.1:{ports['etcd']}/health", None, 1.0) is not None,
                   [processes["etcd"]])
        processes["kube-apiserver"].start(commands["kube-apiserver"])
        self._wait("kube-apiserver is ready", self.api_ready, [processes["etcd"], processes["kube-apiserver"]])
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            processes[name].start(commands[name])
        everyone = list(processes.values())

        documents = [document for path in crds.crd_files() for document in _load_yaml(path.read_text())]
        self._apply(_load_yaml(kwok.nodes_manifest(node_count)) + documents, everyone)
        self._wait("every CRD is Established", self.crds_established, everyone)
        self._wait(f"{node_count} nodes are Ready", lambda: self.ready_nodes() >= node_count, everyone)

    def _commands(self, binaries, ports, component_kubeconfigs, stages) -> dict[str, list[str]]:
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
            "kwok": kwok.command(binaries["kwok"], component_kubeconfigs["kwok"], stages, self.index),
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
                          "Node": "/api/v1/nodes"}[kind]
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

    # ------------------------------------------------------------------- stop

    def down(self, out=sys.stdout) -> int:
        """Stop every process and remove the cluster's data (logs stay); return how many were running."""
        with self._lock():
            stopped = self._stop_all()
            for folder in ("etcd", "pki", "kwok"):
                shutil.rmtree(self.root / folder, ignore_errors=True)
            self.kubeconfig.unlink(missing_ok=True)
            self.state_file.unlink(missing_ok=True)
        print(f"sim-down: {self.context}: stopped {stopped} process(es); logs kept in {self.root / 'logs'}", file=out)
        return stopped

    def _stop_all(self) -> int:
        return sum(process.stop() for process in reversed(self.processes()))

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
