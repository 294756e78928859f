"""Steps "deploy" and "scale to zero": invoice is a Ready Knative Service that may scale to zero."""

from workshop.grading import N_, check, verify

from level6_knative import AUTOSCALING, KNATIVE_NAMESPACE, NAMESPACE, SERVICE, SERVING, ready_problem, \
    template_annotations

DOCS = "https://knative.dev/docs/serving/"


@check(id="l6-ready", title=N_("the Knative Service invoice is Ready"), step="deploy", points=2, timeout=2,
       hint=N_("Ask Knative why not: kubectl -n serverless get ksvc,revisions invoice, then kubectl -n serverless "
       "describe revision <name> (an image that is not loaded: kind load docker-image localhost/workshop/invoice:dev)."),
       docs=DOCS + "services/creating-services/")
def check_ready(cluster):
    service = cluster.get("Service", SERVICE, NAMESPACE, SERVING)
    with verify() as v:
        if v.match(service, {}, ref=f"ksvc/{SERVICE} (namespace {NAMESPACE})"):
            problem = ready_problem(service)
            if problem:
                v.fail(f"ksvc/{SERVICE}.status.conditions[Ready]", "True", problem, service)


@check(id="l6-scale-to-zero", title=N_("invoice may scale to zero after a short quiet spell"), step="scale to zero",
       points=2, timeout=0,
       hint=N_("Let it scale to zero: set autoscaling.knative.dev/min-scale: \"0\" on the revision template, as "
       "labs/06-knative/manifests/service-invoice-v1.yaml does, then kubectl apply -f it."),
       docs=DOCS + "autoscaling/scale-to-zero/")
def check_scale_to_zero(cluster):
    service = cluster.get("Service", SERVICE, NAMESPACE, SERVING)
    with verify() as v:
        if not v.match(service, {"spec": {"template": {"metadata": {"annotations": {
                AUTOSCALING + "min-scale": "0",
                AUTOSCALING + "scale-to-zero-pod-retention-period": "0s"}}}}},
                ref=f"ksvc/{SERVICE} (namespace {NAMESPACE})"):
            return
        window = template_annotations(service).get(AUTOSCALING + "window")
        if window is None:
            v.fail(f"ksvc/{SERVICE}.spec.template.metadata.annotations[{AUTOSCALING}window]",
                   "<a window shorter than the 60s default, e.g. 20s>", "<not set>", service)
        autoscaler = cluster.get("ConfigMap", "config-autoscaler", KNATIVE_NAMESPACE)
        enabled = ((autoscaler or {}).get("data") or {}).get("enable-scale-to-zero", "true")
        if enabled != "true":
            v.fail("configmap/config-autoscaler.data.enable-scale-to-zero", "true (the default)", enabled, autoscaler)
