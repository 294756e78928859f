"""What to show under a failed check, so the learner sees *why* without running kubectl.

For each object a check complained about: its conditions (with reason and message), its
recent events, and for workloads the pods behind it — their containers and init
containers (is ``istio-proxy`` there, as a container or as a native sidecar?), why a
container is not ready, and the tail of a failing container's log.
"""

from __future__ import annotations

from workshop.grading.kube import Cluster, CannotCheck, Transient
from workshop.grading.spec import object_ref

MAX_PODS = 3


def describe(cluster: Cluster, obj: dict) -> list[str]:
    """Diagnostic lines for one object; never raises (a diagnosis must not hide the failure).

    Only what says something is wrong (conditions not as they should be, warning events,
    containers not ready), plus the container layout of the pods, which is worth seeing even
    when they are healthy (is the sidecar there?)."""
    try:
        lines = conditions(obj) + [f"event: {line}" for line in events(cluster, obj)]
        if is_workload(obj):
            lines += pods(cluster, obj)
        return [f"{object_ref(obj)}: {line}" for line in lines]
    except (CannotCheck, Transient, KeyError, TypeError) as error:
        return [f"{object_ref(obj)}: (no diagnostics: {error})"]


WORKLOAD_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Service"}


def is_workload(obj: dict) -> bool:
    """Objects whose pods say why they are not ready: a core Service, not a Knative Service."""
    api_version = obj.get("apiVersion", "v1")
    group = api_version.split("/")[0] if "/" in api_version else ""
    return obj.get("kind") in WORKLOAD_KINDS and group in ("", "apps")


# Conditions that are bad news when True; every other condition is bad news when not True.
BAD_WHEN_TRUE = {"ReplicaFailure"}


def conditions(obj: dict) -> list[str]:
    """The conditions worth reading: those that say something is wrong, with reason and message."""
    lines = []
    for condition in obj.get("status", {}).get("conditions") or []:
        healthy = (condition.get("status") == "True") != (condition.get("type") in BAD_WHEN_TRUE)
        if healthy:
            continue
        text = f"condition {condition.get('type')}={condition.get('status')}"
        if condition.get("reason"):
            text += f" ({condition['reason']})"
        if condition.get("message"):
            text += f": {condition['message']}"
        lines.append(text)
    return lines


def events(cluster: Cluster, obj: dict, warnings_only: bool = True) -> list[str]:
    return [f"{event.get('type', '')} {event.get('reason', '')}: {event.get('message', '').strip()}"
            for event in cluster.events_for(obj) if not warnings_only or event.get("type") == "Warning"]


def container_layout(pod: dict) -> str:
    """``containers: account; init containers: istio-proxy (native sidecar)``."""
    spec = pod.get("spec", {})
    names = [container["name"] for container in spec.get("containers") or []]
    inits = []
    for container in spec.get("initContainers") or []:
        # A native sidecar is an init container that keeps running (restartPolicy: Always).
        native = container.get("restartPolicy") == "Always"
        inits.append(container["name"] + (" (native sidecar)" if native else ""))
    text = f"containers: {', '.join(names) or 'none'}"
    if inits:
        text += f"; init containers: {', '.join(inits)}"
    return text


def has_sidecar(pod: dict, name: str = "istio-proxy") -> bool:
    """Is the sidecar there, either as a container or as a native sidecar (init, restartPolicy Always)?"""
    spec = pod.get("spec", {})
    if any(container["name"] == name for container in spec.get("containers") or []):
        return True
    return any(container["name"] == name and container.get("restartPolicy") == "Always"
               for container in spec.get("initContainers") or [])


def pods(cluster: Cluster, workload: dict) -> list[str]:
    selected = cluster.pods_of(workload)
    if not selected:
        selector = workload.get("spec", {}).get("selector") or {}
        shown = selector.get("matchLabels", selector)
        return [f"selects no pod (selector {', '.join(f'{k}={v}' for k, v in shown.items()) or 'empty'})"]
    lines = []
    for pod in selected[:MAX_PODS]:
        name = pod["metadata"]["name"]
        lines.append(f"pod {name} {pod.get('status', {}).get('phase', '?')}, {container_layout(pod)}")
        # Why a pod is stuck is usually in its own warnings (FailedScheduling, BackOff, Unhealthy).
        lines += [f"pod {name} event: {line}" for line in events(cluster, pod)]
        for status in (pod.get("status", {}).get("initContainerStatuses") or []) + (
                pod.get("status", {}).get("containerStatuses") or []):
            problem = _container_problem(status)
            if problem:
                lines.append(f"pod {name} container {status['name']}: {problem}")
                tail = cluster.log_tail(pod, status["name"])
                if tail:
                    lines += [f"pod {name} log | {line}" for line in tail.rstrip().splitlines()[-5:]]
    if len(selected) > MAX_PODS:
        lines.append(f"... and {len(selected) - MAX_PODS} more pods")
    return lines


def _container_problem(status: dict) -> str:
    state = status.get("state") or {}
    if "waiting" in state:
        waiting = state["waiting"]
        return f"waiting ({waiting.get('reason', '?')}) {waiting.get('message', '')}".strip()
    if "terminated" in state and state["terminated"].get("exitCode", 0) != 0:
        terminated = state["terminated"]
        return f"terminated ({terminated.get('reason', '?')}, exit code {terminated.get('exitCode')})"
    if not status.get("ready", True) and status.get("started", True):
        restarts = status.get("restartCount", 0)
        return "not ready" + (f", restarted {restarts} times" if restarts else "")
    return ""
