"""Pages on two clusters (level 7: east and west), run on two sim clusters as the learner types them.

The page names its clusters `--context kind-east` and `--context kind-west`, the contexts kind
writes. For the run, one kubeconfig holds both under those very names, each pointing at one
cluster (its cluster and user entries copied from that cluster's kubeconfig), with kind-east
current: so the commands run unchanged, and the context guard accepts them (kind-* on a
loopback server).

    >>> needs_two_clusters(lab_pages([7])[0]), needs_two_clusters(lab_pages([2])[0])  # doctest: +SKIP
    (True, False)
    >>> write(Path(".sim/3/kubeconfig"), Path(".sim/4/kubeconfig"), tmp / "kubeconfig")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import yaml

from workshop.doctest.pages import Page

CONTEXTS = ("kind-east", "kind-west")


def needs_two_clusters(page: Page) -> bool:
    """True when a command of the page (run or marked) names the second cluster's context."""
    return any(f"--context {CONTEXTS[1]}" in command.text for block in page.blocks for command in block.commands)


def _current(config: dict, source: Path) -> tuple[dict, dict]:
    """The cluster and user entries of ``config``'s current context."""
    by_name = {key: {item["name"]: item.get(key[:-1]) or {} for item in config.get(key) or []}
               for key in ("contexts", "clusters", "users")}
    name = config.get("current-context")
    context = by_name["contexts"].get(name)
    if context is None:
        raise ValueError(f"{source} has no current context: point at a cluster's own kubeconfig.")
    try:
        return by_name["clusters"][context["cluster"]], by_name["users"][context["user"]]
    except KeyError as missing:
        raise ValueError(f"{source}: context {name!r} names {missing} that the file does not hold.") from None


def write(east: Path, west: Path, path: Path) -> Path:
    """One kubeconfig at ``path``: context kind-east for ``east``'s cluster, kind-west for ``west``'s."""
    config: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [],
                    "current-context": CONTEXTS[0]}
    for name, source in zip(CONTEXTS, (east, west)):
        cluster, user = _current(yaml.safe_load(source.read_text()) or {}, source)
        config["clusters"].append({"name": name, "cluster": cluster})
        config["users"].append({"name": name, "user": user})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    if config["clusters"][0]["cluster"].get("server") == config["clusters"][1]["cluster"].get("server"):
        raise ValueError(f"{east} and {west} are the same cluster: a page on two clusters needs two.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)  # it holds private keys
    return path
