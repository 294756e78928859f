"""Step "autoscale": invoice scales on concurrent requests, with a load generator beside it."""

from workshop.grading import N_, PRESENT, check, verify

from level6_knative import AUTOSCALING, NAMESPACE, SERVICE, SERVING


@check(id="l6-concurrency", title=N_("invoice autoscales on concurrency, with a hard limit per pod"), step="autoscale",
       points=1, timeout=0,
       hint=N_("Set autoscaling.knative.dev/metric: concurrency and autoscaling.knative.dev/target on the revision "
       "template, and containerConcurrency in its spec (see labs/06-knative/manifests/service-invoice-80-20.yaml)."),
       docs="https://knative.dev/docs/serving/autoscaling/concurrency/")
def check_concurrency(cluster):
    with verify() as v:
        v.match(cluster.get("Service", SERVICE, NAMESPACE, SERVING), {"spec": {"template": {
            "metadata": {"annotations": {AUTOSCALING + "metric": "concurrency", AUTOSCALING + "target": PRESENT,
                                         AUTOSCALING + "max-scale": PRESENT}},
            "spec": {"containerConcurrency": PRESENT},
        }}}, ref=f"ksvc/{SERVICE} (namespace {NAMESPACE})")


@check(id="l6-loadgen", title=N_("a load generator targets invoice"), step="autoscale", points=1, timeout=0,
       hint=N_("Deploy it: kubectl apply -f labs/06-knative/manifests/app-loadgen.yaml (it idles until you POST /bursts)."),
       docs="https://knative.dev/docs/serving/autoscaling/")
def check_loadgen(cluster):
    with verify() as v:
        v.match(cluster.get("Deployment", "loadgen", NAMESPACE), {"spec": {"template": {"spec": {"containers": [{
            "name": "loadgen",
            "env": [{"name": "TARGET_URL", "value": f"http://{SERVICE}.{NAMESPACE}.svc.cluster.local"}],
        }]}}}}, ref=f"deployment/loadgen (namespace {NAMESPACE})")
