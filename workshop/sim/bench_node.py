"""`make bench-node`: how fast and how big the real-node sim is, measured on this machine.

Starts sim number ``BENCH_SIM`` with real nodes (builds and images are made first and not
timed, as `sim-up` times only the start), then prints one line last::

    bench-node: ready_seconds=9.8 pod_ready_seconds=1.2 rss_mb=431

- ready_seconds: from the start of `sim-up` until both workers are Ready;
- pod_ready_seconds: one app pod (busybox's httpd) from its creation until it is Ready;
- rss_mb: resident memory of both nodes' kubelet, containerd, kube-proxy and container
  shims, before any app pod (CoreDNS's shims are counted, CoreDNS itself is not).
The sim is stopped at the end.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path

from workshop.sim.cluster import Sim
from workshop.sim.images import coredns_image, load, pause_image, scratch_image
from workshop.sim.nodes import SHIM
from workshop.sim.processes import find, rss_bytes

BENCH_SIM = 8
APP_IMAGE = "localhost/workshop/sim-test-busybox:dev"
TIMEOUT = 120.0


def app_pod(name: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{
            "name": "web", "image": APP_IMAGE, "imagePullPolicy": "Never",
            "command": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/"],
            "securityContext": {"runAsUser": 65534, "runAsNonRoot": True},
        }]},
    }


def nodes_rss(sim: Sim) -> int:
    total = 0
    for node in sim.real_nodes():
        pids = [process.pid() for process in node.processes()] + find(SHIM, str(node.socket))
        total += sum(rss_bytes(pid) for pid in pids if pid)
    return total


def _watch_nodes_ready(sim: Sim, started: float, result: dict) -> None:
    while time.monotonic() - started < TIMEOUT and "ready_seconds" not in result:
        if sim.mode() == "real" and sim.ready_nodes() >= 2:
            result["ready_seconds"] = time.monotonic() - started
        time.sleep(0.05)


def pod_ready_seconds(sim: Sim) -> float:
    port = sim.state()["ports"]["kube-apiserver"]
    url = f"https://127.0.0.1:{port}/api/v1/namespaces/default/pods"
    request = urllib.request.Request(url, data=json.dumps(app_pod("bench-web")).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(request, context=sim._tls(), timeout=30):
        pass
    while time.monotonic() - started < TIMEOUT:
        body = sim._api_get("/api/v1/namespaces/default/pods/bench-web", 5.0)
        conditions = (json.loads(body).get("status", {}).get("conditions") or []) if body else []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return time.monotonic() - started
        time.sleep(0.05)
    raise SystemExit(f"bench-node: the app pod was not Ready after {TIMEOUT:.0f} s; see {sim.root / 'logs'}")


def main() -> int:
    sim = Sim(BENCH_SIM)
    sim.down(out=io.StringIO())
    sim._binaries(sys.stderr)  # built (or found in the cache) before the clock starts, as sim-up does
    pause_image(), coredns_image()
    scratch_image(APP_IMAGE, {"/bin/busybox": Path("/bin/busybox")}, ["/bin/busybox"])
    result: dict = {}
    try:
        started = time.monotonic()
        watcher = threading.Thread(target=_watch_nodes_ready, args=(sim, started, result), daemon=True)
        watcher.start()
        sim.up(out=sys.stderr, nodes="real")
        watcher.join(timeout=TIMEOUT)
        rss = nodes_rss(sim)
        load([node.socket for node in sim.real_nodes()], [APP_IMAGE])
        pod_seconds = pod_ready_seconds(sim)
    finally:
        sim.down(out=sys.stderr)
    print(f"bench-node: ready_seconds={result['ready_seconds']:.1f} pod_ready_seconds={pod_seconds:.1f} "
          f"rss_mb={rss / 2**20:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
