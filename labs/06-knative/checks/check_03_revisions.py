"""Steps "revisions" and "traffic split": two named revisions, 80/20 between them, with tags."""

from workshop.grading import N_, check, verify

from level6_knative import NAMESPACE, REVISIONS, SERVICE, SERVING, SPLIT, ready_problem, routes, split_problems

DOCS = "https://knative.dev/docs/serving/traffic-management/"
SPLIT_TEXT = ", ".join(f"{name} {percent}% tag {tag}" for name, percent, tag in SPLIT)


@check(id="l6-revisions", title=N_("invoice has the revisions invoice-v1 and invoice-v2, both Ready"), step="revisions",
       points=2, timeout=2,
       hint=N_("Name each revision in spec.template.metadata.name: apply labs/06-knative/manifests/service-invoice-v1.yaml, "
       "then service-invoice-v2-candidate.yaml; kubectl -n serverless get revisions lists them."),
       docs="https://knative.dev/docs/serving/revisions/")
def check_revisions(cluster):
    revisions = cluster.list("Revision", NAMESPACE, SERVING, selector={"serving.knative.dev/service": SERVICE})
    by_name = {item["metadata"]["name"]: item for item in revisions}
    with verify() as v:
        missing = [name for name in REVISIONS if name not in by_name]
        if missing:
            v.fail(f"revisions of ksvc/{SERVICE} (namespace {NAMESPACE})", " and ".join(REVISIONS),
                   f"{len(revisions)}: {', '.join(sorted(by_name)) or 'none'}")
        for name in REVISIONS:
            if name in by_name:
                problem = ready_problem(by_name[name])
                if problem:
                    v.fail(f"revision/{name}.status.conditions[Ready]", "True", problem, by_name[name])


@check(id="l6-traffic", title=f"traffic is split {SPLIT_TEXT}", step="traffic split", points=2, timeout=2,
       hint=N_("Apply the split: kubectl apply -f labs/06-knative/manifests/service-invoice-80-20.yaml, then "
       "kubectl -n serverless get ksvc invoice -o jsonpath='{.status.traffic}' shows what Knative routes."),
       docs=DOCS)
def check_traffic(cluster):
    service = cluster.get("Service", SERVICE, NAMESPACE, SERVING)
    with verify() as v:
        if not v.match(service, {}, ref=f"ksvc/{SERVICE} (namespace {NAMESPACE})"):
            return
        # spec.traffic is what you asked for; status.traffic is what Knative routes now.
        asked = (service.get("spec") or {}).get("traffic")
        problems = split_problems(asked)
        if problems:
            v.fail(f"ksvc/{SERVICE}.spec.traffic", SPLIT_TEXT,
                   f"{', '.join(routes(asked)) or 'none'} ({'; '.join(problems)})", service)
        else:
            routed = (service.get("status") or {}).get("traffic")
            problems = split_problems(routed)
            if problems:
                v.fail(f"ksvc/{SERVICE}.status.traffic (what Knative routes)", SPLIT_TEXT,
                       f"{', '.join(routes(routed)) or 'nothing yet'} ({'; '.join(problems)})", service)
