"""Step "apply": each Service selects its Deployment's pods and has ready endpoints."""

from workshop.grading import check, verify
from workshop.grading.kube import selector_matches


def ready_endpoints(cluster, namespace: str, service: str) -> int:
    """Ready addresses behind a Service, from its EndpointSlices (one LIST of slices per run)."""
    slices = cluster.list("EndpointSlice", namespace, selector={"kubernetes.io/service-name": service})
    return sum(1 for piece in slices for endpoint in piece.get("endpoints") or []
               if (endpoint.get("conditions") or {}).get("ready", True))


@check(id="l2-services", title="each Service selects its pods and has ready endpoints", step="apply", points=2,
       hint="A Service finds pods by labels: its spec.selector must equal labels of the pod template "
       "(app: <service>). Fix the order Service: kubectl apply -f labs/02-orchestrate/manifests/app-order.yaml, "
       "then kubectl -n workshop get endpointslices",
       docs="https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service")
def check_services(cluster, namespace, services):
    with verify() as v:
        for name in services:
            service = cluster.get("Service", name, namespace)
            if not v.match(service, {"spec": {"ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}},
                           ref=f"service/{name}"):
                continue
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                continue  # l2-available already says it is missing
            pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
            selector = service["spec"].get("selector") or {}
            if not selector_matches(selector, pod_labels):
                v.fail(f"service/{name}.spec.selector", f"<labels the pods of deployment/{name} carry: "
                       f"{', '.join(f'{k}={val}' for k, val in pod_labels.items())}>", selector, service)
                continue
            wanted = (deployment.get("status") or {}).get("readyReplicas", 0)
            ready = ready_endpoints(cluster, namespace, name)
            if ready == 0 or ready < wanted:
                v.fail(f"service/{name} ready endpoints", max(wanted, 1), ready, service)
