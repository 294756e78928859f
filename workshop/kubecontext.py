"""Refuse to touch a cluster that is not a local one.

Every make target that changes a cluster runs ``workshop guard`` first: it prints the
context it is about to touch and exits 3 unless that context is a local kind cluster
or the workshop's sim cluster (or ``ALLOW_ANY_CONTEXT=1`` is set).
"""

import os
import sys
from dataclasses import dataclass
from urllib.parse import urlparse

import yaml

LOCAL_CONTEXT_PREFIXES = ("kind-", "workshop-sim")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


@dataclass
class ContextInfo:
    name: str
    cluster: str
    server: str

    @property
    def server_is_loopback(self) -> bool:
        host = urlparse(self.server).hostname or ""
        return host in LOOPBACK_HOSTS or host.startswith("127.")

    @property
    def is_local(self) -> bool:
        return self.name.startswith(LOCAL_CONTEXT_PREFIXES) and self.server_is_loopback


class ContextError(Exception):
    """The kubeconfig or the context cannot be read; the message says what to do."""


def kubeconfig_paths() -> list[str]:
    value = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    return [path for path in value.split(os.pathsep) if path]


def current_context(context: str | None = None) -> ContextInfo:
    """Resolve ``context`` (or the current one) from the kubeconfig files in KUBECONFIG."""
    merged = {"contexts": [], "clusters": [], "current-context": None}
    for path in kubeconfig_paths():
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            config = yaml.safe_load(handle) or {}
        merged["contexts"] += config.get("contexts") or []
        merged["clusters"] += config.get("clusters") or []
        merged["current-context"] = merged["current-context"] or config.get("current-context")
    name = context or merged["current-context"]
    if not name:
        raise ContextError("No kube context is set: run `make cluster` to create the workshop's kind cluster.")
    contexts = {item["name"]: item.get("context") or {} for item in merged["contexts"]}
    if name not in contexts:
        raise ContextError(f"Kube context {name!r} is not in your kubeconfig: run `kubectl config get-contexts`.")
    cluster = contexts[name].get("cluster", "")
    clusters = {item["name"]: item.get("cluster") or {} for item in merged["clusters"]}
    return ContextInfo(name=name, cluster=cluster, server=clusters.get(cluster, {}).get("server", ""))


def guard(context: str | None = None, allow_any: bool | None = None, out=sys.stdout) -> int:
    """Print the context about to be touched; return 0 if it may be changed, 3 if not."""
    if allow_any is None:
        allow_any = os.environ.get("ALLOW_ANY_CONTEXT") == "1"
    try:
        info = current_context(context)
    except ContextError as error:
        print(f"✗ {error}", file=out)
        return 3
    print(f"→ kube context: {info.name} (cluster {info.cluster or '?'}, server {info.server or '?'})", file=out)
    if info.is_local:
        return 0
    if allow_any:
        print("  not a local cluster, but ALLOW_ANY_CONTEXT=1 is set: going ahead.", file=out)
        return 0
    print(
        "✗ This is not a local kind cluster or the workshop's sim cluster, so nothing was changed.\n"
        "  Switch with `kubectl config use-context kind-workshop`, or set ALLOW_ANY_CONTEXT=1 "
        "if you really mean this cluster.",
        file=out,
    )
    return 3
