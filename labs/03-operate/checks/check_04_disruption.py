"""Step "budgets": two pods or more per service, a PodDisruptionBudget each, spread over nodes."""

from collections import Counter

from workshop.grading import check, verify
from workshop.grading.kube import selector_matches
from workshop.grading.matcher import MISSING

PDB_DOCS = "https://kubernetes.io/docs/tasks/run-application/configure-pdb/"


@check(id="l3-pdb", title="every service has 2+ pods and a PodDisruptionBudget that lets one go at a time",
       step="budgets", points=2,
       hint="Apply the budgets (kubectl apply -f labs/03-operate/manifests/ applies pdb-*.yaml) and run two replicas "
       "of customer and order. A budget whose selector matches no pod protects nothing: kubectl -n workshop get pdb "
       "shows ALLOWED DISRUPTIONS, which must be 1 or more.",
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
            mine = [pdb for pdb in budgets if selector_matches(pdb["spec"].get("selector"), labels)]
            replicas = deployment["spec"].get("replicas", 1)
            if replicas < 2:
                v.fail(f"deployment/{name}.spec.replicas", "<2 or more>", replicas, deployment)
            if not mine:
                v.fail(f"poddisruptionbudget selecting app={name}", "<one>", "<none>")
                continue
            pdb = mine[0]
            status = pdb.get("status") or {}
            if status.get("disruptionsAllowed", 0) < 1:
                v.fail(f"poddisruptionbudget/{pdb['metadata']['name']}.status.disruptionsAllowed", "<1 or more>",
                       status.get("disruptionsAllowed", 0), pdb)


@check(id="l3-spread", title="the pods of each service run on more than one node", step="budgets", points=1,
       hint="Spread the replicas: the manifests' topologySpreadConstraints (topologyKey kubernetes.io/hostname) ask "
       "the scheduler for it. Existing pods do not move: kubectl -n workshop rollout restart deployment/<name>, "
       "then kubectl -n workshop get pods -o wide shows the NODE of each.",
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
