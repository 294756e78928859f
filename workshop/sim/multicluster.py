"""Level 7's two clusters on this machine: two real-node sims with a real mesh each, on one network.

On a laptop, `make cluster-east cluster-west` makes two kind clusters whose nodes share Docker's
``kind`` network: each node reaches the other cluster's nodes, and nothing else changes. Here
each real-node sim's nodes live in network namespaces behind veths of their own slot
(workshop/sim/nodenet.py), routed by the host between the project's veths only. **Joining** two
sims adds, in every node namespace of each, a route to the other sim's node and pod ranges
through the node's own veth: the smallest thing that gives them kind's shared network. No default
route, nothing towards any other address; the routes go with the namespaces when a sim stops.

What else `make cluster-east cluster-west` gives a learner, given the same way here:

- the node labels of labs/07-multicluster/kind-<name>.yaml (the locality Istio's failover reads);
- contexts ``kind-east`` and ``kind-west`` in one kubeconfig (``.sim/multicluster.kubeconfig``);
- the images (`kind load`: istiod, the proxy, account and loadgen) and Istio's release folder
  (workshop/sim/istio_release.py).

Each sim's first node serves the API server on ``<its InternalIP>:6443`` as kind's control-plane
node does (workshop/sim/cluster.py), so the page's remote secrets work unchanged::

    $ python -m workshop.sim.multicluster up       # sims 10 (east) and 11 (west), joined
    $ KUBECONFIG=.sim/multicluster.kubeconfig make lab-7
    $ python -m workshop.sim.multicluster down
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from workshop import REPO_ROOT
from workshop.sim import hostports, nodenet

# Never 1 (it owns the learner's host ports), and apart from the other tests' sims.
SIMS = {"east": 10, "west": 11}
KIND_CONFIGS = REPO_ROOT / "labs" / "07-multicluster"
KUBECONFIG = REPO_ROOT / ".sim" / "multicluster.kubeconfig"


class MulticlusterError(Exception):
    """The pair could not be set up; the message says what to do."""


def sims(indices: dict[str, int] | None = None) -> dict:
    from workshop.sim.cluster import Sim

    return {name: Sim(index) for name, index in (indices or SIMS).items()}


def join(pair: dict) -> None:
    """Routes, in each node namespace of each sim, to every other sim's node and pod ranges (idempotent)."""
    slots = {name: sim.slot() for name, sim in pair.items()}
    for name, sim in pair.items():
        if slots[name] is None or sim.mode() != "real":
            raise MulticlusterError(f"{sim.context} runs no real nodes: start it with "
                                    f"`make sim-up NODES=real SIM={sim.index}`.")
    for name, sim in pair.items():
        for node in sim.real_nodes():
            for other, slot in slots.items():
                if other == name:
                    continue
                for cidr in (nodenet.sim_link_cidr(slot), nodenet.sim_pod_cidr(slot)):
                    nodenet.in_netns(node.net.netns, "ip", "route", "replace", cidr, "via", node.net.host_ip,
                                     "dev", "eth0")


def kind_node_labels(name: str) -> dict[str, str]:
    """The labels labs/07-multicluster/kind-<name>.yaml gives its node."""
    config = yaml.safe_load((KIND_CONFIGS / f"kind-{name}.yaml").read_text())
    labels: dict[str, str] = {}
    for node in config.get("nodes") or []:
        labels.update(node.get("labels") or {})
    return labels


def label_nodes(name: str, sim) -> None:
    """kind puts the config's labels on its node at creation; the sim's nodes get them once up."""
    import subprocess

    from workshop.sim.build import build_all

    kubectl = build_all(log=lambda message: None)["kubectl"]  # cached: also links .bin/ for lab.sh
    labels = [f"{key}={value}" for key, value in sorted(kind_node_labels(name).items())]
    done = subprocess.run([str(kubectl), f"--kubeconfig={sim.kubeconfig}", "label", "nodes",
                           "--all", "--overwrite", *labels], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise MulticlusterError(f"labelling the nodes of {sim.context} failed: {done.stderr.strip()}")


def write_kubeconfig(pair: dict, path: Path = KUBECONFIG) -> Path:
    """One kubeconfig with contexts kind-<name> (as kind names them), the first one current."""
    merged: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name, sim in pair.items():
        config = yaml.safe_load(sim.kubeconfig.read_text())
        context = f"kind-{name}"
        merged["clusters"].append({"name": context, "cluster": config["clusters"][0]["cluster"]})
        merged["users"].append({"name": context, "user": config["users"][0]["user"]})
        merged["contexts"].append({"name": context, "context": {"cluster": context, "user": context}})
    merged["current-context"] = merged["contexts"][0]["name"]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(yaml.safe_dump(merged, sort_keys=False))
    partial.chmod(0o600)  # it holds private keys
    partial.replace(path)
    return path


def connect(pair: dict) -> Path:
    """The pair as `make cluster-east cluster-west` leaves it, for two real-node sims that are up."""
    join(pair)
    for name, sim in pair.items():
        label_nodes(name, sim)
    return write_kubeconfig(pair)


def up(pair: dict | None = None, log=print) -> dict:
    """Both sims with real nodes (started side by side), Istio's images and release, joined.

    Returns the seconds each step took (measured here).
    """
    from workshop.sim import istio_release, mesh

    pair = pair or sims()
    timings: dict[str, float] = {}
    started = time.monotonic()
    # kind's clusters east and west map no host ports: the pair leaves 127.0.0.1:9080/9443 to others.
    before = os.environ.get(hostports.LEAVE_PORTS_ENV)
    os.environ[hostports.LEAVE_PORTS_ENV] = "1"
    try:
        with ThreadPoolExecutor(max_workers=len(pair)) as pool:
            for future in [pool.submit(sim.up, _Quiet(), "real") for sim in pair.values()]:
                future.result()
    finally:
        if before is None:
            os.environ.pop(hostports.LEAVE_PORTS_ENV)
        else:
            os.environ[hostports.LEAVE_PORTS_ENV] = before
    timings["sims_up"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    istio_release.make_release_dir(log=log)
    images = [*mesh.build_images(log=log), *app_images()]
    with ThreadPoolExecutor(max_workers=len(pair)) as pool:
        for future in [pool.submit(sim.load, images, _Quiet()) for sim in pair.values()]:
            future.result()
    timings["images"] = round(time.monotonic() - started, 1)
    connect(pair)
    return timings


APP_SERVICES = ("account", "loadgen")  # what level 7's manifests run


def app_images() -> list[str]:
    """Level 7's app images, built as `make images` builds them (scripts/containers/build.sh, layers cached)."""
    import subprocess

    from workshop.sim.mesh import MeshError

    done = subprocess.run([str(REPO_ROOT / "scripts" / "containers" / "build.sh"), *APP_SERVICES],
                          capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise MeshError(f"scripts/containers/build.sh failed: {done.stderr.strip()[-1500:]}")
    return [f"localhost/workshop/{service}:dev" for service in APP_SERVICES]


def down(pair: dict | None = None) -> None:
    for sim in (pair or sims()).values():
        sim.down(out=_Quiet())
    KUBECONFIG.unlink(missing_ok=True)


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workshop.sim.multicluster",
                                     description="Level 7's kind-east and kind-west: two real-mesh sims on one network.")
    parser.add_argument("action", choices=["up", "connect", "down"],
                        help="up: start both sims, load the images, join them; connect: join two that are up; "
                             "down: stop both")
    args = parser.parse_args(argv)
    from workshop.sim.cluster import SimError
    from workshop.sim.gobuild import BuildError
    from workshop.sim.images import ImageError
    from workshop.sim.mesh import MeshError

    try:
        if args.action == "down":
            down()
            return 0
        if args.action == "up":
            timings = up()
            print(f"sim multicluster: up ({timings})")
        else:
            connect(sims())
    except (BuildError, MeshError, SimError, ImageError, MulticlusterError, nodenet.NetworkError) as error:
        print(f"sim multicluster {args.action}: {error}", file=sys.stderr)
        return 1
    print(f"sim multicluster: contexts kind-east and kind-west in {KUBECONFIG}: export KUBECONFIG={KUBECONFIG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
