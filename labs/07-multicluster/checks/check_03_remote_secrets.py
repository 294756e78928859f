"""Step "remote secrets": each istiod may read the other cluster's API server."""

from workshop.grading import N_, check, verify

from level7_mesh import CLUSTER_ANNOTATION, ISTIO_NAMESPACE, MULTICLUSTER_LABEL, kubeconfig_servers, secret_text, \
    unreachable_from_pods

DOCS = "https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#enable-endpoint-discovery"


@check(id="l7-remote-secrets", title=N_("each cluster holds a remote secret for the other"), step="remote secrets",
       points=3, timeout=0,
       hint=N_("For each pair: istioctl create-remote-secret --context kind-west --name west --server "
       "https://<west node IP>:6443 | kubectl --context kind-east apply -f - (and the other way round). The server must "
       "be reachable from the other cluster's pods: not 127.0.0.1, which kind writes into your kubeconfig."),
       docs=DOCS)
def check_remote_secrets(clusters):
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
