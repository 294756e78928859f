"""What the sim copies from the learner's kind cluster (labs/00-setup/kind-cluster.yaml): the workers'
names and labels. A nodeSelector of the labs (the databases' ``workshop/storage: local``) then picks
the same node on the sim as on kind, KWOK's fake nodes and the real ones alike."""
from __future__ import annotations

from functools import cache

import yaml

from workshop import REPO_ROOT

KIND_CONFIG = REPO_ROOT / "labs" / "00-setup" / "kind-cluster.yaml"


@cache
def worker_labels() -> dict[str, dict[str, str]]:
    """Each worker's name, as kind names it (workshop-worker, workshop-worker2, ...), and the
    labels its ``labels:`` gives it."""
    config = yaml.safe_load(KIND_CONFIG.read_text())
    workers = [node for node in config["nodes"] if node["role"] == "worker"]
    return {f"{config['name']}-worker{number if number > 1 else ''}": dict(node.get("labels") or {})
            for number, node in enumerate(workers, start=1)}
