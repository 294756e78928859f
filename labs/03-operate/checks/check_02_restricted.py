"""Step "pod security": every workload meets "restricted", and the load generator's pods were admitted."""

from workshop.grading import check, verify
from workshop.grading.matcher import MISSING

PSS_DOCS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"


def restricted_problems(spec: dict, prefix: str) -> list[tuple[str, object, object]]:
    """(path, expected, got) for every field of a pod spec that "restricted" (plus a read-only
    root filesystem with a writable /tmp) asks for and ``spec`` lacks; ``prefix`` names it."""
    pod = spec.get("securityContext") or {}
    problems = []
    for container in spec.get("containers") or []:
        context = container.get("securityContext") or {}
        where = f"{prefix}.containers[name={container['name']}].securityContext"
        if context.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append((f"{where}.runAsNonRoot (or the pod's)", True, context.get("runAsNonRoot")))
        seccomp = (context.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append((f"{where}.seccompProfile.type (or the pod's)", "RuntimeDefault", seccomp))
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append((f"{where}.allowPrivilegeEscalation", False, context.get("allowPrivilegeEscalation")))
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            problems.append((f"{where}.capabilities.drop", ["ALL"], (context.get("capabilities") or {}).get("drop")))
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append((f"{where}.readOnlyRootFilesystem", True, context.get("readOnlyRootFilesystem")))
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts") or []}
        volumes = {volume["name"]: volume for volume in spec.get("volumes") or []}
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            problems.append((f"{prefix}.containers[name={container['name']}].volumeMounts /tmp",
                             "<an emptyDir volume mounted at /tmp>", mounts.get("/tmp")))
    return problems


@check(id="l3-restricted-pods", title="every workload runs restricted: non-root, read-only, no capabilities",
       step="pod security", points=2, timeout=0,
       hint="Give the load generator the securityContext of the other services (runAsNonRoot, seccompProfile "
       "RuntimeDefault; per container allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, "
       "capabilities.drop [ALL], an emptyDir at /tmp): kubectl apply -f labs/03-operate/manifests/app-loadgen.yaml",
       docs=PSS_DOCS)
def check_restricted_pods(cluster, namespace, workloads):
    with verify() as v:
        for name in workloads:
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                v.fail(f"deployment/{name}", "<it to exist>", MISSING)
                continue
            template = deployment["spec"]["template"]["spec"]
            for path, expected, got in restricted_problems(template, f"deployment/{name}.spec.template.spec"):
                v.fail(path, expected, got, deployment)


@check(id="l3-loadgen-running", title="the load generator runs, in pods admitted under the restricted rules",
       step="pod security", points=1,
       hint="Enforcement applies to new pods only: pods started before it keep running. Apply the fixed manifest "
       "(kubectl apply -f labs/03-operate/manifests/app-loadgen.yaml) so that new pods replace them, then kubectl -n "
       "workshop rollout status deployment/loadgen. A refused pod shows in kubectl -n workshop describe replicaset "
       "-l app=loadgen as 'violates PodSecurity'.",
       docs="https://kubernetes.io/docs/concepts/security/pod-security-admission/")
def check_loadgen_running(cluster, namespace):
    deployment = cluster.get("Deployment", "loadgen", namespace)
    with verify() as v:
        if not v.match(deployment, {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
                       ref="deployment/loadgen"):
            return
        status, wanted = deployment.get("status", {}), deployment["spec"].get("replicas", 1)
        for field in ("updatedReplicas", "readyReplicas"):
            if status.get(field, 0) != wanted:
                v.fail(f"deployment/loadgen.status.{field}", wanted, status.get(field, 0), deployment)
        for pod in cluster.pods_of(deployment):
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue  # on its way out
            for path, expected, got in restricted_problems(pod["spec"], f"pod/{pod['metadata']['name']}.spec"):
                v.fail(path, expected, got, pod)
