"""`workshop requirements`: what each level asks of a laptop, measured, never guessed.

For levels 2 to 6, on a cluster (the sim by default): `lab-N`, then `solve-N`, then the CPU
and memory requests and limits of every pod of every namespace are read from the API
server (that is the manifests as applied: the app, Istio's control plane and add-ons,
Argo CD, ...), then `reset-N`, so each level is measured alone. What the sim cannot run is
added from its pinned manifest when one is here (metrics-server, Knative Serving's
controllers) and named when not (Kourier, Knative's revision pods). The kind cluster's own
components (control plane, CoreDNS, kindnet) are read from the pinned sources of kubeadm and
kind. The table is written to labs/00-setup/requirements.md, which level 0 includes.

    $ workshop requirements --sim 5 --mesh-sim 7           # measure and print the table
    $ workshop requirements --sim 5 --mesh-sim 7 --write   # ... and rewrite labs/00-setup/requirements.md

Level 5 is measured on a real-mesh sim (``--mesh-sim``: real nodes, where `make lab-5` installs
Istio and istiod's webhook injects the sidecars, as on kind); the other levels on a KWOK sim.

How a pod counts (what the scheduler reserves, Kubernetes' own rule): the larger of

- the sum over its app containers, plus its sidecars (init containers with
  ``restartPolicy: Always``, which run beside the app), and
- each ordinary init container's request plus the sidecars started before it (they run one
  at a time, before the app),

plus the pod's ``overhead``. Limits are summed the same way over the containers that set one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

from workshop import REPO_ROOT
from workshop.versions import all_versions

OUTPUT = REPO_ROOT / "labs" / "00-setup" / "requirements.md"
# The laptop figures every page and `make doctor` use, generated beside the table (workshop/laptop.py).
LAPTOP_DATA = REPO_ROOT / "labs" / "00-setup" / "laptop.json"
KIND_CONFIG = REPO_ROOT / "labs" / "00-setup" / "kind-cluster.yaml"
MEASURED_LEVELS = (2, 3, 4, 5, 6)
# Levels whose lab needs pods that really run (istiod's injection webhook): measured on real nodes.
MESH_LEVELS = (5,)
SIM_LABEL = ("sim clusters (a real API server): KWOK nodes for levels 2–4 and 6, two real nodes with "
             "real Istio for level 5")
LAB_TIMEOUT = 1200.0        # seconds for one `scripts/lab.sh ACTION N`
SETTLE_TIMEOUT = 180.0      # seconds for terminating pods to go
RESOURCES = ("cpu", "memory")
# Extra environment of reset-N, so that the level leaves the cluster as it found it.
RESET_ENV = {5: {"ISTIO": "uninstall"}}
# solve-4 needs the fork Argo CD deploys from; the measurement counts pods and fetches nothing
# (REPO_URL from the environment wins, for a measurement on a real cluster).
SOLVE_ENV = {4: {"REPO_URL": os.environ.get("REPO_URL") or "https://example.com/learner/microservices-workshop.git"}}
GiB = Decimal(1024 ** 3)
MiB = Decimal(1024 ** 2)


def quantity(value) -> Decimal:
    from kubernetes.utils import parse_quantity

    return Decimal(parse_quantity(str(value)))


@dataclass
class Figures:
    """CPU in cores and memory in bytes, for requests and for limits."""

    requests: dict[str, Decimal] = field(default_factory=lambda: {r: Decimal(0) for r in RESOURCES})
    limits: dict[str, Decimal] = field(default_factory=lambda: {r: Decimal(0) for r in RESOURCES})

    def add(self, other: "Figures", times: int = 1) -> None:
        for resource in RESOURCES:
            self.requests[resource] += other.requests[resource] * times
            self.limits[resource] += other.limits[resource] * times


def _amounts(container: dict, kind: str) -> dict[str, Decimal]:
    values = ((container.get("resources") or {}).get(kind)) or {}
    return {resource: quantity(values[resource]) if resource in values else Decimal(0) for resource in RESOURCES}


def pod_figures(spec: dict) -> Figures:
    """What the scheduler counts for one pod ``spec`` (camelCase keys, as the API serves them)."""
    figures = Figures()
    for kind in ("requests", "limits"):
        app = {r: sum((_amounts(c, kind)[r] for c in spec.get("containers") or []), Decimal(0)) for r in RESOURCES}
        sidecars = {r: Decimal(0) for r in RESOURCES}     # restartable init containers started so far
        init_peak = {r: Decimal(0) for r in RESOURCES}
        for container in spec.get("initContainers") or []:
            amounts = _amounts(container, kind)
            if container.get("restartPolicy") == "Always":   # a sidecar: keeps running beside what follows
                for r in RESOURCES:
                    sidecars[r] += amounts[r]
                    init_peak[r] = max(init_peak[r], sidecars[r])
            else:                                            # runs alone, beside the sidecars already up
                for r in RESOURCES:
                    init_peak[r] = max(init_peak[r], amounts[r] + sidecars[r])
        overhead = spec.get("overhead") or {}
        for r in RESOURCES:
            extra = quantity(overhead[r]) if r in overhead else Decimal(0)
            getattr(figures, kind)[r] = max(app[r] + sidecars[r], init_peak[r]) + extra
    return figures


# --- Reading a cluster -------------------------------------------------------------------

def live_pods(kubeconfig: Path) -> list[dict]:
    """Every pod the scheduler counts (not Succeeded nor Failed), of every namespace."""
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "pods", "--all-namespaces", "-o", "json"],
                          capture_output=True, text=True, timeout=60, env=_env())
    if done.returncode != 0:
        raise RuntimeError(f"kubectl get pods failed: {done.stderr.strip()}")
    return [pod for pod in yaml.safe_load(done.stdout)["items"]
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def settle(kubeconfig: Path, timeout: float = SETTLE_TIMEOUT) -> list[dict]:
    """The pods once none is terminating (a rollout's old pods still hold their requests)."""
    deadline = time.monotonic() + timeout
    while True:
        pods = live_pods(kubeconfig)
        terminating = [p["metadata"]["name"] for p in pods if p["metadata"].get("deletionTimestamp")]
        if not terminating:
            return pods
        if time.monotonic() > deadline:
            raise RuntimeError(f"pods still terminating after {timeout:.0f} s: {', '.join(terminating[:5])}")
        time.sleep(1)


def _env(kubeconfig: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{REPO_ROOT / '.bin'}:{REPO_ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    if kubeconfig:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def lab(action: str, level: int, kubeconfig: Path, log, proxy: dict[str, str] | None = None) -> None:
    """`scripts/lab.sh ACTION LEVEL`; ``proxy``: the release mirror's environment (measure_levels)."""
    extra = {"reset": RESET_ENV, "solve": SOLVE_ENV}.get(action, {}).get(level, {})
    env = {**_env(kubeconfig), **(proxy or {}), **extra}
    started = time.monotonic()
    done = subprocess.run([str(REPO_ROOT / "scripts" / "lab.sh"), action, str(level)], capture_output=True,
                          text=True, env=env, timeout=LAB_TIMEOUT, cwd=REPO_ROOT)
    log(f"requirements: {action}-{level} exit={done.returncode} seconds={time.monotonic() - started:.1f}")
    if done.returncode != 0:
        raise RuntimeError(f"scripts/lab.sh {action} {level} failed:\n{done.stderr[-2000:]}")


# --- What the sim does not run, from the pinned manifests --------------------------------

@dataclass
class Extra:
    """Workloads added from a manifest, or named as not measured."""

    label: str
    figures: Figures | None      # None: not measured (no manifest here)
    pods: int = 0
    why: str = ""


def manifest_figures(documents) -> tuple[Figures, int]:
    """Sum of pod_figures × replicas over the Deployments, StatefulSets and DaemonSets (one per node) of documents."""
    total, pods = Figures(), 0
    for item in documents:
        if not isinstance(item, dict) or item.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        replicas = (item.get("spec") or {}).get("replicas", 1)
        total.add(pod_figures(item["spec"]["template"]["spec"]), replicas)
        pods += replicas
    return total, pods


def metrics_server_extra(versions: dict[str, str]) -> Extra:
    from workshop.preload import go_module_dir

    label = "metrics-server (not run on the sim: from its pinned manifest)"
    module = go_module_dir("sigs.k8s.io/metrics-server", versions["METRICS_SERVER_VERSION"])
    if module is None:
        return Extra(label, None, why="its Go module could not be fetched")
    done = subprocess.run(["kubectl", "kustomize", str(module / "manifests" / "overlays" / "release")],
                          capture_output=True, text=True, timeout=120, env=_env())
    if done.returncode != 0:
        return Extra(label, None, why=f"kubectl kustomize failed: {done.stderr.strip()[:200]}")
    figures, pods = manifest_figures(yaml.safe_load_all(done.stdout))
    return Extra(label, figures, pods)


def knative_extras(versions: dict[str, str]) -> list[Extra]:
    from workshop.preload import go_module_dir

    label = "Knative Serving's controllers (not run on the sim: from the pinned source's config/core)"
    module = go_module_dir("knative.dev/serving", versions["KNATIVE_SERVING_MODULE"])
    extras = []
    if module is None:
        extras.append(Extra(label, None, why="its Go module could not be fetched"))
    else:
        documents = [doc for path in sorted((module / "config" / "core" / "deployments").glob("*.yaml"))
                     for doc in yaml.safe_load_all(path.read_text())]
        figures, pods = manifest_figures(documents)
        extras.append(Extra(label, figures, pods))
    extras.append(Extra("Kourier (gateway and controller)", None,
                        why="its release manifest is not reachable from the machine that measured"))
    extras.append(Extra("invoice's revision pods (user container + queue-proxy)", None,
                        why="no Knative controller on the sim creates them; they scale to zero when idle"))
    return extras


def extras_for(level: int, versions: dict[str, str]) -> list[Extra]:
    if level == 3:
        return [metrics_server_extra(versions)]
    if level == 6:
        return knative_extras(versions)
    return []


# --- kind's own components, from the pinned sources -------------------------------------

@dataclass
class Component:
    name: str
    count: int
    figures: Figures
    source: str


def _figures(cpu: str = "0", memory: str = "0", cpu_limit: str = "0", memory_limit: str = "0") -> Figures:
    figures = Figures()
    figures.requests = {"cpu": quantity(cpu), "memory": quantity(memory)}
    figures.limits = {"cpu": quantity(cpu_limit), "memory": quantity(memory_limit)}
    return figures


def _one(pattern: str, text: str, where: str, flags: int = re.MULTILINE | re.DOTALL) -> re.Match:
    match = re.search(pattern, text, flags)
    if not match:
        raise RuntimeError(f"{where}: the pattern {pattern!r} is not there any more: update workshop/requirements.py")
    return match


def kind_components(versions: dict[str, str]) -> list[Component]:
    """The requests of what every kind cluster runs before any level: kubeadm's static pods and
    CoreDNS, kind's kindnet (one per node). kube-proxy and kind's local-path-provisioner
    request nothing. Read from kubeadm's source at SIM_KUBERNETES_VERSION (the newest the Go
    module proxy serves) and kind's at KIND_VERSION."""
    from workshop.sim.gobuild import module_dir

    kubeadm = module_dir("k8s.io/kubernetes", versions["SIM_KUBERNETES_VERSION"]) / "cmd" / "kubeadm" / "app"
    kind = module_dir("sigs.k8s.io/kind", versions["KIND_VERSION"])
    nodes = len((yaml.safe_load(KIND_CONFIG.read_text()) or {}).get("nodes") or [{}])
    components = []

    where = "kubeadm phases/controlplane/manifests.go"
    text = (kubeadm / "phases" / "controlplane" / "manifests.go").read_text()
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        constant = {"kube-apiserver": "KubeAPIServer", "kube-controller-manager": "KubeControllerManager",
                    "kube-scheduler": "KubeScheduler"}[name]
        cpu = _one(rf"kubeadmconstants\.{constant}:\s*staticpodutil\.ComponentPod\(.*?ComponentResources\(\"([^\"]+)\"\)",
                   text, where).group(1)
        components.append(Component(name, 1, _figures(cpu), f"kubeadm {where}"))

    where = "kubeadm phases/etcd/local.go"
    text = (kubeadm / "phases" / "etcd" / "local.go").read_text()
    match = _one(r"Requests: v1\.ResourceList\{\s*v1\.ResourceCPU:\s*resource\.MustParse\(\"([^\"]+)\"\),"
                 r"\s*v1\.ResourceMemory:\s*resource\.MustParse\(\"([^\"]+)\"\)", text, where)
    components.append(Component("etcd", 1, _figures(match.group(1), match.group(2)), f"kubeadm {where}"))

    where = "kubeadm phases/addons/dns"
    replicas = int(_one(r"coreDNSReplicas\s*=\s*(\d+)", (kubeadm / "phases" / "addons" / "dns" / "dns.go").read_text(),
                        where).group(1))
    text = (kubeadm / "phases" / "addons" / "dns" / "manifests.go").read_text()
    match = _one(r"resources:\s*limits:\s*memory: (\S+)\s*requests:\s*cpu: (\S+)\s*memory: (\S+)", text, where)
    components.append(Component("coredns", replicas, _figures(match.group(2), match.group(3), memory_limit=match.group(1)),
                                f"{where} (replicas and manifest)"))

    where = "kind pkg/build/nodeimage/const_cni.go"
    text = (kind / "pkg" / "build" / "nodeimage" / "const_cni.go").read_text()
    match = _one(r"resources:\s*requests:\s*cpu: \"([^\"]+)\"\s*memory: \"([^\"]+)\"", text, where)
    components.append(Component("kindnet", nodes, _figures(match.group(1), match.group(2)),
                                f"{where} (a DaemonSet: one pod per node, {nodes} nodes in kind-cluster.yaml)"))
    return components


# --- Measuring and writing ---------------------------------------------------------------

@dataclass
class Level:
    number: int
    pods: int = 0
    measured: Figures = field(default_factory=Figures)
    extras: list[Extra] = field(default_factory=list)
    namespaces: dict[str, int] = field(default_factory=dict)

    def total(self) -> Figures:
        total = Figures()
        total.add(self.measured)
        for extra in self.extras:
            if extra.figures:
                total.add(extra.figures)
        return total


def simulated(kubeconfig: Path) -> bool:
    """KWOK's fake nodes (the sim): there, what the labs skip is added from its manifest."""
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes", "-l", "type=kwok", "-o", "name"],
                          capture_output=True, text=True, timeout=60, env=_env())
    return done.returncode == 0 and bool(done.stdout.strip())


def measure_level(level: int, kubeconfig: Path, versions: dict[str, str], log, proxy: dict[str, str]) -> Level:
    # Only the pods the level adds count: kube-system on kind (counted from the sources below)
    # and whatever else already runs (another test's namespace) are left out.
    before = {pod["metadata"]["uid"] for pod in settle(kubeconfig)}
    lab("deploy", level, kubeconfig, log, proxy)
    lab("solve", level, kubeconfig, log, proxy)
    result = Level(level, extras=extras_for(level, versions) if simulated(kubeconfig) else [])
    for pod in settle(kubeconfig):
        if pod["metadata"]["uid"] in before:
            continue
        result.pods += 1
        result.measured.add(pod_figures(pod["spec"]))
        namespace = pod["metadata"]["namespace"]
        result.namespaces[namespace] = result.namespaces.get(namespace, 0) + 1
    lab("reset", level, kubeconfig, log, proxy)
    if level != 2:
        # Level 5's reset puts level 2's app back as it was; remove it with level 2's own reset,
        # so that the next level is measured alone.
        lab("reset", 2, kubeconfig, log, proxy)
    settle(kubeconfig)
    return result


def cpu(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def memory(value: Decimal) -> str:
    return f"{value / GiB:.2f} GiB" if value >= GiB else f"{value / MiB:.0f} MiB"


def kind_own(components: list[Component]) -> Figures:
    base = Figures()
    for component in components:
        base.add(component.figures, component.count)
    return base


def laptop_data(levels: list[Level], components: list[Component]) -> dict:
    """What each level needs of the engine's machine: its requests plus kind's own, rounded up
    to whole CPUs and GiB (the table's last column), as data for the pages and `make doctor`."""
    base = kind_own(components)
    data = {"kind_own": {"cpu": cpu(base.requests["cpu"]), "memory_mib": int(base.requests["memory"] / MiB)},
            "levels": {}, "not_measured": {}}
    for level in levels:
        total = level.total()
        need_cpu = total.requests["cpu"] + base.requests["cpu"]
        need_memory = total.requests["memory"] + base.requests["memory"]
        data["levels"][str(level.number)] = {
            "cpus": math.ceil(need_cpu), "memory_gib": math.ceil(need_memory / GiB),
            "complete": not any(extra.figures is None for extra in level.extras)}
    data["not_measured"]["7"] = "it needs two clusters, and the table is measured on one"
    return data


def render(levels: list[Level], components: list[Component], sim_label: str) -> str:
    base = kind_own(components)
    lines = [
        "% GENERATED by `make requirements` (workshop/requirements.py): do not edit by hand.",
        "% tests/labs/test_requirements_table.py measures again and fails when this file differs.",
        "",
        "| Level | Pods | CPU requests | Memory requests | CPU limits | Memory limits | Laptop: requests + kind's own |",
        "|---|---|---|---|---|---|---|",
        "| 1 | no cluster | — | — | — | — | runs on your container engine only |",
    ]
    notes = []
    for level in levels:
        total = level.total()
        pods = str(level.pods + sum(extra.pods for extra in level.extras if extra.figures))
        need_cpu = total.requests["cpu"] + base.requests["cpu"]
        need_memory = total.requests["memory"] + base.requests["memory"]
        laptop = (f"{cpu(need_cpu)} CPU, {memory(need_memory)} → at least {math.ceil(need_cpu)} CPUs and "
                  f"{math.ceil(need_memory / GiB)} GiB for the cluster")
        mark = "*" if any(extra.figures is None for extra in level.extras) else ""
        lines.append(f"| {level.number}{mark} | {pods} | {cpu(total.requests['cpu'])} | {memory(total.requests['memory'])} "
                     f"| {cpu(total.limits['cpu'])} | {memory(total.limits['memory'])} | {laptop} |")
        for extra in level.extras:
            if extra.figures:
                notes.append(f"Level {level.number} includes {extra.label}: {extra.pods} pod{'s' if extra.pods != 1 else ''}, "
                             f"{cpu(extra.figures.requests['cpu'])} CPU, {memory(extra.figures.requests['memory'])}.")
            else:
                notes.append(f"\\* Level {level.number} does not include {extra.label}: not measured, {extra.why}.")
    lines.append("| 7 | two clusters | not measured | not measured | not measured | not measured | "
                 "not measured: it needs two clusters, and this table is measured on one |")
    lines += [
        "",
        f"Measured on {sim_label}: each level alone, after `make lab-N` and `make solve-N` (then `make reset-N`), "
        "summing the requests and limits of every pod of every namespace as the scheduler counts them.",
        "Levels you do not reset add up. Limits count only the containers that set one.",
        "",
        *notes,
        "",
        f"kind's own components, on every level: {cpu(base.requests['cpu'])} CPU and {memory(base.requests['memory'])} "
        "of requests — " + ", ".join(
            f"{c.name}{f' ×{c.count}' if c.count > 1 else ''} {cpu(c.figures.requests['cpu'])} CPU"
            + (f" {memory(c.figures.requests['memory'])}" if c.figures.requests['memory'] else "")
            for c in components) + "; kube-proxy and local-path-provisioner request nothing. "
        "Read from kubeadm's source (at the sim's Kubernetes version, the newest the Go module proxy serves) and "
        "kind's source (at the pinned kind version).",
        "",
        "Assumption: the laptop column is requests only, rounded up to whole CPUs and GiB. Requests are what "
        "the scheduler reserves, not what the processes use; the kind nodes' kubelet and container runtime, "
        "your container engine's VM and your browser come on top and are not measured here.",
        "",
    ]
    return "\n".join(lines)


def measure(kubeconfig: Path, levels=MEASURED_LEVELS, sim_label: str = "the sim cluster", log=print,
            mesh_kubeconfig: Path | None = None) -> str:
    return render(*measure_levels(kubeconfig, levels, log, mesh_kubeconfig), sim_label)


def cluster_for(level: int, kubeconfig: Path, mesh_kubeconfig: Path | None) -> Path:
    return mesh_kubeconfig if level in MESH_LEVELS and mesh_kubeconfig is not None else kubeconfig


def measure_levels(kubeconfig: Path, levels=MEASURED_LEVELS, log=print,
                   mesh_kubeconfig: Path | None = None) -> tuple[list[Level], list[Component]]:
    import tempfile

    from workshop.sim.mirror import Mirror

    versions = all_versions()
    # A lab's release URLs (Argo CD's install.yaml, metrics-server's manifest) served from disk,
    # as the page runner does: the sims reach no other host.
    with tempfile.TemporaryDirectory(prefix="requirements-mirror-") as folder, Mirror(Path(folder)) as mirror:
        return _measure_levels(kubeconfig, levels, log, mesh_kubeconfig, versions, mirror.env())


def _measure_levels(kubeconfig: Path, levels, log, mesh_kubeconfig: Path | None, versions: dict[str, str],
                    proxy: dict[str, str]) -> tuple[list[Level], list[Component]]:
    # Start from clusters without any level: what an earlier run left (Istio stays installed
    # after a plain reset-5) would count as "already there" and vanish from its level's row.
    # Level 5's reset puts level 2's app back, so level 2 goes last.
    for cluster in dict.fromkeys(cluster_for(level, kubeconfig, mesh_kubeconfig) for level in levels):
        on_it = [level for level in levels if cluster_for(level, kubeconfig, mesh_kubeconfig) == cluster]
        for level in [*sorted(set(on_it) - {2}, reverse=True), 2]:
            lab("reset", level, cluster, log, proxy)
    results = []
    for level in levels:
        results.append(measure_level(level, cluster_for(level, kubeconfig, mesh_kubeconfig), versions, log, proxy))
        log(f"requirements: level {level} pods={results[-1].pods} namespaces={results[-1].namespaces}")
    return results, kind_components(versions)


def rows_of(table: str, levels) -> list[str]:
    """The lines of a rendered table that belong to ``levels``: their rows and their notes (a test
    measuring some levels compares only those)."""
    wanted = {str(level) for level in levels}
    found = []
    for line in table.splitlines():
        row = re.match(r"\| (\d)\*? \|", line)
        note = re.match(r"(?:\\\* )?Level (\d) (?:includes|does not include) ", line)
        if (row or note) and (row or note).group(1) in wanted:
            found.append(line)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workshop requirements", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sim", type=int, help="measure on sim cluster N (it must be up: make sim-up SIM=N)")
    where.add_argument("--kubeconfig", type=Path, help="measure on this cluster (a local one: it is changed)")
    parser.add_argument("--mesh-sim", type=int,
                        help="with --sim: measure level 5 on this real-node sim (make sim-up NODES=real SIM=M)")
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT.relative_to(REPO_ROOT)}")
    parser.add_argument("--levels", default=",".join(map(str, MEASURED_LEVELS)), help="comma-separated, default %(default)s")
    args = parser.parse_args(argv)

    from workshop.kubecontext import guard

    levels = [int(n) for n in args.levels.split(",") if n]
    mesh_kubeconfig = None
    if args.sim is not None:
        from workshop.sim.cluster import Sim

        kubeconfig, label = Sim(args.sim).kubeconfig, SIM_LABEL
        if any(level in MESH_LEVELS for level in levels):
            if args.mesh_sim is None:
                print("requirements: level 5 installs Istio, whose injection webhook needs real nodes: give a "
                      "real-node sim with --mesh-sim M (make sim-up NODES=real SIM=M), or leave 5 out of --levels",
                      file=sys.stderr)
                return 2
            mesh_kubeconfig = Sim(args.mesh_sim).kubeconfig
            # What a learner has before `make lab-5`: Istio's release folder, the images in the nodes.
            from workshop.sim import istio_release, mesh

            mesh.prepare_for_lab(Sim(args.mesh_sim))
            os.environ.update(istio_release.learner_env())
    else:
        kubeconfig, label = args.kubeconfig, "a cluster"
    for cluster in dict.fromkeys(path for path in (kubeconfig, mesh_kubeconfig) if path is not None):
        os.environ["KUBECONFIG"] = str(cluster)
        if guard() != 0:       # lab-N changes the cluster: never a non-local one
            return 3
    try:
        results, components = measure_levels(kubeconfig, levels, log=lambda line: print(line, file=sys.stderr, flush=True),
                                             mesh_kubeconfig=mesh_kubeconfig)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"requirements: {error}", file=sys.stderr)
        return 1
    table = render(results, components, label)
    data = laptop_data(results, components)
    if args.write:
        from workshop import laptop

        OUTPUT.write_text(table)
        written = [OUTPUT, *laptop.write(data)]
        print(f"requirements: wrote {', '.join(str(path.relative_to(REPO_ROOT)) for path in written)}", file=sys.stderr)
    else:
        print(table)
        print(json.dumps(data, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
