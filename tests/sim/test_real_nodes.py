"""The real-node sim (`make sim-up NODES=real`): pods run, Services route, DNS answers, the
API server reaches the kubelets, nothing leaves the machine, and `sim-down` leaves the host as found.

One real-node sim for the session (number 3, the ``real_kubeconfig`` fixture), shared by these
tests; the host-cleanup test starts and stops a sim of its own (number 4) first. The app is
busybox's httpd in a scratch image (``TEST_IMAGE``), loaded with ``Sim.load`` as `kind load` would.
Every wait is bounded.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from workshop.waits import wait_until

from workshop import REPO_ROOT
from workshop.pytest_cluster import REAL_NODE_SIM

pytestmark = pytest.mark.skipif(bool(os.environ.get("WORKSHOP_KUBECONFIG")),
                                reason="tests of the sim's own real nodes: WORKSHOP_KUBECONFIG is set")

TEST_IMAGE = "localhost/workshop/sim-test-busybox:dev"
CLEANUP_SIM = 4
KUBECTL = REPO_ROOT / ".bin" / "kubectl"  # linked by `make sim-build`, which `make test` runs first
WAIT = 90  # seconds, the most any wait here may take
# A TEST-NET-1 address (RFC 5737): never routed anywhere, so a try sends nothing that matters.
OUTSIDE_ADDRESS = "192.0.2.1"


def busybox_image() -> str:
    from workshop.sim.images import scratch_image

    # busybox-static: sh, httpd, nc and nslookup in one static binary (make sim-node-setup installs it).
    return scratch_image(TEST_IMAGE, {"/bin/busybox": Path("/bin/busybox")}, ["/bin/busybox"])


def kubectl(kubeconfig: Path, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess:
    return subprocess.run([str(KUBECTL), f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True,
                          timeout=timeout)


def wait_for(what, condition, timeout: float = WAIT, interval: float = 0.2):
    return wait_until(what, condition, timeout, interval)


# ------------------------------------------------------------ host as found


def host_snapshot(root: Path, slot: int, sandboxes: list[str]) -> dict:
    """What the real-node sim in ``root`` (host slot ``slot``) may change on the host.

    Ours is named after the slot (namespaces wsim<slot>-w<n>, veths wsim<slot>w<n>, cgroups,
    CNI cache entries) or lives under ``root``; its shims' sockets are named from its pod
    sandboxes. Other tools of a shared machine (podman, other sims) come and go meanwhile, so
    only ours is compared; the host-wide settings and folders only when no other sim runs.
    """
    from workshop.sim.nodenet import INOTIFY_MINIMUMS, KUBELET_SYSCTLS, RUN_DIR, read_sysctl
    from workshop.sim.nodes import SHIM_SOCKETS, cgroup_hierarchies

    prefixes = (f"wsim{slot}-", f"wsim{slot}w")
    run_netns = Path("/run/netns")
    namespaces = sorted(path.name for path in run_netns.iterdir()) if run_netns.is_dir() else []
    mounts = sorted(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    marker = f"{root}/".encode()
    processes = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    processes.append(int(entry.name))
            except OSError:
                pass
    others_run = bool(json_or_empty(RUN_DIR / "sysctls.json").get("holders"))
    snapshot = {
        "netns": [name for name in namespaces if name.startswith(prefixes)],
        "links": sorted(name for name in os.listdir("/sys/class/net") if name.startswith(prefixes)),
        "mounts": [point for point in mounts
                   if point.startswith(f"{root}/") or point.startswith(tuple(f"/run/netns/{p}" for p in prefixes))],
        "cgroups": sorted(str(path) for hierarchy in cgroup_hierarchies() for prefix in prefixes
                          for path in hierarchy.glob(f"{prefix}*")),
        "processes": processes,
        "cni cache": sorted(str(path) for path in Path("/var/lib/cni/results").glob("*")
                            if path.name.startswith(prefixes) or any(sandbox in path.name for sandbox in sandboxes))
        if Path("/var/lib/cni/results").is_dir() else [],
        "shim sockets": sorted(path.name for path in SHIM_SOCKETS.glob("*") if path.name in shim_sockets(root, sandboxes))
        if SHIM_SOCKETS.is_dir() else [],
        "slot file": (RUN_DIR / "slots" / str(slot)).exists(),
    }
    if not others_run:  # host-wide: judged only when no other real-node sim holds them
        snapshot["sysctls"] = {name: read_sysctl(name) for name in (*KUBELET_SYSCTLS, *INOTIFY_MINIMUMS,
                                                                     "net.ipv4.ip_forward",
                                                                     "net.ipv4.conf.all.forwarding")}
        snapshot["/run/containerd"] = Path("/run/containerd").exists()
    return snapshot


def json_or_empty(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def shim_sockets(root: Path, sandboxes: list[str]) -> set[str]:
    import hashlib

    from workshop.sim.nodes import NODE_NAMES

    return {hashlib.sha256(f"{root}/nodes/{node}/containerd.sock/k8s.io/{sandbox}".encode()).hexdigest()
            for node in NODE_NAMES for sandbox in sandboxes}


def sandboxes_of(sim) -> list[str]:
    return [sandbox for node in sim.real_nodes() for sandbox in node._sandbox_ids()]


def test_up_then_down_leaves_the_host_as_found():
    from workshop.pytest_cluster import _real_nodes_possible
    from workshop.sim.cluster import Sim

    _real_nodes_possible()
    sim = Sim(CLEANUP_SIM)
    sim.down(out=io.StringIO())
    before_raw = {slot: host_snapshot(sim.root, slot, []) for slot in range(1, 31)}
    try:
        sim.up(out=io.StringIO(), nodes="real")
        slot = sim.slot()
        kubeconfig = sim.kubeconfig
        # Pods with volumes (their ServiceAccount token is a tmpfs mount under the kubelet's root).
        assert kubectl(kubeconfig, "create", "deployment", "cleanup", f"--image={sim_pause_image()}",
                       "--replicas=2").returncode == 0
        assert kubectl(kubeconfig, "rollout", "status", "deployment/cleanup", f"--timeout={WAIT}s").returncode == 0
        sandboxes = sandboxes_of(sim)
        during = host_snapshot(sim.root, slot, sandboxes)
        # The snapshot sees a running sim: without this, an empty snapshot would pass anything.
        assert during["processes"] and during["cgroups"] and during["netns"] and during["shim sockets"], during
        assert any("/kubelet/root/pods/" in point for point in during["mounts"]), during["mounts"]
    finally:
        sim.down(out=io.StringIO())
    before = before_raw[slot]
    after = host_snapshot(sim.root, slot, sandboxes)
    # A host-wide key is absent while another sim runs: compare what both snapshots judged.
    mismatches = [f"{key}: before {before[key]}, after {after[key]}" for key in before if key in after and before[key] != after[key]]
    assert not mismatches, "sim-down left the host changed:\n" + "\n".join(mismatches)


def test_a_sim_starting_keeps_its_slot_from_a_second_one(tmp_path):
    """Two sims starting at once: the first holds its lock and has no state yet; the second must not take its slot."""
    import fcntl

    from workshop.pytest_cluster import _real_nodes_possible
    from workshop.sim import nodenet

    _real_nodes_possible()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    with open(first / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # what Sim.up holds for the whole start
        try:
            slots = nodenet.claim_slot(first), nodenet.claim_slot(second)
        finally:
            nodenet.release_slot(first)
            nodenet.release_slot(second)
    assert slots[0] != slots[1], slots


def sim_pause_image() -> str:
    from workshop.versions import all_versions

    return f"localhost/workshop/pause:{all_versions()['SIM_KUBERNETES_VERSION']}"


# ------------------------------------------------------------ the app


WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:  # one pod on each worker
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector: {matchLabels: {app: web}}
      securityContext: {runAsNonRoot: true, runAsUser: 65534}
      containers:
        - name: web
          image: %(image)s
          imagePullPolicy: Never
          command: [/bin/busybox, sh, -c]
          args: ['mkdir -p /tmp/www && hostname > /tmp/www/index.html && echo "serving $(hostname)" && exec httpd -f -p 8080 -h /tmp/www']
          ports: [{containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
          volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes: [{name: tmp, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-nodeport}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
"""


@pytest.fixture(scope="module")
def real_sim(real_kubeconfig):
    from workshop.sim.cluster import Sim

    sim = Sim(REAL_NODE_SIM)
    sim.load([busybox_image()])
    return sim


@pytest.fixture(scope="module")
def web(real_sim, real_kubeconfig):
    """The web Deployment (one pod a node) and its Services, in a namespace of their own."""
    namespace = f"t-real-nodes-{os.getpid()}"
    assert kubectl(real_kubeconfig, "create", "namespace", namespace).returncode == 0
    manifest = real_sim.root / "web.yaml"
    manifest.write_text(WEB % {"image": TEST_IMAGE})
    applied = kubectl(real_kubeconfig, "-n", namespace, "apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    rollout = kubectl(real_kubeconfig, "-n", namespace, "rollout", "status", "deployment/web", f"--timeout={WAIT}s")
    assert rollout.returncode == 0, rollout.stderr + describe(real_kubeconfig, namespace)
    yield namespace
    kubectl(real_kubeconfig, "delete", "namespace", namespace, "--wait=false")


def describe(kubeconfig: Path, namespace: str) -> str:
    return kubectl(kubeconfig, "-n", namespace, "get", "pods,events", "-o", "wide").stdout


def web_pods(kubeconfig: Path, namespace: str) -> dict[str, str]:
    """{pod name: node name} of the web pods."""
    result = kubectl(kubeconfig, "-n", namespace, "get", "pods", "-l", "app=web",
                     "-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{'\\n'}{end}")
    return dict(line.split() for line in result.stdout.splitlines() if line.strip())


def pod_exec(kubeconfig: Path, namespace: str, pod: str, script: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return kubectl(kubeconfig, "-n", namespace, "exec", pod, "--", "/bin/busybox", "sh", "-c", script, timeout=timeout)


def http_get_script(host: str, port: int) -> str:
    # busybox's nc: a plain HTTP/1.0 request, the answer's body is the serving pod's name.
    return f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port} | tail -n 1"


def test_both_workers_are_real_and_ready_with_a_pod_on_each(real_kubeconfig, web):
    nodes = kubectl(real_kubeconfig, "get", "nodes", "-o",
                    "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=='Ready')].status} "
                    "{.status.nodeInfo.containerRuntimeVersion} {.metadata.annotations.kwok\\.x-k8s\\.io/node}{'\\n'}{end}")
    rows = sorted(line.split() for line in nodes.stdout.splitlines())
    assert rows == [["workshop-worker", "True", "containerd://1.6.20"],
                    ["workshop-worker2", "True", "containerd://1.6.20"]], nodes.stdout
    assert sorted(web_pods(real_kubeconfig, web).values()) == ["workshop-worker", "workshop-worker2"]


def test_loading_an_image_podman_lacks_says_which(real_sim):
    import sys

    result = subprocess.run([sys.executable, "-m", "workshop.cli", "sim", "load", "--sim", str(REAL_NODE_SIM),
                             "localhost/workshop/never-built:dev"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "localhost/workshop/never-built:dev" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_cluster_ip_service_routes_to_pods_on_both_nodes(real_kubeconfig, web):
    pods = web_pods(real_kubeconfig, web)
    client = next(iter(pods))
    cluster_ip = kubectl(real_kubeconfig, "-n", web, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    seen: set[str] = set()

    def both_answered():
        answer = pod_exec(real_kubeconfig, web, client, http_get_script(cluster_ip, 80)).stdout.strip()
        seen.add(answer)
        return set(pods) <= seen

    wait_for(lambda: f"both web pods {sorted(pods)} answered through {cluster_ip} (answers seen: {seen})",
             both_answered, timeout=60)


def test_cluster_dns_resolves_the_api_and_a_service(real_kubeconfig, web):
    client = next(iter(web_pods(real_kubeconfig, web)))
    cluster_ip = kubectl(real_kubeconfig, "-n", web, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    api = pod_exec(real_kubeconfig, web, client, "nslookup kubernetes.default.svc.cluster.local")
    assert "10.96.0.1" in api.stdout, api.stdout + api.stderr
    service = pod_exec(real_kubeconfig, web, client, f"nslookup web.{web}.svc.cluster.local")
    assert cluster_ip in service.stdout, service.stdout + service.stderr
    # The short name through the search path, as an app uses it.
    answer = pod_exec(real_kubeconfig, web, client, http_get_script("web", 80))
    assert answer.stdout.strip() in web_pods(real_kubeconfig, web), answer.stdout + answer.stderr


def test_kubectl_logs_and_exec_reach_the_kubelet(real_kubeconfig, web):
    for pod in web_pods(real_kubeconfig, web):
        logs = kubectl(real_kubeconfig, "-n", web, "logs", pod)
        assert logs.returncode == 0 and f"serving {pod}" in logs.stdout, logs.stderr
        executed = pod_exec(real_kubeconfig, web, pod, "echo inside $(hostname)")
        assert executed.stdout.strip() == f"inside {pod}", executed.stderr


def test_kubectl_port_forward_reaches_a_pod(real_kubeconfig, web):
    pod = next(iter(web_pods(real_kubeconfig, web)))
    command = [str(KUBECTL), f"--kubeconfig={real_kubeconfig}", "-n", web, "port-forward", f"pod/{pod}", ":8080"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as forward:
        try:
            line = forward.stdout.readline()  # kubectl prints it once listening (or exits on failure)
            match = re.search(r"127\.0\.0\.1:(\d+) ->", line)
            assert match, f"no 'Forwarding from' line: {line!r} {forward.stderr.read() if forward.poll() is not None else ''}"
            with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=10) as response:
                assert response.read().decode().strip() == pod
        finally:
            forward.terminate()
            forward.wait(timeout=10)


def test_kind_port_mapping_reaches_node_port_30080(real_sim, web):
    host_ports = {node_port: host for host, node_port in real_sim.host_ports().items()}
    assert 30080 in host_ports and 30443 in host_ports, real_sim.host_ports()
    with urllib.request.urlopen(f"http://127.0.0.1:{host_ports[30080]}/", timeout=10) as response:
        assert response.read().decode().strip() in web_pods(real_sim.kubeconfig, web)


def test_an_address_outside_the_cluster_is_unreachable_at_once(real_kubeconfig, web):
    pod = next(iter(web_pods(real_kubeconfig, web)))
    started = time.monotonic()
    tried = pod_exec(real_kubeconfig, web, pod, f"nc -w 5 {OUTSIDE_ADDRESS} 80 </dev/null")
    seconds = time.monotonic() - started
    assert "Network is unreachable" in tried.stderr, tried.stdout + tried.stderr
    assert seconds < 4, f"took {seconds:.1f} s: the packet went somewhere before failing"


@pytest.mark.parametrize("policy, reasons", [("Never", {"ErrImageNeverPull"}),
                                             ("IfNotPresent", {"ErrImagePull", "ImagePullBackOff"})])
def test_a_missing_image_fails_like_kind_naming_the_image(real_kubeconfig, web, policy, reasons):
    image = f"localhost/workshop/not-built-{policy.lower()}:dev"
    pod = f"missing-{policy.lower()}"
    created = kubectl(real_kubeconfig, "-n", web, "run", pod, f"--image={image}", f"--image-pull-policy={policy}",
                      "--restart=Never")
    assert created.returncode == 0, created.stderr

    def failure_event():
        events = kubectl(real_kubeconfig, "-n", web, "get", "events", f"--field-selector=involvedObject.name={pod}",
                         "-o", "jsonpath={range .items[*]}{.reason}|{.message}{'\\n'}{end}").stdout
        waiting = kubectl(real_kubeconfig, "-n", web, "get", "pod", pod, "-o",
                          "jsonpath={.status.containerStatuses[0].state.waiting.reason}").stdout
        return waiting in reasons and [line for line in events.splitlines()
                                       if line.split("|")[0] in ({"Failed"} | reasons) and image in line]

    assert wait_for(f"pod {pod} fails with {reasons} naming {image}", failure_event, timeout=60)
