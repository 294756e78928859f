"""Step "ingress": an Istio Gateway on the ingress gateway's pods, and a VirtualService behind it."""

from level5_mesh import ISTIO_API, ISTIO_NAMESPACE, short_host

from workshop.grading import check, verify
from workshop.grading.kube import selector_matches


@check(id="l5-ingress", title="a Gateway opens port 80 and a VirtualService sends it to the gateway service",
       step="ingress", points=2, timeout=0,
       hint="The Gateway's selector must match the ingress gateway's pods (istio: ingressgateway), and the "
       "VirtualService must name it in `gateways` and route to host gateway, port 8080: kubectl apply -f "
       "labs/05-istio/manifests/gateway-workshop.yaml -f labs/05-istio/manifests/virtual-service-ingress.yaml",
       docs="https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/")
def check_ingress(cluster, namespace):
    gateways = cluster.list("Gateway", namespace, ISTIO_API["Gateway"])
    ingress_pods = cluster.list("Pod", ISTIO_NAMESPACE)
    with verify() as v:
        open_gateways = []
        for gateway in gateways:
            spec = gateway.get("spec") or {}
            ref = f"gateway/{gateway['metadata']['name']}"
            if not any(selector_matches(spec.get("selector"), pod["metadata"].get("labels")) for pod in ingress_pods):
                v.fail(f"{ref}.spec.selector", "<labels of the ingress gateway's pods (istio: ingressgateway)>",
                       spec.get("selector"), gateway)
            elif not any((server.get("port") or {}).get("number") == 80 for server in spec.get("servers") or []):
                v.fail(f"{ref}.spec.servers[*].port.number", 80, "<no server on port 80>", gateway)
            else:
                open_gateways.append(gateway["metadata"]["name"])
        if not gateways:
            v.fail("gateway (networking.istio.io)", f"<one in namespace {namespace}>", "nothing")
        if not open_gateways:
            return
        bound = [vs for vs in cluster.list("VirtualService", namespace)
                 if any(name.split("/")[-1] in open_gateways for name in (vs.get("spec") or {}).get("gateways") or [])]
        if not bound:
            v.fail("virtualservice.spec.gateways", f"<one naming {' or '.join(open_gateways)}>", "nothing")
        for vs in bound:
            destinations = [item.get("destination") or {} for route in (vs["spec"].get("http") or [])
                            for item in route.get("route") or []]
            if not any(short_host(d.get("host", ""), namespace) == "gateway"
                       and (d.get("port") or {}).get("number", 8080) == 8080 for d in destinations):
                v.fail(f"virtualservice/{vs['metadata']['name']}.spec.http[*].route[*].destination",
                       "host gateway, port 8080", [d.get("host") for d in destinations], vs)
