"""Step "apply": each Service selects its Deployment's pods, on a port they have, with ready endpoints."""

from level2 import MANIFEST

from workshop.grading import N_, check, verify
from workshop.grading.kube import selector_matches
from workshop.grading.workload import port_names


def ready_endpoints(cluster, namespace: str, service: str) -> int:
    """Ready addresses behind a Service that carry a port, from its EndpointSlices (one LIST of
    slices per run). A slice without ports means the targetPort named no container port."""
    slices = cluster.list("EndpointSlice", namespace, selector={"kubernetes.io/service-name": service})
    return sum(1 for piece in slices if piece.get("ports") for endpoint in piece.get("endpoints") or []
               if (endpoint.get("conditions") or {}).get("ready", True))


@check(id="l2-services", title=N_("each Service selects its pods and has ready endpoints"), step="apply", points=2,
       hint=N_("A Service finds pods by labels: its spec.selector must equal labels of the pod template "
       "(app: <service>), and its targetPort must name a container port (http). kubectl apply -f "
       "labs/02-orchestrate/manifests/app-<service>.yaml, then kubectl -n workshop get endpointslices"),
       docs="https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service")
def check_services(cluster, namespace, services):
    with verify() as v:
        for name in services:
            fix = f"kubectl replace -f {MANIFEST.format(name=name)}"
            service = cluster.get("Service", name, namespace)
            if not v.match(service, {"spec": {"ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}},
                           ref=f"service/{name}"):
                v.hint(f"service/{name} must expose port 8080 named http with targetPort http: {fix}")
                continue
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                continue  # l2-available already says it is missing
            pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
            selector = service["spec"].get("selector") or {}
            if not selector or not selector_matches(selector, pod_labels):
                v.fail(f"service/{name}.spec.selector", f"<labels the pods of deployment/{name} carry: "
                       f"{', '.join(f'{k}={val}' for k, val in pod_labels.items())}>", selector, service)
                said = ", ".join(f"{key}={value}" for key, value in selector.items()) or "empty"
                v.hint(f"service/{name}.spec.selector ({said}) selects none of deployment/{name}'s pods: a Service "
                       f"finds pods by labels, set it to app: {name} ({fix}).")
                continue
            named = set().union(*(port_names(c) for c in deployment["spec"]["template"]["spec"].get("containers") or []))
            if "http" not in named:
                v.fail(f"deployment/{name}.spec.template.spec.containers ports", "<a port named http, service/"
                       f"{name}'s targetPort>", sorted(named) or "<no named port>", deployment)
                v.hint(f"service/{name} sends to the container port named http, and deployment/{name} has none: "
                       f"name the container port http again, kubectl replace -f {MANIFEST.format(name=name)}")
                continue
            wanted = (deployment.get("status") or {}).get("readyReplicas", 0)
            ready = ready_endpoints(cluster, namespace, name)
            if ready == 0 or ready < wanted:
                v.fail(f"service/{name} ready endpoints", max(wanted, 1), ready, service)
                v.hint(f"service/{name} has {ready} ready endpoints: deployment/{name} must run ready pods "
                       f"(kubectl -n workshop rollout status deployment/{name}; kubectl -n workshop get endpointslices "
                       f"-l kubernetes.io/service-name={name}).")
