"""Step "canary": two Deployments of account behind its one Service, the split set by replica counts."""

from workshop.grading import check, verify
from workshop.grading.kube import selector_matches

DOCS = "https://kubernetes.io/docs/concepts/workloads/management/#canary-deployments"


def ready_endpoint_versions(cluster, namespace: str, service: str) -> dict[str, int]:
    """Ready endpoints of a Service counted by the version label of the pod behind each."""
    pods = {pod["metadata"]["name"]: pod for pod in cluster.list("Pod", namespace)}
    counts: dict[str, int] = {}
    for piece in cluster.list("EndpointSlice", namespace, selector={"kubernetes.io/service-name": service}):
        for endpoint in piece.get("endpoints") or []:
            if not (endpoint.get("conditions") or {}).get("ready", True):
                continue
            pod = pods.get((endpoint.get("targetRef") or {}).get("name", ""))
            version = ((pod or {}).get("metadata", {}).get("labels") or {}).get("version", "?")
            counts[version] = counts.get(version, 0) + 1
    return counts


@check(id="l4-canary", title="account v2 gets a minority of the calls beside v1, behind the same Service",
       step="canary", points=2,
       hint="kubectl apply -f labs/04-release/manifests/app-account-v2-canary.yaml, then kubectl -n workshop scale "
       "deployment/account --replicas=3: the account Service selects app=account, so 1 pod of v2 beside 3 of v1 "
       "gets about a quarter of the calls. kubectl -n workshop get pods -l app=account -L version shows both.",
       docs=DOCS)
def check_canary(cluster, namespace):
    stable, canary = cluster.get("Deployment", "account", namespace), cluster.get("Deployment", "account-v2", namespace)
    service = cluster.get("Service", "account", namespace)
    with verify() as v:
        present = [v.match(stable, {"spec": {"template": {"metadata": {"labels": {"version": "v1"}}}}},
                           ref="deployment/account"),
                   v.match(canary, {"spec": {"template": {"metadata": {"labels": {"app": "account", "version": "v2"}}}}},
                           ref="deployment/account-v2"),
                   v.match(service, {"spec": {"selector": {"app": "account"}}}, ref="service/account")]
        if not all(present):
            return
        selector = service["spec"]["selector"]
        for deployment in (stable, canary):
            if not selector_matches(selector, deployment["spec"]["template"]["metadata"]["labels"]):
                v.fail(f"service/account.spec.selector selects deployment/{deployment['metadata']['name']}'s pods",
                       "<yes>", selector, service)
        if selector.get("version"):
            v.fail("service/account.spec.selector.version", "<not set: the Service must select both versions>",
                   selector["version"], service)
        served = ready_endpoint_versions(cluster, namespace, "account")
        v1, v2 = served.get("v1", 0), served.get("v2", 0)
        if not v1 or not v2:
            v.fail("service/account ready endpoints by version", "<v1 and v2 both serving>", served or "<none>", service)
        elif not v2 < v1:
            v.fail("service/account share of v2", f"<less than half: fewer v2 pods than v1 ({v1})>",
                   f"{v2} of {v1 + v2} pods", canary)
