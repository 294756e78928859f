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
"""

from __future__ import annotations

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

Key = tuple[str, str, str, str]


class SnapshotError(Exception):
    """kubectl could not list the cluster; the message says why."""


def _kubectl(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=120)
    # A partial answer (an aggregated API that is down) still lists the rest on stdout.
    if result.returncode != 0 and not result.stdout.strip():
        raise SnapshotError(f"`kubectl {' '.join(args[:2])}` failed: {result.stderr.strip()[:400]}")
    return result.stdout


def take(env: dict[str, str], include_deleting: bool = False) -> set[Key]:
    resources = [name for name in _kubectl(["api-resources", "--verbs=list", "-o", "name"], env).split()
                 if name not in VOLATILE and not name.endswith(VOLATILE_GROUP)]
    listing = _kubectl(["get", ",".join(resources), "--all-namespaces", "--ignore-not-found", "--no-headers",
                        "-o", COLUMNS], env)
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
        objects.add((api, kind, namespace, name))
    return objects


def describe(objects: set[Key], limit: int = 15) -> str:
    lines = [f"{kind} {name}" + (f" -n {ns}" if ns != "<none>" else "") + f" ({api})"
             for api, kind, ns, name in sorted(objects, key=lambda key: (key[2], key[1], key[3]))]
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
    added = [name for api, kind, _, name in take(env, include_deleting=True) - before
             if (api, kind) == ("v1", "Namespace")]
    if added:
        subprocess.run(["kubectl", "delete", "namespace", *added, "--wait=false", "--ignore-not-found"],
                       capture_output=True, text=True, env=env, timeout=120)
    return added
