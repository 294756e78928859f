"""Step "autoscale": an autoscaler owns the gateway's replicas, and (on a real cluster) it sees CPU metrics."""

from workshop.grading import N_, PRESENT, check, verify
from workshop.grading.matcher import MISSING

HPA_DOCS = "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale-walkthrough/"


def cpu_metric(hpa: dict) -> dict | None:
    for metric in hpa["spec"].get("metrics") or []:
        if metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu":
            return metric["resource"]
    return None


@check(id="l3-hpa", title=N_("a HorizontalPodAutoscaler scales the gateway on CPU, from 2 pods up"),
       step="autoscale", points=2,
       hint=N_("Create the autoscaler: kubectl apply -f labs/03-operate/manifests/hpa-gateway.yaml (autoscaling/v2, "
       "scaleTargetRef Deployment gateway, minReplicas 2, a cpu Utilization target). It can only compute a "
       "utilization if the gateway's container requests CPU."),
       docs=HPA_DOCS)
def check_hpa(cluster, namespace):
    hpa = cluster.get("HorizontalPodAutoscaler", "gateway", namespace)
    with verify() as v:
        if not v.match(hpa, {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                          "name": "gateway"}}}, ref="horizontalpodautoscaler/gateway"):
            return
        spec = hpa["spec"]
        low, high = spec.get("minReplicas", 1), spec["maxReplicas"]
        if low < 2:
            v.fail("horizontalpodautoscaler/gateway.spec.minReplicas", "<2 or more>", low, hpa)
        if high <= low:
            v.fail("horizontalpodautoscaler/gateway.spec.maxReplicas", f"<more than minReplicas ({low})>", high, hpa)
        metric = cpu_metric(hpa)
        if metric is None or (metric.get("target") or {}).get("type") != "Utilization":
            v.fail("horizontalpodautoscaler/gateway.spec.metrics", "<a Resource metric: cpu, target type Utilization>",
                   spec.get("metrics") or MISSING, hpa)
        elif not 0 < ((metric.get("target") or {}).get("averageUtilization") or 0) <= 100:
            v.fail("horizontalpodautoscaler/gateway.spec.metrics[cpu].target.averageUtilization", "<1 to 100>",
                   (metric.get("target") or {}).get("averageUtilization", MISSING), hpa)
        # An autoscaler whose scale-up is disabled (or allows 0 pods per period) never adds a pod.
        scale_up = (spec.get("behavior") or {}).get("scaleUp") or {}
        if scale_up.get("selectPolicy") == "Disabled":
            v.fail("horizontalpodautoscaler/gateway.spec.behavior.scaleUp.selectPolicy", "<Max or Min, not Disabled>",
                   "Disabled", hpa)
        for index, policy in enumerate(scale_up.get("policies") or []):
            if (policy.get("value") or 0) < 1:
                v.fail(f"horizontalpodautoscaler/gateway.spec.behavior.scaleUp.policies[{index}].value", "<1 or more>",
                       policy.get("value"), hpa)
        if any(m.path.startswith("horizontalpodautoscaler/gateway.spec") for m in v.mismatches):
            v.hint("horizontalpodautoscaler/gateway cannot scale the gateway up as written: kubectl replace -f "
                   "labs/03-operate/manifests/hpa-gateway.yaml")
        deployment = cluster.get("Deployment", "gateway", namespace)
        if deployment is None:
            v.fail("deployment/gateway", "<it to exist>", MISSING)
            return
        v.match(deployment, {"spec": {"template": {"spec": {"containers": [
            {"name": "gateway", "resources": {"requests": {"cpu": PRESENT}}}]}}}}, ref="deployment/gateway")
        replicas = deployment["spec"].get("replicas", 1)
        if replicas < low:  # the autoscaler raises it to minReplicas within seconds, metrics or not
            v.fail("deployment/gateway replicas (set by the autoscaler, within seconds)", f"<{low} or more>", replicas, deployment)


@check(id="l3-hpa-metrics", title=N_("the autoscaler reads the gateway's CPU from metrics-server"), step="autoscale",
       points=1, data_plane=True, timeout=60,
       hint=N_("The autoscaler needs metrics-server: install it (see the page), wait a minute, then kubectl top pods -n "
       "workshop must show CPU. kubectl -n workshop describe hpa gateway says what it lacks (FailedGetResourceMetric)."),
       docs="https://github.com/kubernetes-sigs/metrics-server#readme")
def check_hpa_metrics(cluster, namespace):
    hpa = cluster.get("HorizontalPodAutoscaler", "gateway", namespace)
    with verify() as v:
        if not v.match(hpa, {"status": {"conditions": [{"type": "ScalingActive", "status": "True"}]}},
                       ref="horizontalpodautoscaler/gateway"):
            return
        current = [metric for metric in (hpa.get("status") or {}).get("currentMetrics") or []
                   if (metric.get("resource") or {}).get("name") == "cpu"]
        if not current or (current[0]["resource"].get("current") or {}).get("averageUtilization") is None:
            v.fail("horizontalpodautoscaler/gateway.status.currentMetrics", "<a measured cpu averageUtilization>",
                   (hpa.get("status") or {}).get("currentMetrics") or MISSING, hpa)
