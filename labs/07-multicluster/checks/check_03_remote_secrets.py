"""Step "remote secrets": each istiod may read the other cluster's API server."""

from workshop.grading import N_, check, verify

from level7_mesh import CLUSTER_ANNOTATION, ISTIO_NAMESPACE, MULTICLUSTER_LABEL, internal_ip, kubeconfig_servers, \
    secret_text, server_host, unreachable_from_pods

DOCS = "https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#enable-endpoint-discovery"


@check(id="l7-remote-secrets", title=N_("each cluster holds a remote secret for the other"), step="remote secrets",
       points=3, timeout=0,
       hint=N_("For each pair: istioctl create-remote-secret --context kind-west --name west --server "
       "https://<west node IP>:6443 | kubectl --context kind-east apply -f - (and the other way round). The server must "
       "be reachable from the other cluster's pods: not 127.0.0.1, which kind writes into your kubeconfig."),
       docs=DOCS)
def check_remote_secrets(clusters):
    # Where each cluster's API server is reachable from outside it: its nodes' addresses (kind's
    # control-plane node serves it on <InternalIP>:6443) or the endpoint its own pods use.
    addresses = {name: api_addresses(cluster) for name, cluster in clusters.items()}
    with verify() as v:
        for name, cluster in clusters.items():
            for other in clusters:
                if other == name:
                    continue
                secrets = [s for s in cluster.list("Secret", ISTIO_NAMESPACE, selector={MULTICLUSTER_LABEL: "true"})
                           if (s["metadata"].get("annotations") or {}).get(CLUSTER_ANNOTATION) == other]
                if not secrets:
                    v.fail(f"[{name}] secrets labelled {MULTICLUSTER_LABEL}=true (namespace {ISTIO_NAMESPACE})",
                           f"<one for cluster {other}>", "<none>")
                    continue
                servers = kubeconfig_servers(secret_text(secrets[0], other))
                if not servers:
                    v.fail(f"[{name}] secret/{secrets[0]['metadata']['name']}.data[{other}]",
                           f"<a kubeconfig for cluster {other}>", "<none>", secrets[0])
                elif any(unreachable_from_pods(server) for server in servers):
                    v.fail(f"[{name}] secret/{secrets[0]['metadata']['name']} server",
                           f"<{other}'s address on the kind network, e.g. https://172.18.0.x:6443>", servers[0],
                           secrets[0])
                elif any(server_host(server) not in addresses[other] for server in servers):
                    v.fail(f"[{name}] secret/{secrets[0]['metadata']['name']} server",
                           f"<an address of cluster {other}'s API server: "
                           f"{', '.join(f'https://{a}:6443' for a in sorted(addresses[other])) or 'none known'}>",
                           servers[0], secrets[0])


def api_addresses(cluster) -> set[str]:
    """The node addresses of a cluster and the addresses of its `kubernetes` Service's endpoints."""
    found = {internal_ip(node) for node in cluster.list("Node")}
    for endpoints in cluster.list("EndpointSlice", "default", api_version="discovery.k8s.io/v1",
                                  selector={"kubernetes.io/service-name": "kubernetes"}):
        for endpoint in endpoints.get("endpoints") or []:
            found.update(endpoint.get("addresses") or [])
    return {address for address in found if address}
