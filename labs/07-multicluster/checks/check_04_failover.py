"""Steps "account in both clusters" and "failover"."""

from workshop.grading import PRESENT, check, verify

from level7_mesh import NAMESPACE, has_ready_sidecar

DOCS = "https://istio.io/latest/docs/tasks/traffic-management/locality-load-balancing/failover/"


@check(id="l7-account-both", title="account runs, with a sidecar, in both clusters", step="account in both clusters",
       points=2, timeout=3,
       hint="Deploy it in each cluster: kubectl --context kind-<cluster> apply -f labs/07-multicluster/manifests/"
       "namespace-workshop.yaml -f labs/07-multicluster/manifests/app-account-<cluster>.yaml (and kind load "
       "docker-image workshop/account:dev --name <cluster> first).",
       docs="https://istio.io/latest/docs/ops/configuration/traffic-management/multicluster/")
def check_account_both(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            deployment = cluster.get("Deployment", "account", NAMESPACE)
            if not v.match(deployment, {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
                           ref=f"[{name}] deployment/account (namespace {NAMESPACE})"):
                continue
            pods = cluster.pods_of(deployment)
            if not any(has_ready_sidecar(pod) for pod in pods):
                v.fail(f"[{name}] pods of deployment/account", "<a ready istio-proxy sidecar>",
                       f"<{len(pods)} pod(s), none with a ready sidecar: is namespace {NAMESPACE} labelled "
                       "istio-injection=enabled?>", deployment)
            v.match(cluster.get("Service", "account", NAMESPACE), {}, ref=f"[{name}] service/account")


@check(id="l7-failover", title="account prefers its own region and fails over to the other", step="failover",
       points=2, timeout=0,
       hint="Apply in both clusters: kubectl --context kind-<cluster> apply -f labs/07-multicluster/manifests/"
       "destination-rule-account-failover.yaml (locality load balancing needs outlierDetection to act).",
       docs=DOCS)
def check_failover(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            v.match(cluster.get("DestinationRule", "account", NAMESPACE), {"spec": {"trafficPolicy": {
                "loadBalancer": {"localityLbSetting": {"enabled": True, "failover": [{"from": name, "to": PRESENT}]}},
                "outlierDetection": {"baseEjectionTime": PRESENT},
            }}}, ref=f"[{name}] destinationrule/account (namespace {NAMESPACE})")
