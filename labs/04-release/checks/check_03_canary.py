"""Step "canary": two Deployments of account behind its one Service, the split set by replica counts."""

from workshop.grading import N_, check, verify
from workshop.grading.kube import selector_matches
from workshop.grading.workload import rollout_problems

DOCS = "https://kubernetes.io/docs/concepts/workloads/management/#canary-deployments"
REPLACE = {"v1": "kubectl kustomize manifests/overlays/dev | kubectl replace -f -",
           "v2": "kubectl replace -f labs/04-release/manifests/app-account-v2-canary.yaml"}


def service_version(pod_spec: dict) -> str | None:
    """What the app says it is: the SERVICE_VERSION its account container is started with."""
    for container in pod_spec.get("containers") or []:
        for variable in container.get("env") or []:
            if variable.get("name") == "SERVICE_VERSION":
                return variable.get("value")
    return None


def ready_endpoint_versions(cluster, namespace: str, service: str) -> dict[str, int]:
    """Ready endpoints of a Service counted by the version the pod behind each runs: its
    SERVICE_VERSION, not its label (a label can say v2 on a pod that runs v1)."""
    pods = {pod["metadata"]["name"]: pod for pod in cluster.list("Pod", namespace)}
    counts: dict[str, int] = {}
    for piece in cluster.list("EndpointSlice", namespace, selector={"kubernetes.io/service-name": service}):
        for endpoint in piece.get("endpoints") or []:
            if not (endpoint.get("conditions") or {}).get("ready", True):
                continue
            pod = pods.get((endpoint.get("targetRef") or {}).get("name", ""))
            version = service_version((pod or {}).get("spec") or {}) or "?"
            counts[version] = counts.get(version, 0) + 1
    return counts


@check(id="l4-canary", title=N_("account v2 gets a minority of the calls beside v1, behind the same Service"),
       step="canary", points=2,
       hint=N_("kubectl apply -f labs/04-release/manifests/app-account-v2-canary.yaml, then kubectl -n workshop scale "
       "deployment/account --replicas=3: the account Service selects app=account, so 1 pod of v2 beside 3 of v1 "
       "gets about a quarter of the calls. kubectl -n workshop get pods -l app=account -L version shows both."),
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
        for deployment, label in ((stable, "v1"), (canary, "v2")):
            ref = f"deployment/{deployment['metadata']['name']}"
            runs = service_version(deployment["spec"]["template"]["spec"])
            if runs != label:
                v.fail(f"{ref}.spec.template.spec.containers[name=account].env SERVICE_VERSION",
                       label, runs, deployment)
                v.hint(f"{ref} is labelled version: {label} but runs SERVICE_VERSION={runs}: the label must say "
                       f"what runs: {REPLACE[label]}")
            for path, expected, got in rollout_problems(deployment, ref):
                v.fail(path, expected, got, deployment)
                v.hint(f"Wait for {ref}: kubectl -n workshop rollout status {ref}")
        selector = service["spec"]["selector"]
        for deployment in (stable, canary):
            if not selector_matches(selector, deployment["spec"]["template"]["metadata"]["labels"]):
                v.fail(f"service/account.spec.selector selects deployment/{deployment['metadata']['name']}'s pods",
                       "<yes>", selector, service)
        if selector.get("version"):
            v.fail("service/account.spec.selector.version", "<not set: the Service must select both versions>",
                   selector["version"], service)
            v.hint(f"service/account.spec.selector.version is {selector['version']!r}: the Service must select both "
                   "versions (app: account only). kubectl apply does not remove a key added by hand: kubectl -n "
                   "workshop patch service/account --type=json -p '[{\"op\": \"remove\", \"path\": "
                   "\"/spec/selector/version\"}]'")
        served = ready_endpoint_versions(cluster, namespace, "account")
        v1, v2 = served.get("v1", 0), served.get("v2", 0)
        if not v1 or not v2:
            v.fail("service/account ready endpoints by version", "<v1 and v2 both serving>", served or "<none>", service)
        elif not v2 < v1:
            v.fail("service/account share of v2", f"<less than half: fewer v2 pods than v1 ({v1})>",
                   f"{v2} of {v1 + v2} pods", canary)
            v.hint(f"deployment/account-v2 serves {v2} of {v1 + v2} pods: a canary is a minority, kubectl -n workshop "
                   "scale deployment/account-v2 --replicas=1 and deployment/account --replicas=3.")
