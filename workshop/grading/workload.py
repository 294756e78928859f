"""What a workload's checks read: every container of a pod template, its effective security
context, and whether the Deployment's rollout really finished.

Checks judge every container and init container, never only the one named after the
service: an extra sidecar without probes, limits or hardening is as much a mistake.

    >>> spec = {"containers": [{"name": "app"}], "initContainers": [{"name": "setup"}]}
    >>> [path for path, _ in containers_of(spec, "deployment/x.spec.template.spec")]
    ['deployment/x.spec.template.spec.initContainers[name=setup]', 'deployment/x.spec.template.spec.containers[name=app]']
"""

from __future__ import annotations

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
# Capabilities "restricted" lets a container add; the workshop's services need none.
ALLOWED_CAPABILITIES: frozenset[str] = frozenset()


def containers_of(pod_spec: dict, prefix: str) -> list[tuple[str, dict]]:
    """(path, container) for every container of a pod spec, init containers first."""
    return [(f"{prefix}.{field}[name={container.get('name', '?')}]", container)
            for field in CONTAINER_FIELDS for container in pod_spec.get(field) or []]


def restricted_problems(pod_spec: dict, prefix: str) -> list[tuple[str, object, object]]:
    """(path, expected, got) for every field of a pod spec that Pod Security "restricted" (plus a
    read-only root filesystem) forbids or lacks. Container fields override the pod's, as the
    kubelet applies them: a container's runAsNonRoot: false beats the pod's true."""
    pod = pod_spec.get("securityContext") or {}
    problems: list[tuple[str, object, object]] = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(flag):
            problems.append((f"{prefix}.{flag}", "<not set>", True))
    for volume in pod_spec.get("volumes") or []:
        if "hostPath" in volume:
            problems.append((f"{prefix}.volumes[name={volume.get('name')}].hostPath", "<not set>", volume["hostPath"]))
    if pod.get("runAsUser") == 0:
        problems.append((f"{prefix}.securityContext.runAsUser", "<not 0 (root)>", 0))
    for where, container in containers_of(pod_spec, prefix):
        context = container.get("securityContext") or {}
        where = f"{where}.securityContext"
        if context.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            field = "runAsNonRoot" if "runAsNonRoot" in context else "runAsNonRoot (or the pod's)"
            problems.append((f"{where}.{field}", True, context.get("runAsNonRoot", pod.get("runAsNonRoot"))))
        if context.get("runAsUser") == 0:
            problems.append((f"{where}.runAsUser", "<not 0 (root)>", 0))
        seccomp = (context.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append((f"{where}.seccompProfile.type (or the pod's)", "RuntimeDefault", seccomp))
        if context.get("privileged"):
            problems.append((f"{where}.privileged", "<not set>", True))
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append((f"{where}.allowPrivilegeEscalation", False, context.get("allowPrivilegeEscalation")))
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append((f"{where}.capabilities.drop", ["ALL"], capabilities.get("drop")))
        added = [name for name in capabilities.get("add") or [] if name not in ALLOWED_CAPABILITIES]
        if added:
            problems.append((f"{where}.capabilities.add", "<none>", added))
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append((f"{where}.readOnlyRootFilesystem", True, context.get("readOnlyRootFilesystem")))
    return problems


def rollout_problems(deployment: dict, ref: str) -> list[tuple[str, object, object]]:
    """(path, expected, got) unless the Deployment's rollout finished with 1 replica or more.

    Ready counts alone lie: when new pods cannot be created (Pod Security refuses them, a
    missing ServiceAccount) the old pods stay ready. The controller's own verdict says so:
    observedGeneration behind, a ReplicaFailure condition, updatedReplicas short."""
    status = deployment.get("status") or {}
    generation = deployment["metadata"].get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return [(f"{ref}.status.observedGeneration", generation, status.get("observedGeneration"))]
    wanted = deployment["spec"].get("replicas", 1)
    problems: list[tuple[str, object, object]] = []
    if wanted < 1:
        problems.append((f"{ref}.spec.replicas", "<1 or more>", wanted))
    for condition in status.get("conditions") or []:
        failing = (condition.get("type") == "ReplicaFailure" and condition.get("status") == "True") or (
            condition.get("type") in ("Available", "Progressing") and condition.get("status") == "False")
        if failing:
            problems.append((f"{ref}.status.conditions[type={condition['type']}]",
                             "<not True>" if condition["type"] == "ReplicaFailure" else "True",
                             f"{condition.get('status')} ({condition.get('reason')}: {condition.get('message', '')})"))
    for field in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
        if status.get(field, 0) != wanted:
            problems.append((f"{ref}.status.{field}", wanted, status.get(field, 0)))
    return problems


def port_names(container: dict) -> set[str]:
    return {port["name"] for port in container.get("ports") or [] if port.get("name")}
