"""Step "apply": the four Deployments run, with probes, resources and a restricted securityContext.

Every container and init container of each pod template is judged, not only the one named
after the service: an extra container added by hand needs the same care (or removing).
"""

from level2 import MANIFEST, REPLACE, is_extra, templates

from workshop.grading import N_, check, verify
from workshop.grading.matcher import MISSING, match
from workshop.grading.workload import containers_of, port_names, restricted_problems, rollout_problems

DOCS = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"
PROBES = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}


@check(id="l2-available", title=N_("the four Deployments are Available, all replicas updated"), step="apply",
       points=2, hint=N_("Apply the manifests and wait for the pods: kubectl apply -f labs/02-orchestrate/manifests/ "
       "then kubectl -n workshop rollout status deployment/<name> (a pod that stays Pending or not Ready says why "
       "in kubectl -n workshop describe pod)."),
       docs=DOCS)
def check_available(cluster, namespace, services):
    with verify() as v:
        for name, deployment, _, _ in templates(cluster, namespace, services, v):
            problems = rollout_problems(deployment, f"deployment/{name}")
            for path, expected, got in problems:
                v.fail(path, expected, got, deployment)
            if any(path.endswith(".spec.replicas") for path, _, _ in problems):
                v.hint(f"deployment/{name} runs no pod: kubectl -n workshop scale deployment/{name} --replicas=1 "
                       f"(or the replicas of {MANIFEST.format(name=name)}).")
            elif any("ReplicaFailure" in path for path, _, _ in problems):
                v.hint(f"deployment/{name} cannot create its pods (the condition's message says why): fix its "
                       f"template, kubectl replace -f {MANIFEST.format(name=name)}, then kubectl -n workshop rollout "
                       f"status deployment/{name}.")
            elif problems:
                v.hint(f"Wait for deployment/{name}: kubectl -n workshop rollout status deployment/{name} (a pod that "
                       "stays Pending or not Ready says why in kubectl -n workshop describe pod).")


@check(id="l2-probes", title=N_("every container has a readiness and a liveness probe"), step="apply", points=2,
       timeout=0, hint=N_("Give each container a readinessProbe on /readyz and a livenessProbe on /healthz, port http, "
       "as in labs/02-orchestrate/manifests/app-*.yaml, then kubectl apply them."),
       docs="https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/")
def check_probes(cluster, namespace, services):
    with verify() as v:
        for name, deployment, spec, prefix in templates(cluster, namespace, services, v):
            for path, container in containers_of({"containers": spec.get("containers")}, prefix):
                extra = is_extra(name, path)
                for probe, probe_path in PROBES.items():
                    wanted = {"httpGet": {"path": probe_path, "port": "http"}}
                    found = match(wanted, container.get(probe, MISSING), f"{path}.{probe}") if not extra else (
                        [] if container.get(probe) else [None])
                    if found and extra:
                        v.fail(f"{path}.{probe}", "<a probe (or no such container)>", MISSING, deployment)
                        v.hint(f"deployment/{name} has a container the lab does not run ({container['name']}), with "
                               f"no {probe}: remove it, {REPLACE.format(name=name)}")
                        continue
                    for item in found:
                        v.fail(item.path, item.expected, item.got, deployment)
                        v.hint(f"Give deployment/{name}'s container {container['name']} its {probe} (httpGet "
                               f"{probe_path} on port http): {REPLACE.format(name=name)}")
                    port = (container.get(probe) or {}).get("httpGet", {}).get("port")
                    if not extra and not found and port not in port_names(container):
                        v.fail(f"{path}.ports[name=http]", "<a container port named http, as the probes use>",
                               sorted(port_names(container)) or MISSING, deployment)
                        v.hint(f"deployment/{name}'s probes use port http, which no container port of "
                               f"{container['name']} is named: {REPLACE.format(name=name)}")


@check(id="l2-resources", title=N_("every container requests CPU and memory and has a memory limit"), step="apply",
       timeout=0, hint=N_("Set resources.requests (cpu, memory) and resources.limits (memory) on each container, "
       "as in labs/02-orchestrate/manifests/app-*.yaml, then kubectl apply them."),
       docs="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/")
def check_resources(cluster, namespace, services):
    with verify() as v:
        for name, deployment, spec, prefix in templates(cluster, namespace, services, v):
            for path, container in containers_of(spec, prefix):
                resources = container.get("resources") or {}
                for section, keys in (("requests", ("cpu", "memory")), ("limits", ("memory",))):
                    values = resources.get(section)
                    if not values:
                        v.fail(f"{path}.resources.{section}", {key: "(any value)" for key in keys}, MISSING, deployment)
                    else:
                        for key in keys:
                            if str(values.get(key, "0")).strip() in ("0", ""):
                                v.fail(f"{path}.resources.{section}.{key}", "<more than 0>", values.get(key, MISSING),
                                       deployment)
                if any(m.path.startswith(path) for m in v.mismatches):
                    v.hint(f"Set resources on deployment/{name}'s container {container['name']} (requests cpu and "
                           f"memory, a memory limit): {REPLACE.format(name=name)}")


@check(id="l2-security", title=N_("every pod runs as non-root with a read-only root filesystem and no capabilities"),
       step="apply", timeout=0, hint=N_("Keep the securityContext of labs/02-orchestrate/manifests/app-*.yaml "
       "(runAsNonRoot, seccompProfile RuntimeDefault; per container allowPrivilegeEscalation: false, "
       "readOnlyRootFilesystem: true, capabilities.drop: [ALL]) and kubectl apply them."),
       docs="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted")
def check_security(cluster, namespace, services):
    with verify() as v:
        for name, deployment, spec, prefix in templates(cluster, namespace, services, v):
            problems = restricted_problems(spec, prefix)
            for path, expected, got in problems:
                v.fail(path, expected, got, deployment)
            if problems:
                fields = ", ".join(sorted({path.split(".securityContext.")[-1].split(" ")[0].split(".")[0]
                                           for path, _, _ in problems}))
                v.hint(f"deployment/{name}'s securityContext is not restricted ({fields}): set it back as in "
                       f"{MANIFEST.format(name=name)} (a field added by hand stays through kubectl apply): "
                       f"{REPLACE.format(name=name)}")
