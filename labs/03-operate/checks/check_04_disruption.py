"""Step "budgets": two pods or more per service, a PodDisruptionBudget each, spread over nodes."""

import math
from collections import Counter

from workshop.grading import N_, check, verify
from workshop.grading.kube import selector_matches
from workshop.grading.matcher import MISSING

PDB_DOCS = "https://kubernetes.io/docs/tasks/run-application/configure-pdb/"


@check(id="l3-pdb", title=N_("every service has 2+ pods and a PodDisruptionBudget that lets one go at a time"),
       step="budgets", points=2,
       hint=N_("Apply the budgets (kubectl apply -f labs/03-operate/manifests/ applies pdb-*.yaml) and run two replicas "
       "of customer and order. A budget whose selector matches no pod protects nothing: kubectl -n workshop get pdb "
       "shows ALLOWED DISRUPTIONS, which must be 1 or more."),
       docs=PDB_DOCS)
def check_pdb(cluster, namespace, services):
    budgets = cluster.list("PodDisruptionBudget", namespace)
    with verify() as v:
        for name in services:
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                v.fail(f"deployment/{name}", "<it to exist>", MISSING)
                continue
            labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
            # Every budget selecting these pods counts, as for the eviction API (which refuses a
            # pod that more than one selects).
            mine = [pdb for pdb in budgets if pdb_selects(pdb, labels)]
            replicas = deployment["spec"].get("replicas", 1)
            autoscaled = any(((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name
                             for hpa in cluster.list("HorizontalPodAutoscaler", namespace))
            if replicas < 2:
                # An autoscaler's replicas change by themselves: a path --wait waits for (not .spec.).
                v.fail(f"deployment/{name} replicas (set by its autoscaler)" if autoscaled else
                       f"deployment/{name}.spec.replicas", "<2 or more>", replicas, deployment)
                v.hint(f"deployment/{name} runs {replicas} pod(s): kubectl -n workshop scale deployment/{name} "
                       "--replicas=2 (and keep replicas: 2 in labs/03-operate/manifests/app-{name}.yaml).")
            if not mine:
                v.fail(f"poddisruptionbudget selecting app={name}", "<one>", "<none>")
                v.hint(f"No budget selects deployment/{name}'s pods: kubectl apply -f "
                       f"labs/03-operate/manifests/pdb-{name}.yaml")
                continue
            if len(mine) > 1:
                names = ", ".join(f"poddisruptionbudget/{pdb['metadata']['name']}" for pdb in mine)
                v.fail(f"poddisruptionbudgets selecting app={name}", "<exactly one: a drain fails on a pod that more "
                       "than one selects>", names)
                extra = [pdb["metadata"]["name"] for pdb in mine if pdb["metadata"]["name"] != name]
                v.hint(f"Several budgets select deployment/{name}'s pods ({names}): kubectl -n workshop delete pdb "
                       f"{' '.join(extra) or name} so that only poddisruptionbudget/{name} stays.")
            for pdb in mine:
                for path, expected, got in budget_problems(pdb, replicas):
                    v.fail(path, expected, got, pdb)
                    v.hint(f"poddisruptionbudget/{pdb['metadata']['name']} must keep a pod and let one go: "
                           f"kubectl replace -f labs/03-operate/manifests/pdb-{name}.yaml")


def pdb_selects(pdb: dict, labels: dict) -> bool:
    """policy/v1: a missing selector selects no pod, an empty one ({}) every pod of the namespace."""
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return False
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return True
    return selector_matches(selector, labels)


def budget_problems(pdb: dict, replicas: int) -> list[tuple[str, object, object]]:
    """A budget that protects nothing (0 kept, 100% may go) or blocks every drain (none may go)."""
    spec, ref = pdb.get("spec") or {}, f"poddisruptionbudget/{pdb['metadata']['name']}"
    problems = []
    for field, value in (("maxUnavailable", spec.get("maxUnavailable")), ("minAvailable", spec.get("minAvailable"))):
        if value is None:
            continue
        count = percent_of(value, replicas)
        kept = replicas - count if field == "maxUnavailable" else count
        if kept < 1:
            problems.append((f"{ref}.spec.{field}", "<a value that keeps 1 pod or more>", value))
    status = pdb.get("status") or {}
    if not problems and status.get("disruptionsAllowed", 0) < 1:
        problems.append((f"{ref}.status.disruptionsAllowed", "<1 or more>", status.get("disruptionsAllowed", 0)))
    return problems


def percent_of(value, replicas: int) -> int:
    """An int or a percentage of the replicas, rounded as the disruption controller does (up)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        return math.ceil(float(text[:-1]) * replicas / 100)
    return int(text) if text.isdigit() else 0


@check(id="l3-spread", title=N_("the pods of each service run on more than one node"), step="budgets", points=1,
       hint=N_("Spread the replicas: the manifests' topologySpreadConstraints (topologyKey kubernetes.io/hostname) ask "
       "the scheduler for it. Existing pods do not move: kubectl -n workshop rollout restart deployment/<name>, "
       "then kubectl -n workshop get pods -o wide shows the NODE of each."),
       docs="https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/")
def check_spread(cluster, namespace, services):
    with verify() as v:
        for name in services:
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                v.fail(f"deployment/{name}", "<it to exist>", MISSING)
                continue
            nodes = Counter(pod["spec"].get("nodeName") for pod in cluster.pods_of(deployment)
                            if pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"))
            if len(nodes) < 2:
                v.fail(f"deployment/{name} pods by node", "<pods on 2 nodes or more>",
                       dict(nodes) or "<no scheduled pod>", deployment)
