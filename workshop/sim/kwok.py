"""KWOK: the fake kubelets of the sim cluster's nodes.

KWOK watches the nodes we create with the ``kwok.x-k8s.io/node: fake`` annotation and
plays *stages* on them and on the Pods scheduled to them: a node becomes Ready and keeps
renewing its Lease; a Pod becomes Running and Ready (sidecar init containers, those with
``restartPolicy: Always``, are reported running too), and is removed when deleted.

The stages are read from the pinned kwok module (``kustomize/stage/fast``, the set kwok's
own docs recommend for fast tests) and written into the state folder at every start.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import yaml

from workshop import REPO_ROOT
from workshop.sim.gobuild import module_dir
from workshop.sim.kindconfig import worker_labels
from workshop.versions import all_versions

NODE_TEMPLATE = REPO_ROOT / "sim" / "kwok-node.yaml"
NODE_ANNOTATION_SELECTOR = "kwok.x-k8s.io/node=fake"
STAGE_SET = "kustomize/stage/fast"
# Pod IPs KWOK writes into Pod status; only text, no packet is ever routed there.
POD_CIDR = "10.244.0.0/16"


def _kustomize_files(folder: Path) -> list[Path]:
    """The YAML files a kustomization lists, following nested kustomizations (resources only)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    files: list[Path] = []
    for resource in kustomization.get("resources", []):
        path = (folder / resource).resolve()
        files += _kustomize_files(path) if path.is_dir() else [path]
    return files


def stage_documents() -> list[str]:
    """Every Stage manifest of the pinned kwok module's fast set, as YAML text."""
    root = module_dir("sigs.k8s.io/kwok", all_versions()["KWOK_VERSION"])
    return [path.read_text() for path in _kustomize_files(root / STAGE_SET)]


def write_stages(path: Path) -> Path:
    """One multi-document file for ``kwok --config``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n---\n".join(document.strip() for document in stage_documents()) + "\n")
    return path


def node_names(count: int) -> list[str]:
    """Named as kind names the workers of the cluster `workshop` (workshop-worker, workshop-worker2,
    ...), so a page's `kubectl drain workshop-worker` means the same node on the sim."""
    return [f"workshop-worker{number if number > 1 else ''}" for number in range(1, count + 1)]


def node_address(sim_index: int) -> str:
    """The InternalIP the fake nodes of sim ``sim_index`` report, as kind's nodes report theirs (level 7
    writes it into meshNetworks and the remote secrets). Text only, KWOK's nodes run nothing: it
    lies in 10.247.0.0/24, which no real-node slot uses and hostguard.py makes unreachable, so a
    packet sent there by mistake fails on this host and never leaves it."""
    return f"10.247.0.{10 + sim_index}"


def nodes_manifest(count: int) -> str:
    """``count`` Node objects from sim/kwok-node.yaml, as one multi-document YAML."""
    template = Template(NODE_TEMPLATE.read_text())
    nodes = []
    for name in node_names(count):
        node = yaml.safe_load(template.substitute(name=name))
        node["metadata"]["labels"].update(worker_labels().get(name, {}))  # as kind-cluster.yaml labels it
        nodes.append(yaml.safe_dump(node, sort_keys=False))
    return "\n---\n".join(nodes)


NODE_LEASE_SECONDS = 40


def command(kwok: Path, kubeconfig: Path, stages: Path, sim_index: int = 1) -> list[str]:
    return [
        str(kwok),
        # Node status is not written by a create: KWOK's node-initialize stage fills it in.
        f"--node-ip={node_address(sim_index)}",
        f"--kubeconfig={kubeconfig}",
        f"--config={stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION_SELECTOR}",
        f"--cidr={POD_CIDR}",
        # Without leases the node lifecycle controller marks the fake nodes NotReady about
        # once a minute, and their pods lose Ready for good: kwok renews a lease per node.
        f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
    ]
