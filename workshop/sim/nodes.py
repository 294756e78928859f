"""Real worker nodes of the sim (NODES=real): containerd, kubelet and kube-proxy in a namespace each.

Two workers named as kind names them (``workshop-worker``, ``workshop-worker2``). Per node,
everything lives under ``<sim root>/nodes/<name>/``::

    containerd/config.toml, root/, state/     Debian's containerd, runc and CNI plugins
    containerd.sock
    cni/net.d/ (bridge + host-local + portmap), cni/ipam/
    kubelet/config.yaml, kubelet/root/, kubelet/pods-logs/, kubelet.kubeconfig
    kube-proxy.yaml

Each process runs in the node's network namespace through ``nsenter --net`` (not ``ip netns
exec``: that makes a mount namespace of its own, and containers would miss the kubelet's
volume mounts). Values that pass this machine's blockers (see docs/contributing/testing.md):
cgroup v1 needs ``failCgroupV1: false`` and a prepared ``cgroupRoot``; nobody may lower an
OOM score here, so ``oomScoreAdj: 0`` / ``oom_score = 0`` / ``restrict_oom_score_adj``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from workshop.sim import kubeconfig, nodenet
from workshop.sim.kindconfig import worker_labels
from workshop.sim.nodenet import NodeNet
from workshop.sim.processes import Process, find

NODE_NAMES = tuple(worker_labels())  # as kind names them: workshop-worker, workshop-worker2
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
CNI_BIN_DIR = Path("/usr/lib/cni")
CGROUP_MOUNTS = Path("/sys/fs/cgroup")
SHIM = "containerd-shim-runc-v2"
CNI_CACHE = Path("/var/lib/cni")
SHIM_SOCKETS = Path("/run/containerd/s")


@dataclass(frozen=True)
class RealNode:
    sim_root: Path
    name: str
    net: NodeNet

    @property
    def dir(self) -> Path:
        return self.sim_root / "nodes" / self.name

    @property
    def socket(self) -> Path:
        return self.dir / "containerd.sock"

    @property
    def cgroup_root(self) -> str:
        return f"/{self.net.netns}"

    @property
    def cni_network(self) -> str:
        return self.net.netns  # unique on the host: names libcni's cache files

    def processes(self) -> list[Process]:
        marker = f"{self.dir}/"
        return [Process(f"{self.name}-{binary}", binary, self.sim_root, marker)
                for binary in ("containerd", "kubelet", "kube-proxy")]

    # ------------------------------------------------------------ configs

    def write_configs(self, pki: Path, context: str, api_server: str, pause_image: str, cluster_cidr: str) -> None:
        for folder in ("containerd", "cni/net.d", "cni/ipam", "kubelet/root", "kubelet/pod-logs", "kubelet/volume-plugins"):
            (self.dir / folder).mkdir(parents=True, exist_ok=True)
        (self.dir / "containerd" / "config.toml").write_text(self._containerd_config(pause_image))
        (self.dir / "cni" / "net.d" / "10-workshop.conflist").write_text(json.dumps(self._cni_config(), indent=2))
        kubeconfig.write(self.dir / "kubelet.kubeconfig", context, api_server, pki, f"{self.name}-client")
        kubeconfig.write(self.dir / "kube-proxy.kubeconfig", context, api_server, pki, "kube-proxy")
        (self.dir / "kubelet" / "config.yaml").write_text(yaml.safe_dump(self._kubelet_config(pki), sort_keys=False))
        (self.dir / "kube-proxy.yaml").write_text(yaml.safe_dump(self._kube_proxy_config(cluster_cidr), sort_keys=False))

    def _containerd_config(self, pause_image: str) -> str:
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        return f"""\
# Written by workshop/sim/nodes.py for node {self.name}.
version = 2
root = "{self.dir / 'containerd' / 'root'}"
state = "{self.dir / 'containerd' / 'state'}"
# Nobody may lower an OOM score on this machine (no CAP_SYS_RESOURCE): leave it as inherited.
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{self.socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{self.dir / 'containerd' / 'opt'}"

[{cri}]
  sandbox_image = "{pause_image}"
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  BinaryName = "/usr/sbin/runc"
  Root = "{self.dir / 'runc'}"

[{cri}.cni]
  bin_dir = "{CNI_BIN_DIR}"
  conf_dir = "{self.dir / 'cni' / 'net.d'}"
"""

    def _cni_config(self) -> dict:
        return {
            "cniVersion": "0.4.0",
            "name": self.cni_network,
            "plugins": [
                {
                    "type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
                    "ipam": {
                        "type": "host-local", "dataDir": str(self.dir / "cni" / "ipam"),
                        "ranges": [[{"subnet": self.net.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def _kubelet_config(self, pki: Path) -> dict:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # Authentication and authorization stay on: the API server calls us with its own identity.
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(pki / "ca.crt")}},
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(pki / f"{self.name}-serving.crt"),
            "tlsPrivateKeyFile": str(pki / f"{self.name}-serving.key"),
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            # cgroup v1 here: refused from 1.35 unless told; our own cgroup root in every hierarchy.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": self.cgroup_root,
            "oomScoreAdj": 0,
            "clusterDNS": [CLUSTER_DNS_IP],
            "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": "",  # no upstream resolver: nothing outside is reachable
            "podLogsDir": str(self.dir / "kubelet" / "pod-logs"),
            "volumePluginDir": str(self.dir / "kubelet" / "volume-plugins"),
            "healthzBindAddress": "127.0.0.1",
            "readOnlyPort": 0,
            "failSwapOn": False,
            "rotateCertificates": False,
            "serializeImagePulls": False,
            # A shared test machine's disk may be fuller than a laptop's: no eviction for that.
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                             "nodefs.inodesFree": "1%"},
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "nodeStatusUpdateFrequency": "4s",
        }

    def _kube_proxy_config(self, cluster_cidr: str) -> dict:
        return {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.dir / "kube-proxy.kubeconfig")},
            "hostnameOverride": self.name,
            "mode": "iptables",
            "clusterCIDR": cluster_cidr,
            "bindAddress": "127.0.0.1",
            "healthzBindAddress": "127.0.0.1:10256",
            "metricsBindAddress": "127.0.0.1:10249",
            "nodePortAddresses": [f"{self.net.node_ip}/32", "127.0.0.0/8"],
            # conntrack's table size is host-wide: leave it alone.
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
            "oomScoreAdj": 0,
        }

    # ------------------------------------------------------------ start

    def prepare_cgroups(self) -> None:
        """Our cgroup root in every v1 hierarchy (cpuset copies its parent's cpus and mems, or stays unusable)."""
        for hierarchy in cgroup_hierarchies():
            path = hierarchy / self.cgroup_root.lstrip("/")
            path.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (path / name).exists() and not (path / name).read_text().strip():
                    (path / name).write_text((hierarchy / name).read_text())

    def command(self, binary: Path, *args: str) -> list[str]:
        return ["/usr/bin/nsenter", f"--net={self.net.netns_path}", "--", str(binary), *args]

    def start_containerd(self) -> Process:
        process = self.processes()[0]
        process.start(self.command(Path("/usr/bin/containerd"), f"--config={self.dir / 'containerd' / 'config.toml'}"))
        return process

    def containerd_ready(self) -> bool:
        if not self.socket.exists():
            return False
        result = subprocess.run(["ctr", f"--address={self.socket}", "version"], capture_output=True)
        return result.returncode == 0

    def start_kubelet_and_proxy(self, binaries: dict[str, Path]) -> list[Process]:
        _, kubelet, proxy = self.processes()
        kubelet.start(self.command(
            binaries["kubelet"], f"--config={self.dir / 'kubelet' / 'config.yaml'}",
            f"--kubeconfig={self.dir / 'kubelet.kubeconfig'}", f"--root-dir={self.dir / 'kubelet' / 'root'}",
            f"--cert-dir={self.dir / 'kubelet' / 'pki'}",
            f"--hostname-override={self.name}", f"--node-ip={self.net.node_ip}", "--v=1",
            *self._label_args(),
        ))
        proxy.start(self.command(binaries["kube-proxy"], f"--config={self.dir / 'kube-proxy.yaml'}"))
        return [kubelet, proxy]

    def _label_args(self) -> list[str]:
        """The labels kind-cluster.yaml gives this worker; kind's kubelet registers with them too."""
        labels = worker_labels().get(self.name, {})
        return [f"--node-labels={','.join(f'{key}={value}' for key, value in labels.items())}"] if labels else []

    # ------------------------------------------------------------- stop

    def stop(self) -> int:
        """Stop everything of this node and remove what it made; returns how many processes were stopped."""
        containerd, kubelet, proxy = self.processes()
        sandboxes = self._sandbox_ids()
        stopped = kubelet.stop() + proxy.stop()
        stopped += self._kill_containers()
        for shim in find(SHIM, str(self.socket)):
            _kill(shim)
        stopped += containerd.stop()
        unmount_under(self.dir)
        self._remove_cgroups()
        self._remove_host_files(sandboxes)
        nodenet.delete(self.net)
        shutil.rmtree(self.dir, ignore_errors=True)
        return stopped

    def _sandbox_ids(self) -> list[str]:
        """Ids of the pod sandboxes (one shim each), read from containerd's state folder."""
        tasks = self.dir / "containerd" / "state" / "io.containerd.runtime.v2.task" / "k8s.io"
        return [path.name for path in tasks.iterdir()] if tasks.is_dir() else []

    def _remove_host_files(self, sandboxes: list[str]) -> None:
        """Files outside our folder that a killed runtime leaves: shim sockets, libcni's cache."""
        for sandbox in sandboxes:
            # containerd 1.6 names a shim's socket sha256(<containerd address>/<namespace>/<id>).
            digest = hashlib.sha256(f"{self.socket}/k8s.io/{sandbox}".encode()).hexdigest()
            (SHIM_SOCKETS / digest).unlink(missing_ok=True)
            for cached in (CNI_CACHE / "results").glob(f"*-{sandbox}-*"):
                cached.unlink(missing_ok=True)
        for cached in (CNI_CACHE / "results").glob(f"{self.cni_network}-*"):
            cached.unlink(missing_ok=True)

    def _cgroup_dirs(self) -> list[Path]:
        """Every cgroup folder of this node, deepest first. os.walk skips what vanishes meanwhile
        (a runtime still removing a container's cgroup)."""
        folders = []
        for hierarchy in cgroup_hierarchies():
            for folder, _, _ in os.walk(hierarchy / self.cgroup_root.lstrip("/")):
                folders.append(Path(folder))
        return sorted(folders, key=lambda path: len(path.parts), reverse=True)

    def _kill_containers(self) -> int:
        """SIGKILL every process in the node's cgroups (the containers and their pause processes)."""
        pids: set[int] = set()
        for folder in self._cgroup_dirs():
            try:
                pids |= {int(pid) for pid in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        for pid in pids:
            _kill(pid)
        return 0

    def _remove_cgroups(self) -> None:
        for folder in self._cgroup_dirs():
            for _ in range(50):  # a killed process leaves its cgroup a moment later
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)

    def leftovers(self) -> list[str]:
        """What this node left on the host (empty when cleaned): for `sim-status` and the tests."""
        found = [f"network namespace {self.net.netns}"] if nodenet.exists(self.net) else []
        found += [f"cgroup {hierarchy / self.cgroup_root.lstrip('/')}" for hierarchy in cgroup_hierarchies()
                  if (hierarchy / self.cgroup_root.lstrip("/")).exists()]
        found += [f"mount {path}" for path in mounts_under(self.dir)]
        return found


def cgroup_hierarchies() -> list[Path]:
    """Every cgroup v1 hierarchy mounted under /sys/fs/cgroup (plus the hybrid's unified one)."""
    hierarchies = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        mount_point, fstype = fields[4], fields[fields.index("-") + 1]
        if fstype in ("cgroup", "cgroup2") and mount_point.startswith(f"{CGROUP_MOUNTS}/"):
            hierarchies.append(Path(mount_point))
    return hierarchies


def mounts_under(folder: Path) -> list[str]:
    prefix = f"{folder}/"
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [point for point in points if point.startswith(prefix)]


def unmount_under(folder: Path) -> None:
    """Unmount everything under ``folder``, deepest first (pod volumes, overlay roots, pod netns)."""
    for _ in range(3):  # a lazy unmount of a parent can reveal mounts below it
        points = sorted(set(mounts_under(folder)), key=lambda p: p.count("/"), reverse=True)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", "-l", point], capture_output=True)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
