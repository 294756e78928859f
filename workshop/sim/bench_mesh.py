"""`make bench-mesh`: level 5's real mesh on this machine, timed and measured in one run.

Starts real-node sim ``BENCH_SIM`` and prepares it as a learner's kind (workshop/sim/mesh.py
prepare_for_lab: builds and image loads are not timed), then prints one line last::

    bench-mesh: install_seconds=… app_ready_seconds=… p50_ms=… p99_ms=… sidecar_overhead=…

- install_seconds: from the start of `make lab-5` until istiod and the ingress gateway are Available;
- app_ready_seconds: from the start of `make lab-5` until it returns (every pod Ready, sidecars included);
- p50_ms, p99_ms: GET /api/customers/1/summary through the ingress gateway and the four sidecars
  of gateway -> customer -> order -> account (the page's step 2 ingress applied);
- sidecar_overhead: p50 of that chain over p50 of the same chain without sidecars (the same
  manifests in a namespace not labelled for injection, called at its gateway Service).
Both chains are called the same way (the API server's service proxy), alternately, REQUESTS times.
The sim is stopped at the end.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import threading
import time

import yaml

from workshop import REPO_ROOT
from workshop.sim import istio_release, mesh
from workshop.sim.cluster import Sim

BENCH_SIM = 7  # never 1 (host ports 9080/9443); 6 is the tests' mesh
REQUESTS = 200
PATH = "/api/customers/1/summary"
PLAIN = "bench-plain"  # the chain without sidecars
LEVEL2 = REPO_ROOT / "labs" / "02-orchestrate" / "manifests"
INGRESS = [REPO_ROOT / "labs" / "05-istio" / "manifests" / name
           for name in ("gateway-workshop.yaml", "virtual-service-ingress.yaml")]


def run(env: dict, *command: str, input: str | None = None, timeout: float = 900) -> str:
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, input=input, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _watch_install(env: dict, started: float, result: dict) -> None:
    while time.monotonic() - started < 600 and "install_seconds" not in result:
        done = subprocess.run(["kubectl", "-n", "istio-system", "get", "deployments", "istiod", "istio-ingressgateway",
                               "-o", "jsonpath={range .items[*]}{.status.availableReplicas}{' '}{end}"],
                              env=env, capture_output=True, text=True, timeout=30)
        counts = done.stdout.split()
        if done.returncode == 0 and len(counts) == 2 and all(count not in ("", "0") for count in counts):
            result["install_seconds"] = time.monotonic() - started
            return
        time.sleep(0.5)


def plain_chain() -> str:
    """Level 2's app (gateway, customer, order, account, and the databases they need) in namespace
    PLAIN: no injection label, no sidecar."""
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PLAIN}}]
    for path in sorted(LEVEL2.glob("*.yaml")):
        for item in yaml.safe_load_all(path.read_text()):
            if item and item["kind"] != "Namespace":
                item["metadata"]["namespace"] = PLAIN
                objects.append(item)
    return yaml.safe_dump_all(objects)


def timed_get(cluster, path: str) -> float:
    started = time.perf_counter()
    status, _ = cluster.send(path, accept="*/*")
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return elapsed * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    from workshop.grading.kube import Cluster

    sim = Sim(BENCH_SIM)
    sim.down(out=io.StringIO())
    result: dict = {}
    try:
        sim.up(out=sys.stderr, nodes="real")
        mesh.prepare_for_lab(sim, log=lambda message: print(message, file=sys.stderr))
        env = istio_release.learner_env()
        env.update(KUBECONFIG=str(sim.kubeconfig), NO_COLOR="1",
                   PATH=os.pathsep.join([env["PATH"], str(REPO_ROOT / ".bin"), str(REPO_ROOT / ".venv" / "bin")]))
        env.pop("MAKEFLAGS", None)
        started = time.monotonic()
        watcher = threading.Thread(target=_watch_install, args=(env, started, result), daemon=True)
        watcher.start()
        run(env, "make", "-s", "lab-5")
        result["app_ready_seconds"] = time.monotonic() - started
        watcher.join(timeout=5)
        run(env, "kubectl", "apply", *[arg for path in INGRESS for arg in ("-f", str(path))])
        run(env, "kubectl", "apply", "-f", "-", input=plain_chain())
        for name in ("gateway", "customer", "order", "account"):
            run(env, "kubectl", "-n", PLAIN, "rollout", "status", f"deployment/{name}", "--timeout=300s")
        cluster = Cluster.connect(kubeconfig=str(sim.kubeconfig))
        meshed = f"/api/v1/namespaces/istio-system/services/istio-ingressgateway:http2/proxy{PATH}"
        plain = f"/api/v1/namespaces/{PLAIN}/services/gateway:http/proxy{PATH}"
        deadline = time.monotonic() + 120  # the ingress route reaches the gateway's Envoy in seconds
        while True:
            try:
                timed_get(cluster, meshed), timed_get(cluster, plain)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        with_sidecars, without = [], []
        for _ in range(REQUESTS):
            with_sidecars.append(timed_get(cluster, meshed))
            without.append(timed_get(cluster, plain))
    finally:
        sim.down(out=sys.stderr)
    overhead = statistics.median(with_sidecars) / statistics.median(without)
    print(f"bench-mesh: plain chain p50_ms={statistics.median(without):.1f} p99_ms={percentile(without, 0.99):.1f}",
          file=sys.stderr)
    print(f"bench-mesh: install_seconds={result.get('install_seconds', float('nan')):.1f} "
          f"app_ready_seconds={result['app_ready_seconds']:.1f} p50_ms={statistics.median(with_sidecars):.1f} "
          f"p99_ms={percentile(with_sidecars, 0.99):.1f} sidecar_overhead={overhead:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
