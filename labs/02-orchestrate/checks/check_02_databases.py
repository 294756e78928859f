"""Step "apply": each stateful service keeps its data in a database of its own (database-per-service).

customer, order and account each run a PostgreSQL StatefulSet, `<service>-db`, whose claim
`data-<service>-db-0` is Bound to a volume; their Deployments reach it through DATABASE_URL and keep
nothing in the pod (an emptyDir dies with its pod, and each replica would have its own).
The Secrets are not read: the `view` role a learner may grade with cannot read them.
"""

from level2 import MANIFEST, templates

from workshop.grading import N_, check, verify
from workshop.grading.matcher import MISSING
from workshop.grading.workload import containers_of

STATEFUL = ("customer", "order", "account")
DATABASE = "labs/02-orchestrate/manifests/database-{name}.yaml"
DOCS = "https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/"


def statefulset_problems(statefulset: dict, ref: str) -> list[tuple[str, object, object]]:
    """(path, expected, got) unless the StatefulSet's rollout finished with 1 pod or more, all ready."""
    status = statefulset.get("status") or {}
    generation = statefulset["metadata"].get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return [(f"{ref}.status.observedGeneration", generation, status.get("observedGeneration"))]
    wanted = statefulset["spec"].get("replicas", 1)
    if wanted < 1:
        return [(f"{ref}.spec.replicas", "<1 or more>", wanted)]
    problems = [(f"{ref}.status.{field}", wanted, status.get(field, 0))
                for field in ("readyReplicas", "updatedReplicas") if status.get(field, 0) != wanted]
    if status.get("currentRevision") != status.get("updateRevision"):
        problems.append((f"{ref}.status.currentRevision", status.get("updateRevision"), status.get("currentRevision")))
    return problems


def unmatched_node_selector(cluster, statefulset: dict) -> dict:
    """The pod template's nodeSelector when no node carries all its labels (a cluster made before
    kind-cluster.yaml labelled the storage worker), else {}."""
    selector = statefulset["spec"]["template"]["spec"].get("nodeSelector") or {}
    for node in cluster.list("Node"):
        labels = node["metadata"].get("labels") or {}
        if all(labels.get(key) == value for key, value in selector.items()):
            return {}
    return selector


@check(id="l2-databases", title=N_("each stateful service has its database running, on a Bound claim"), step="apply",
       points=2, hint=N_("Apply the databases and wait for them: kubectl apply -f labs/02-orchestrate/manifests/"
       "database-<service>.yaml, then kubectl -n workshop rollout status statefulset/<service>-db (a claim that stays "
       "Pending says why in kubectl -n workshop describe pvc)."),
       docs=DOCS)
def check_databases(cluster, namespace):
    with verify() as v:
        for name in STATEFUL:
            db = f"{name}-db"
            fix = f"kubectl apply -f {DATABASE.format(name=name)}"
            statefulset = cluster.get("StatefulSet", db, namespace)
            if statefulset is None:
                v.fail(f"statefulset/{db}", "<it to exist>", MISSING)
                v.hint(f"Create {name}'s database, statefulset/{db}: {fix}")
                continue
            problems = statefulset_problems(statefulset, f"statefulset/{db}")
            for path, expected, got in problems:
                v.fail(path, expected, got, statefulset)
            if any(path.endswith(".spec.replicas") for path, _, _ in problems):
                v.hint(f"statefulset/{db} runs no pod, so {name} has no data: kubectl -n workshop scale "
                       f"statefulset/{db} --replicas=1 (the claim kept the data).")
            elif problems and (unmatched := unmatched_node_selector(cluster, statefulset)):
                v.fail(f"statefulset/{db}.spec.template.spec.nodeSelector", "<a node with these labels>", unmatched,
                       statefulset)
                labels = ",".join(f"{key}={value}" for key, value in unmatched.items())
                v.hint(f"No node has the labels {db} asks for, so its pod waits Pending: kubectl label node "
                       f"workshop-worker2 {labels} (a cluster made from labs/00-setup/kind-cluster.yaml has it).")
            elif problems:
                v.hint(f"Wait for statefulset/{db}: kubectl -n workshop rollout status statefulset/{db} (kubectl -n "
                       f"workshop describe pod {db}-0 says why it is not ready).")
            if not statefulset["spec"].get("volumeClaimTemplates"):
                v.fail(f"statefulset/{db}.spec.volumeClaimTemplates", "<a claim per pod>", MISSING, statefulset)
                v.hint(f"statefulset/{db} keeps its data in no claim: it dies with the pod. {fix}")
                continue
            claim_name = f"{statefulset['spec']['volumeClaimTemplates'][0]['metadata']['name']}-{db}-0"
            claim = cluster.get("PersistentVolumeClaim", claim_name, namespace)
            phase = ((claim or {}).get("status") or {}).get("phase", MISSING)
            if phase != "Bound":
                v.fail(f"persistentvolumeclaim/{claim_name}.status.phase", "Bound", phase, claim)
                v.hint(f"persistentvolumeclaim/{claim_name} ({db}'s data) is not Bound: kubectl -n workshop describe "
                       f"pvc {claim_name} says why (no default StorageClass, or its pod is not scheduled yet).")


@check(id="l2-state", title=N_("the stateful services keep their data in their database, not in the pod"),
       step="apply", points=1, timeout=0,
       hint=N_("customer, order and account each read DATABASE_URL (postgresql://<service>@<service>-db:5432/<service>) "
       "and PGPASSWORD from the Secret <service>-db, as in labs/02-orchestrate/manifests/app-<service>.yaml"),
       docs="https://kubernetes.io/docs/concepts/storage/volumes/#emptydir")
def check_state(cluster, namespace):
    with verify() as v:
        for name, deployment, spec, prefix in templates(cluster, namespace, STATEFUL, v):
            fix = f"kubectl replace -f {MANIFEST.format(name=name)}"
            scratch = {volume["name"] for volume in spec.get("volumes") or [] if "emptyDir" in volume}
            for path, container in containers_of({"containers": spec.get("containers")}, prefix):
                env = {item.get("name"): item for item in container.get("env") or []}
                url = (env.get("DATABASE_URL") or {}).get("value", MISSING)
                if not (isinstance(url, str) and url.startswith("postgresql://") and f"@{name}-db:" in url):
                    v.fail(f"{path}.env[name=DATABASE_URL]", f"postgresql://{name}@{name}-db:5432/{name}", url,
                           deployment)
                    v.hint(f"deployment/{name} does not use its database {name}-db: without DATABASE_URL each pod "
                           f"keeps its own SQLite file, lost with the pod and different in each replica. {fix}")
                secret = (((env.get("PGPASSWORD") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
                if secret != f"{name}-db":
                    v.fail(f"{path}.env[name=PGPASSWORD].valueFrom.secretKeyRef.name", f"{name}-db",
                           secret or MISSING, deployment)
                    v.hint(f"deployment/{name} needs the password of {name}-db from its Secret (never a value in the "
                           f"manifest): {fix}")
                data_dir = (env.get("DATA_DIR") or {}).get("value", "/data")
                for mount in container.get("volumeMounts") or []:
                    if mount.get("name") in scratch and mount.get("mountPath", "").rstrip("/") == data_dir.rstrip("/"):
                        v.fail(f"{path}.volumeMounts[name={mount['name']}]", "<no emptyDir for the data>",
                               f"emptyDir at {mount['mountPath']}", deployment)
                        v.hint(f"deployment/{name} keeps data in an emptyDir ({mount['name']}): it is thrown away "
                               f"with the pod (a drain deletes it). Its data belongs in {name}-db: {fix}")
