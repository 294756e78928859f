"""Step "apply": the four Deployments run, with probes, resources and a restricted securityContext."""

from workshop.grading import PRESENT, check, verify

DOCS = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"


@check(id="l2-available", title="the four Deployments are Available, all replicas updated", step="apply",
       points=2, hint="Apply the manifests and wait for the pods: kubectl apply -f labs/02-orchestrate/manifests/ "
       "then kubectl -n workshop rollout status deployment/<name> (a pod that stays Pending or not Ready says why "
       "in kubectl -n workshop describe pod).",
       docs=DOCS)
def check_available(cluster, namespace, services):
    with verify() as v:
        for name in services:
            deployment = cluster.get("Deployment", name, namespace)
            if not v.match(deployment, {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
                           ref=f"deployment/{name}"):
                continue
            # Finished rolling out: every replica runs the current template, none is left over.
            wanted = deployment["spec"].get("replicas", 1)
            status = deployment.get("status", {})
            for field in ("replicas", "updatedReplicas", "availableReplicas"):
                if status.get(field, 0) != wanted:
                    v.fail(f"deployment/{name}.status.{field}", wanted, status.get(field, 0), deployment)
            if status.get("observedGeneration", 0) < deployment["metadata"].get("generation", 0):
                v.fail(f"deployment/{name}.status.observedGeneration", deployment["metadata"]["generation"],
                       status.get("observedGeneration"), deployment)


@check(id="l2-probes", title="every container has a readiness and a liveness probe", step="apply", points=2,
       timeout=0, hint="Give account its probes, as the other services have them: readinessProbe on /readyz and "
       "livenessProbe on /healthz, port http (see labs/02-orchestrate/manifests/app-account.yaml), then "
       "kubectl apply -f labs/02-orchestrate/manifests/app-account.yaml",
       docs="https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/")
def check_probes(cluster, namespace, services):
    with verify() as v:
        for name in services:
            v.match(cluster.get("Deployment", name, namespace), {"spec": {"template": {"spec": {"containers": [{
                "name": name,
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
            }]}}}}, ref=f"deployment/{name}")


@check(id="l2-resources", title="every container requests CPU and memory and has a memory limit", step="apply",
       timeout=0, hint="Set resources.requests (cpu, memory) and resources.limits (memory) on each container, "
       "as in labs/02-orchestrate/manifests/app-*.yaml, then kubectl apply them.",
       docs="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/")
def check_resources(cluster, namespace, services):
    with verify() as v:
        for name in services:
            v.match(cluster.get("Deployment", name, namespace), {"spec": {"template": {"spec": {"containers": [{
                "name": name,
                "resources": {"requests": {"cpu": PRESENT, "memory": PRESENT}, "limits": {"memory": PRESENT}},
            }]}}}}, ref=f"deployment/{name}")


@check(id="l2-security", title="every pod runs as non-root with a read-only root filesystem and no capabilities",
       step="apply", timeout=0, hint="Keep the securityContext of labs/02-orchestrate/manifests/app-*.yaml "
       "(runAsNonRoot, seccompProfile RuntimeDefault; per container allowPrivilegeEscalation: false, "
       "readOnlyRootFilesystem: true, capabilities.drop: [ALL]) and kubectl apply them.",
       docs="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted")
def check_security(cluster, namespace, services):
    with verify() as v:
        for name in services:
            v.match(cluster.get("Deployment", name, namespace), {"spec": {"template": {"spec": {
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": name, "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                }}],
            }}}}, ref=f"deployment/{name}")
