"""Step "pod security": every workload meets "restricted", and the load generator's pods were admitted."""

from workshop.grading import N_, check, verify
from workshop.grading.matcher import MISSING
from workshop.grading.workload import containers_of, rollout_problems
from workshop.grading.workload import restricted_problems as pod_security_problems

PSS_DOCS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"


def restricted_problems(spec: dict, prefix: str) -> list[tuple[str, object, object]]:
    """(path, expected, got) for every field of a pod spec that "restricted" (plus a read-only
    root filesystem with a writable /tmp) asks for and ``spec`` lacks, in every container."""
    problems = pod_security_problems(spec, prefix)
    volumes = {volume["name"]: volume for volume in spec.get("volumes") or []}
    for where, container in containers_of({"containers": spec.get("containers")}, prefix):
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts") or []}
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            problems.append((f"{where}.volumeMounts /tmp", "<an emptyDir volume mounted at /tmp>", mounts.get("/tmp")))
    return problems


@check(id="l3-restricted-pods", title=N_("every workload runs restricted: non-root, read-only, no capabilities"),
       step="pod security", points=2, timeout=0,
       hint=N_("Give the load generator the securityContext of the other services (runAsNonRoot, seccompProfile "
       "RuntimeDefault; per container allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, "
       "capabilities.drop [ALL], an emptyDir at /tmp): kubectl apply -f labs/03-operate/manifests/app-loadgen.yaml"),
       docs=PSS_DOCS)
def check_restricted_pods(cluster, namespace, workloads):
    with verify() as v:
        for name in workloads:
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                v.fail(f"deployment/{name}", "<it to exist>", MISSING)
                continue
            template = deployment["spec"]["template"]["spec"]
            problems = restricted_problems(template, f"deployment/{name}.spec.template.spec")
            for path, expected, got in problems:
                v.fail(path, expected, got, deployment)
            if problems:
                fields = sorted({path.split("]", 1)[-1].lstrip(".").split(" ")[0] for path, _, _ in problems})
                v.hint(f"deployment/{name} is not restricted ({', '.join(fields)}): set these as in "
                       f"labs/03-operate/manifests/app-{name}.yaml; kubectl apply keeps fields added by hand, so "
                       f"kubectl replace -f labs/03-operate/manifests/app-{name}.yaml")


@check(id="l3-loadgen-running", title=N_("the load generator runs, in pods admitted under the restricted rules"),
       step="pod security", points=1,
       hint=N_("Enforcement applies to new pods only: pods started before it keep running. Apply the fixed manifest "
       "(kubectl apply -f labs/03-operate/manifests/app-loadgen.yaml) so that new pods replace them, then kubectl -n "
       "workshop rollout status deployment/loadgen. A refused pod shows in kubectl -n workshop describe replicaset "
       "-l app=loadgen as 'violates PodSecurity'."),
       docs="https://kubernetes.io/docs/concepts/security/pod-security-admission/")
def check_loadgen_running(cluster, namespace):
    deployment = cluster.get("Deployment", "loadgen", namespace)
    with verify() as v:
        if deployment is None:
            v.fail("deployment/loadgen", "<it to exist>", MISSING)
            return
        # Refused pods leave the old ones ready: the rollout's own conditions tell.
        problems = rollout_problems(deployment, "deployment/loadgen")
        for path, expected, got in problems:
            v.fail(path, expected, got, deployment)
        if any("ReplicaFailure" in path for path, _, _ in problems):
            v.hint("deployment/loadgen cannot create its pods (status.conditions ReplicaFailure: 'violates "
                   "PodSecurity'): make its template restricted, kubectl replace -f "
                   "labs/03-operate/manifests/app-loadgen.yaml, then kubectl -n workshop rollout status "
                   "deployment/loadgen.")
        for pod in cluster.pods_of(deployment):
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue  # on its way out
            for path, expected, got in restricted_problems(pod["spec"], f"pod/{pod['metadata']['name']}.spec"):
                v.fail(path, expected, got, pod)
