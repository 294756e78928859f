"""Step "self-healing drill": after the drain, every node takes pods again and every workload is whole."""

from workshop.grading import N_, check, verify
from workshop.grading.matcher import MISSING
from workshop.grading.workload import rollout_problems


@check(id="l3-uncordoned", title=N_("no node is left cordoned after the drain drill"), step="self-healing drill",
       points=1, timeout=0,
       hint=N_("kubectl drain leaves the node cordoned (SchedulingDisabled in kubectl get nodes): give it back with "
       "kubectl uncordon <node>."),
       docs="https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/")
def check_uncordoned(cluster):
    with verify() as v:
        for node in cluster.list("Node"):
            if node["spec"].get("unschedulable"):
                v.fail(f"node/{node['metadata']['name']}.spec.unschedulable", "<not set>", True, node)


@check(id="l3-healed", title=N_("every workload has all its replicas ready again"), step="self-healing drill", points=1,
       hint=N_("Kubernetes replaces a deleted or evicted pod within seconds: kubectl -n workshop get deployments shows "
       "READY n/n for each. A pod stuck Pending says why in kubectl -n workshop describe pod (no room on the nodes "
       "left, or a node still cordoned)."),
       docs="https://kubernetes.io/docs/concepts/workloads/controllers/deployment/")
def check_healed(cluster, namespace, workloads):
    with verify() as v:
        for name in workloads:
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                v.fail(f"deployment/{name}", "<it to exist>", MISSING)
                continue
            # Ready counts alone pass a rollout whose new pods are refused: read its conditions too.
            problems = rollout_problems(deployment, f"deployment/{name}")
            for path, expected, got in problems:
                v.fail(path, expected, got, deployment)
            if any("ReplicaFailure" in path for path, _, _ in problems):
                v.hint(f"deployment/{name} cannot create its pods (its ReplicaFailure condition says why, often "
                       f"'violates PodSecurity'): kubectl replace -f labs/03-operate/manifests/app-{name}.yaml")
            elif any(path.endswith(".spec.replicas") for path, _, _ in problems):
                v.hint(f"deployment/{name} runs no pod: kubectl -n workshop scale deployment/{name} --replicas=2")
