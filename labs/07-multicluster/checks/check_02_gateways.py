"""Step "install": an east-west gateway per cluster, open to the mesh on port 15443."""

from workshop.grading import N_, check, verify

from level7_mesh import EASTWEST, EASTWEST_PORT, ISTIO_NAMESPACE, NETWORK_LABEL, gateway_addresses, internal_ip, \
    mesh_networks, node_port

DOCS = "https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/"


@check(id="l7-eastwest", title=f"each cluster exposes its east-west gateway on port {EASTWEST_PORT}", step="install",
       points=2, timeout=5,
       hint=N_("Install it: istioctl install --context kind-<cluster> -f labs/07-multicluster/install/eastwest-gateway-<cluster>.yaml, "
       "then kubectl --context kind-<cluster> -n istio-system get service istio-eastwestgateway."),
       docs=DOCS + "#install-the-east-west-gateway-in-cluster1")
def check_eastwest(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            service = cluster.get("Service", EASTWEST, ISTIO_NAMESPACE)
            v.match(service, {"metadata": {"labels": {NETWORK_LABEL: f"network-{name}"}},
                              "spec": {"ports": [{"name": "tls", "port": EASTWEST_PORT}]}},
                    ref=f"[{name}] service/{EASTWEST} (namespace {ISTIO_NAMESPACE})")
            v.match(cluster.get("Deployment", EASTWEST, ISTIO_NAMESPACE),
                    {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
                    ref=f"[{name}] deployment/{EASTWEST} (namespace {ISTIO_NAMESPACE})")


@check(id="l7-cross-network", title=N_("the gateways pass mTLS through for every service of the mesh"), step="install",
       points=1, timeout=0,
       hint=N_("Apply in both clusters: kubectl --context kind-<cluster> apply -f labs/07-multicluster/manifests/gateway-cross-network.yaml"),
       docs=DOCS + "#expose-services-in-cluster1")
def check_cross_network(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            v.match(cluster.get("Gateway", "cross-network-gateway", ISTIO_NAMESPACE, "networking.istio.io/v1"),
                    {"spec": {"selector": {"istio": "eastwestgateway"}, "servers": [{
                        "port": {"number": EASTWEST_PORT, "protocol": "TLS"},
                        "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}]}},
                    ref=f"[{name}] gateway/cross-network-gateway (namespace {ISTIO_NAMESPACE})")


@check(id="l7-mesh-networks", title=N_("each istiod knows where the other network's east-west gateway is today"),
       step="install", points=1, timeout=5,
       hint=N_("Run make lab-7 again: it writes each cluster's node address and its east-west gateway's NodePort into "
       "meshNetworks. Node addresses change when a cluster or Docker restarts; kubectl --context kind-<cluster> get "
       "nodes -o wide shows today's."),
       docs="https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#MeshNetworks")
def check_mesh_networks(clusters):
    with verify() as v:
        # Where each network's gateway is: the first node's address (as make lab-7 reads it), and
        # the NodePort of the gateway's mTLS port.
        expected = {}
        for name, cluster in clusters.items():
            nodes = cluster.list("Node")
            address = internal_ip(nodes[0]) if nodes else None
            port = node_port(cluster.get("Service", EASTWEST, ISTIO_NAMESPACE), EASTWEST_PORT)
            if not address or not port:
                v.fail(f"[{name}] first node's InternalIP and service/{EASTWEST} NodePort of port {EASTWEST_PORT}",
                       "<both>", f"<address {address or 'none'}, NodePort {port or 'none'}>")
                continue
            expected[f"network-{name}"] = (address, port)
        for name, cluster in clusters.items():
            networks = mesh_networks(cluster.get("ConfigMap", "istio", ISTIO_NAMESPACE))
            for network, gateway in expected.items():
                found = gateway_addresses(networks.get(network) or {})
                if gateway not in found:
                    v.fail(f"[{name}] configmap/istio (namespace {ISTIO_NAMESPACE}) meshNetworks.{network}.gateways",
                           f"address {gateway[0]} port {gateway[1]}",
                           ", ".join(f"address {a} port {p}" for a, p in found) or "<none>")
