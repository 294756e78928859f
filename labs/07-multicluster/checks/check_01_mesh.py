"""Step "install": two primaries of one mesh, on two networks, under one root CA."""

from workshop.grading import N_, check, verify

from level7_mesh import ISTIO_NAMESPACE, NETWORK_LABEL, mesh_values, secret_text

DOCS = "https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/"
AVAILABLE = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}


@check(id="l7-control-planes", title=N_("istiod is running in both clusters"), step="install", points=2, timeout=5,
       hint=N_("Install Istio in both: make lab-7 (it runs istioctl install with labs/07-multicluster/install/istio-east.yaml "
       "and istio-west.yaml); kubectl --context kind-west -n istio-system get pods says what is not running."),
       docs=DOCS)
def check_control_planes(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            v.match(cluster.get("Deployment", "istiod", ISTIO_NAMESPACE), AVAILABLE,
                    ref=f"[{name}] deployment/istiod (namespace {ISTIO_NAMESPACE})")


@check(id="l7-one-mesh", title=N_("one meshID, a distinct cluster name and network per cluster"), step="install",
       points=1, timeout=0,
       hint=N_("Install each cluster with its own file (values.global: meshID workshop-mesh, multiCluster.clusterName and "
       "network of its own), and label istio-system with topology.istio.io/network=network-<cluster>."),
       docs=DOCS)
def check_one_mesh(clusters):
    values = {name: mesh_values(cluster.get("ConfigMap", "istio-sidecar-injector", ISTIO_NAMESPACE))
              for name, cluster in clusters.items()}
    with verify() as v:
        meshes = {item["meshID"] for item in values.values()}
        if len(meshes) != 1 or None in meshes:
            v.fail("values.global.meshID of both clusters", "<the same meshID>", " and ".join(map(str, meshes)))
        networks = [item["network"] for item in values.values()]
        if None in networks or len(set(networks)) != len(networks):
            v.fail("values.global.network of both clusters", "<one network each>", " and ".join(map(str, networks)))
        for name, cluster in clusters.items():
            namespace = cluster.get("Namespace", ISTIO_NAMESPACE)
            label = ((namespace or {}).get("metadata", {}).get("labels") or {}).get(NETWORK_LABEL)
            if label != values[name]["network"]:
                v.fail(f"[{name}] namespace/{ISTIO_NAMESPACE}.metadata.labels[{NETWORK_LABEL}]",
                       values[name]["network"] or "<its network>", label or "<not set>", namespace)


@check(id="l7-shared-root", title=N_("both clusters sign with intermediates of one root CA"), step="install", points=2,
       timeout=0,
       hint=N_("Create the Secret cacerts in istio-system of each cluster from labs/07-multicluster/certs.sh's files, "
       "before installing Istio (make lab-7 does both); then restart istiod: kubectl -n istio-system rollout restart "
       "deployment/istiod."),
       docs="https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/")
def check_shared_root(clusters):
    with verify() as v:
        roots, intermediates = {}, {}
        for name, cluster in clusters.items():
            secret = cluster.get("Secret", "cacerts", ISTIO_NAMESPACE)
            if not v.match(secret, {}, ref=f"[{name}] secret/cacerts (namespace {ISTIO_NAMESPACE})"):
                continue
            for key in ("root-cert.pem", "ca-cert.pem", "ca-key.pem", "cert-chain.pem"):
                if secret_text(secret, key) is None:
                    v.fail(f"[{name}] secret/cacerts.data[{key}]", "<set>", "<missing>", secret)
            roots[name], intermediates[name] = secret_text(secret, "root-cert.pem"), secret_text(secret, "ca-cert.pem")
        if len(roots) == 2 and len(set(roots.values())) != 1:
            v.fail("root-cert.pem of both clusters", "<the same root certificate>", "<two different roots>")
        if len(intermediates) == 2 and len(set(intermediates.values())) != 2:
            v.fail("ca-cert.pem of both clusters", "<an intermediate CA per cluster>", "<the same one twice>")
