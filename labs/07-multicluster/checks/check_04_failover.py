"""Steps "account in both clusters" and "failover"."""

from workshop.grading import N_, PRESENT, check, verify

from level7_mesh import NAMESPACE, answers_from, has_ready_sidecar

DOCS = "https://istio.io/latest/docs/tasks/traffic-management/locality-load-balancing/failover/"


@check(id="l7-account-both", title=N_("account runs, with a sidecar, in both clusters"), step="account in both clusters",
       points=2, timeout=3,
       hint=N_("Deploy it in each cluster: kubectl --context kind-<cluster> apply -f labs/07-multicluster/manifests/"
       "namespace-workshop.yaml -f labs/07-multicluster/manifests/app-account-<cluster>.yaml (and kind load "
       "docker-image localhost/workshop/account:dev --name <cluster> first)."),
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


@check(id="l7-failover", title=N_("account prefers its own region and fails over to the other"), step="failover",
       points=2, timeout=0,
       hint=N_("Apply in both clusters: kubectl --context kind-<cluster> apply -f labs/07-multicluster/manifests/"
       "destination-rule-account-failover.yaml (locality load balancing needs outlierDetection to act)."),
       docs=DOCS)
def check_failover(clusters):
    with verify() as v:
        for name, cluster in clusters.items():
            v.match(cluster.get("DestinationRule", "account", NAMESPACE), {"spec": {"trafficPolicy": {
                "loadBalancer": {"localityLbSetting": {"enabled": True, "failover": [{"from": name, "to": PRESENT}]}},
                "outlierDetection": {"baseEjectionTime": PRESENT},
            }}}, ref=f"[{name}] destinationrule/account (namespace {NAMESPACE})")


@check(id="l7-cross-cluster", title=N_("a call from one cluster has been answered by account in the other"), step="failover",
       points=2, timeout=20, data_plane=True,
       hint=N_("Nothing the client in one cluster sent has been answered across clusters yet. Do step 4's calls (before "
       "the failover rule, about half go to the other cluster) or step 5's failover (account scaled to 0 in east). "
       "If the calls still stay home or fail, the path between the clusters is broken: see l7-eastwest, "
       "l7-mesh-networks and l7-remote-secrets."),
       docs=DOCS)
def check_cross_cluster(clusters):
    from workshop.grading.httpprobe import ServiceProxy, probe

    with verify() as v:
        callers = [name for name, cluster in clusters.items() if cluster.get("Service", "loadgen", NAMESPACE)]
        if not callers:
            v.fail(f"service/loadgen (namespace {NAMESPACE}) in either cluster", "<the client of step 4>", "<none>")
            return
        caller = callers[0]
        pods = {name: {pod["metadata"]["name"] for pod in cluster.list("Pod", NAMESPACE, selector={"app": "account"})}
                for name, cluster in clusters.items()}
        # A few calls now (read-only for the cluster), then loadgen's record of every call since it started.
        answer = probe("/calls?count=8", [ServiceProxy(clusters[caller], NAMESPACE, "loadgen", "http")])
        if answer.status != 200:
            v.fail(f"[{caller}] GET loadgen /calls", 200, answer.status)
            return
        counts = answers_from(answer.json().get("answered_by") or {}, pods)
        others = {name: count for name, count in counts.items() if name != caller}
        if not any(others.values()):
            v.fail(f"[{caller}] answers to loadgen's calls, by cluster", "<at least one from another cluster>",
                   counts or "<none from a pod of account>")
