"""Steps "scale", "rolling update" and "rollback" of account."""

from workshop.grading import N_, check, verify

DOCS = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"


def revision(obj: dict) -> int:
    return int((obj["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))


def service_version(template: dict) -> str | None:
    for container in template["spec"].get("containers") or []:
        for variable in container.get("env") or []:
            if variable.get("name") == "SERVICE_VERSION":
                return variable.get("value")
    return None


def account_replica_sets(cluster, namespace: str) -> list[dict]:
    """account's ReplicaSets, oldest revision first (each revision of a Deployment keeps one)."""
    return sorted(cluster.list("ReplicaSet", namespace, selector={"app": "account"}), key=revision)


@check(id="l2-scaled", title=N_("account runs 2 ready replicas or more"), step="scale", points=1,
       hint=N_("Scale account out: kubectl -n workshop scale deployment/account --replicas=2 (and set replicas: 2 in "
       "your manifest, or the next apply scales it back)."),
       docs=DOCS + "#scaling-a-deployment")
def check_scaled(cluster, namespace):
    # "Or more": later levels run account wider (level 4's canary, 3 pods of v1), and still scaled out.
    account = cluster.get("Deployment", "account", namespace)
    with verify() as v:
        if account is None:
            v.fail("deployment/account", "<it to exist>", "<missing>")
            return
        replicas = account["spec"].get("replicas", 1)
        ready = (account.get("status") or {}).get("readyReplicas", 0)
        if replicas < 2:
            v.fail("deployment/account.spec.replicas", "<2 or more>", replicas, account)
        elif ready < replicas:
            v.fail("deployment/account.status.readyReplicas", replicas, ready, account)


@check(id="l2-rolled-out-v2", title=N_("account was rolled out to v2"), step="rolling update", points=1,
       hint=N_("Roll account out to v2: kubectl apply -f labs/02-orchestrate/steps/app-account-v2.yaml then "
               "kubectl -n workshop rollout status deployment/account. "
               "kubectl -n workshop rollout history deployment/account shows every revision."),
       docs=DOCS + "#updating-a-deployment")
def check_rolled_out_v2(cluster, namespace):
    replica_sets = account_replica_sets(cluster, namespace)
    versions = [service_version(item["spec"]["template"]) for item in replica_sets]
    with verify() as v:
        if "v2" not in versions:
            v.fail("replicasets(app=account).spec.template SERVICE_VERSION", "<one ReplicaSet with v2>",
                   ", ".join(f"{v_} (revision {revision(rs)})" for v_, rs in zip(versions, replica_sets)) or "none")


@check(id="l2-rolled-back", title=N_("account was rolled back to v1 and the rollout finished"), step="rollback",
       points=2, hint=N_("Undo the update: kubectl -n workshop rollout undo deployment/account, then "
                         "kubectl -n workshop rollout status deployment/account. "
                         "kubectl -n workshop rollout history deployment/account shows every revision."),
       docs=DOCS + "#rolling-back-a-deployment")
def check_rolled_back(cluster, namespace):
    deployment = cluster.get("Deployment", "account", namespace)
    with verify() as v:
        if not v.match(deployment, {"spec": {"template": {"metadata": {"labels": {"version": "v1"}}}}},
                       ref="deployment/account"):
            return
        current = service_version(deployment["spec"]["template"])
        if current != "v1":
            v.fail("deployment/account SERVICE_VERSION", "v1", current, deployment)
        older_v2 = [rs for rs in account_replica_sets(cluster, namespace)
                    if service_version(rs["spec"]["template"]) == "v2" and revision(rs) < revision(deployment)]
        if not older_v2:
            v.fail("deployment/account revision history", "<a v2 revision before the current v1 one>",
                   f"<revision {revision(deployment)} with no v2 before it>", deployment)
        status, wanted = deployment.get("status", {}), deployment["spec"].get("replicas", 1)
        finished = {"observedGeneration": deployment["metadata"].get("generation"),
                    "updatedReplicas": wanted, "availableReplicas": wanted, "replicas": wanted}
        for field, value in finished.items():
            if status.get(field) != value:
                v.fail(f"deployment/account.status.{field} (rollout finished)", value, status.get(field), deployment)
