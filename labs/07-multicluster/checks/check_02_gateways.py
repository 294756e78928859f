"""Step "install": an east-west gateway per cluster, open to the mesh on port 15443."""

from workshop.grading import check, verify

from level7_mesh import EASTWEST, EASTWEST_PORT, ISTIO_NAMESPACE, NETWORK_LABEL

DOCS = "https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/"


@check(id="l7-eastwest", title=f"each cluster exposes its east-west gateway on port {EASTWEST_PORT}", step="install",
       points=2, timeout=5,
       hint="Install it: istioctl install --context kind-<cluster> -f labs/07-multicluster/install/eastwest-gateway-<cluster>.yaml, "
       "then kubectl --context kind-<cluster> -n istio-system get service istio-eastwestgateway.",
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


@check(id="l7-cross-network", title="the gateways pass mTLS through for every service of the mesh", step="install",
       points=1, timeout=0,
       hint="Apply in both clusters: kubectl --context kind-<cluster> apply -f labs/07-multicluster/manifests/gateway-cross-network.yaml",
       docs=DOCS + "#expose-services-in-cluster1")
def check_cross_network(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            v.match(cluster.get("Gateway", "cross-network-gateway", ISTIO_NAMESPACE, "networking.istio.io/v1"),
                    {"spec": {"selector": {"istio": "eastwestgateway"}, "servers": [{
                        "port": {"number": EASTWEST_PORT, "protocol": "TLS"},
                        "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}]}},
                    ref=f"[{name}] gateway/cross-network-gateway (namespace {ISTIO_NAMESPACE})")
