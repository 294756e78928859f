"""What is in a cluster, to prove that a page's cleanup left it as the page found it.

    >>> before = take(env)            # doctest: +SKIP
    >>> ... run the page ...
    >>> difference(before, env)       # doctest: +SKIP   None, or what was left behind

A snapshot is the set of (apiVersion, kind, namespace, name) of every object of every
listable resource type, read with kubectl like a learner would. Left out: what the cluster
writes by itself and changes all the time (events, leases, endpoints, nodes, metrics),
objects that have an owner (a Deployment's ReplicaSets and Pods: the owner is compared, and
a rescheduled pod gets a new name without anything having changed), and objects already
being deleted when the page starts (a previous test's namespace on its way out).
Deletion is asynchronous (a namespace takes a while to go), so the comparison is retried
until it holds or a deadline passes.

A page on two clusters (level 7) runs with a kubeconfig of two contexts: when every context
of the KUBECONFIG is a local cluster (what the context guard accepts), each is snapshotted, so
what a page leaves in the other cluster is caught too; otherwise only the current context.
"""

from __future__ import annotations

import json
import subprocess
import time

VOLATILE = {
    "events", "events.events.k8s.io", "leases.coordination.k8s.io", "endpoints",
    "endpointslices.discovery.k8s.io", "nodes", "componentstatuses",
}
VOLATILE_GROUP = ".metrics.k8s.io"


def made_by_the_control_plane(kind: str, namespace: str, name: str) -> bool:
    """Objects controllers create by themselves (in every namespace, or for their own identity):
    on a cluster that has just started they appear while a page runs, through no fault of its own."""
    return ((kind, name) in {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}
            or (kind == "ServiceAccount" and namespace == "kube-system"))
COLUMNS = ("custom-columns=API:.apiVersion,KIND:.kind,NS:.metadata.namespace,NAME:.metadata.name,"
           "DELETING:.metadata.deletionTimestamp,OWNER:.metadata.ownerReferences[0].kind")

Key = tuple[str, str, str, str, str]  # context ("" for the current one), apiVersion, kind, namespace, name


class SnapshotError(Exception):
    """kubectl could not list the cluster; the message says why."""


def _kubectl(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=120)
    # A partial answer (an aggregated API that is down) still lists the rest on stdout.
    if result.returncode != 0 and not result.stdout.strip():
        raise SnapshotError(f"`kubectl {' '.join(args[:2])}` failed: {result.stderr.strip()[:400]}")
    return result.stdout


def contexts(env: dict[str, str]) -> list[str]:
    """Every context of the kubeconfig when it holds several and all are local clusters; else
    [""], the current context (a laptop's kubeconfig may name clusters a page never touches)."""
    from workshop.kubecontext import ContextInfo

    config = json.loads(_kubectl(["config", "view", "-o", "json"], env) or "{}")
    servers = {item["name"]: (item.get("cluster") or {}).get("server", "") for item in config.get("clusters") or []}
    found = [ContextInfo(item["name"], (item.get("context") or {}).get("cluster", ""),
                         servers.get((item.get("context") or {}).get("cluster", ""), ""))
             for item in config.get("contexts") or []]
    if len(found) > 1 and all(info.is_local for info in found):
        return [info.name for info in found]
    return [""]


def _in(context: str) -> list[str]:
    return ["--context", context] if context else []


def take(env: dict[str, str], include_deleting: bool = False) -> set[Key]:
    objects: set[Key] = set()
    for context in contexts(env):
        objects |= _take_one(env, context, include_deleting)
    return objects


def _take_one(env: dict[str, str], context: str, include_deleting: bool) -> set[Key]:
    resources = [name for name in _kubectl([*_in(context), "api-resources", "--verbs=list", "-o", "name"], env).split()
                 if name not in VOLATILE and not name.endswith(VOLATILE_GROUP)]
    listing = _kubectl([*_in(context), "get", ",".join(resources), "--all-namespaces", "--ignore-not-found",
                        "--no-headers", "-o", COLUMNS], env)
    objects: set[Key] = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) != 6:
            continue
        api, kind, namespace, name, deleting, owner = fields
        if owner != "<none>" or (deleting != "<none>" and not include_deleting):
            continue
        if made_by_the_control_plane(kind, namespace, name):
            continue
        objects.add((context, api, kind, namespace, name))
    return objects


def describe(objects: set[Key], limit: int = 15) -> str:
    lines = [(f"[{context}] " if context else "") + f"{kind} {name}" + (f" -n {ns}" if ns != "<none>" else "")
             + f" ({api})" for context, api, kind, ns, name in sorted(objects, key=lambda key: (key[0], key[3], key[2], key[4]))]
    more = [f"... and {len(lines) - limit} more"] if len(lines) > limit else []
    return "; ".join(lines[:limit] + more)


def difference(before: set[Key], env: dict[str, str], timeout: float = 120.0) -> str | None:
    """None once the cluster holds exactly ``before`` again; else what differs at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        # Objects still being deleted count as present: the cleanup is not done until they are gone.
        after = take(env, include_deleting=True)
        added, removed = after - before, before - after
        if not added and not removed:
            return None
        if time.monotonic() > deadline:
            parts = []
            if added:
                parts.append(f"left behind: {describe(added)}")
            if removed:
                parts.append(f"removed although the page did not create them: {describe(removed)}")
            return "the cleanup did not leave the cluster as found: " + "; ".join(parts)
        time.sleep(2)


def remove_namespaces_left(before: set[Key], env: dict[str, str]) -> list[str]:
    """Delete the namespaces that are there now and were not before (not waiting): after a
    failed page, so that the next page, or test, starts from the cluster as it was."""
    added: dict[str, list[str]] = {}
    for context, api, kind, _, name in sorted(take(env, include_deleting=True) - before):
        if (api, kind) == ("v1", "Namespace"):
            added.setdefault(context, []).append(name)
    for context, names in added.items():
        subprocess.run(["kubectl", *_in(context), "delete", "namespace", *names, "--wait=false", "--ignore-not-found"],
                       capture_output=True, text=True, env=env, timeout=120)
    return [(f"{name} ({context})" if context else name) for context, names in added.items() for name in names]
