"""Step "ingress": an Istio Gateway on the ingress gateway's pods, and a VirtualService behind it."""

from level5_mesh import ISTIO_API, ISTIO_NAMESPACE, short_host

from workshop.grading import N_, check, verify
from workshop.grading.kube import selector_matches


LEARNER_HOST = "127.0.0.1"  # what the page opens: kind maps it to the ingress gateway (port 9080)


def gateway_ref(name: str, namespace: str) -> str:
    return name if "/" in name else f"{namespace}/{name}"


def serves_learner(server: dict) -> bool:
    """Does a Gateway server accept the Host the page sends (127.0.0.1)? Hosts are [ns/]dnsName."""
    return any(host.split("/")[-1] in ("*", LEARNER_HOST) for host in server.get("hosts") or [])


@check(id="l5-ingress", title=N_("a Gateway opens port 80 and a VirtualService sends it to the gateway service"),
       step="ingress", points=2, timeout=0,
       hint=N_("The Gateway's selector must match the ingress gateway's pods (istio: ingressgateway), and the "
       "VirtualService must name it in `gateways` and route to host gateway, port 8080: kubectl apply -f "
       "labs/05-istio/manifests/gateway-workshop.yaml -f labs/05-istio/manifests/virtual-service-ingress.yaml"),
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
            elif not any(serves_learner(server) for server in spec.get("servers") or []
                         if (server.get("port") or {}).get("number") == 80):
                hosts = [host for server in spec.get("servers") or [] for host in server.get("hosts") or []]
                v.fail(f"{ref}.spec.servers[port=80].hosts", f"<a host that {LEARNER_HOST} matches (\"*\")>", hosts,
                       gateway)
                v.hint(f"{ref} answers only for {hosts}, and a browser on http://{LEARNER_HOST}:9080 sends Host "
                       f"{LEARNER_HOST}: set hosts: [\"*\"], kubectl apply -f labs/05-istio/manifests/gateway-workshop.yaml")
            else:
                open_gateways.append(f"{namespace}/{gateway['metadata']['name']}")
        if not gateways:
            v.fail("gateway (networking.istio.io)", f"<one in namespace {namespace}>", "nothing")
        if not open_gateways:
            return
        # A gateway reference is <namespace>/<name>, or <name> in the VirtualService's own namespace.
        services = {item["metadata"]["name"] for item in cluster.list("Service", namespace)}
        bound = [vs for vs in cluster.list("VirtualService", namespace)
                 if any(gateway_ref(name, namespace) in open_gateways
                        for name in (vs.get("spec") or {}).get("gateways") or [])]
        if not bound:
            named = [name for vs in cluster.list("VirtualService", namespace)
                     for name in (vs.get("spec") or {}).get("gateways") or [] if name != "mesh"]
            v.fail("virtualservice.spec.gateways", f"<one naming {' or '.join(open_gateways)}>", named or "nothing")
            v.hint(f"No VirtualService is bound to {' or '.join(open_gateways)} (a reference is namespace/name or a "
                   f"name in the VirtualService's namespace; found {named or 'none'}): kubectl replace -f "
                   "labs/05-istio/manifests/virtual-service-ingress.yaml")
        for vs in bound:
            destinations = [item.get("destination") or {} for route in (vs["spec"].get("http") or [])
                            for item in route.get("route") or []]
            for host in {d.get("host", "") for d in destinations}:
                if short_host(host, namespace) not in services:
                    v.fail(f"virtualservice/{vs['metadata']['name']}.spec.http[*].route[*].destination.host",
                           f"<a Service of namespace {namespace}>", host, vs)
                    v.hint(f"virtualservice/{vs['metadata']['name']} routes to {host}, and no Service has that name: "
                           "route to host gateway, kubectl replace -f labs/05-istio/manifests/virtual-service-ingress.yaml")
            if not any(short_host(d.get("host", ""), namespace) == "gateway"
                       and (d.get("port") or {}).get("number", 8080) == 8080 for d in destinations):
                v.fail(f"virtualservice/{vs['metadata']['name']}.spec.http[*].route[*].destination",
                       "host gateway, port 8080", [d.get("host") for d in destinations], vs)
