"""Real state on the real-node sim: kind's `standard` StorageClass (local-path-provisioner, built
from its Go module by workshop/sim/storage.py), and the database image as a StatefulSet whose
PersistentVolumeClaim outlives its pod, shared by two account replicas.

What each assertion would catch: no provisioner (the claim stays Pending, the pod unschedulable);
a volume that is not kept (the balance back to the seed after the database pod is replaced); two
replicas that do not share one database (the second debit charged again).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from workshop import REPO_ROOT
from workshop.pytest_cluster import REAL_NODE_SIM

pytestmark = [pytest.mark.slow, pytest.mark.containers]

WAIT = 180
IMAGE_REPO = os.environ.get("IMAGE_REPO") or "localhost/workshop"
SEED_BALANCE = 10_000 - 700 - 250

MANIFEST = """
apiVersion: v1
kind: Secret
metadata: {name: account-db}
stringData: {password: not-the-default}
---
apiVersion: v1
kind: Service
metadata: {name: account-db, labels: {app: account-db}}
spec:
  clusterIP: None   # headless: account-db-0.account-db names the pod
  selector: {app: account-db}
  ports: [{name: postgres, port: 5432, targetPort: postgres}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: account-db}
spec:
  serviceName: account-db
  replicas: 1
  selector: {matchLabels: {app: account-db}}
  template:
    metadata: {labels: {app: account-db}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001,
                        seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: postgres
        image: %(postgres)s
        imagePullPolicy: Never
        ports: [{name: postgres, containerPort: 5432}]
        env:
        - {name: POSTGRES_USER, value: account}
        - {name: POSTGRES_DB, value: account}
        - name: POSTGRES_PASSWORD
          valueFrom: {secretKeyRef: {name: account-db, key: password}}
        readinessProbe: {exec: {command: [workshop-postgres-ready]}, periodSeconds: 2}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
                          capabilities: {drop: [ALL]}}
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: tmp, emptyDir: {}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: account}
spec:
  replicas: 2
  selector: {matchLabels: {app: account}}
  template:
    metadata: {labels: {app: account}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001,
                        seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: account
        image: %(account)s
        imagePullPolicy: Never
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: DATABASE_URL, value: "postgresql://account@account-db:5432/account"}
        - name: PGPASSWORD
          valueFrom: {secretKeyRef: {name: account-db, key: password}}
        readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 2}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
                          capabilities: {drop: [ALL]}}
        volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes:
      - {name: tmp, emptyDir: {}}
"""


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = WAIT):
    return subprocess.run([str(REPO_ROOT / ".bin" / "kubectl"), f"--kubeconfig={kubeconfig}", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def wait_for(what: str, condition, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def images():
    subprocess.run([str(REPO_ROOT / "scripts" / "containers" / "build.sh"), "postgres", "account"],
                   env={**os.environ, "IMAGE_REPO": IMAGE_REPO}, check=True, timeout=900)
    return {name: f"{IMAGE_REPO}/{name}:dev" for name in ("postgres", "account")}


@pytest.fixture(scope="module")
def app(real_kubeconfig, images):
    from workshop.sim.cluster import Sim

    Sim(REAL_NODE_SIM).load(list(images.values()))
    namespace = f"t-real-storage-{os.getpid()}"
    assert kubectl(real_kubeconfig, "create", "namespace", namespace).returncode == 0
    try:
        applied = kubectl(real_kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=MANIFEST % images)
        assert applied.returncode == 0, applied.stderr
        for target in ("statefulset/account-db", "deployment/account"):
            rollout = kubectl(real_kubeconfig, "-n", namespace, "rollout", "status", target, f"--timeout={WAIT}s",
                              timeout=WAIT + 30)
            assert rollout.returncode == 0, rollout.stderr + describe(real_kubeconfig, namespace)
        yield namespace
    finally:
        kubectl(real_kubeconfig, "delete", "namespace", namespace, "--wait=false")


def describe(kubeconfig: Path, namespace: str) -> str:
    return kubectl(kubeconfig, "-n", namespace, "get", "pods,pvc,events", "-o", "wide").stdout


def account_pods(kubeconfig: Path, namespace: str) -> list[str]:
    out = kubectl(kubeconfig, "-n", namespace, "get", "pods", "-l", "app=account", "-o", "name").stdout
    return sorted(line.split("/", 1)[1] for line in out.split())


# Run in the pod itself: kubectl's raw POST through the API server's proxy sends no JSON content type.
REQUEST = """import json, sys, urllib.request
body = sys.argv[2].encode() if len(sys.argv) > 2 else None
req = urllib.request.Request("http://127.0.0.1:8080" + sys.argv[1], data=body, headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
"""


def through(kubeconfig: Path, namespace: str, pod: str, path: str, body: dict | None = None) -> dict:
    """One request to one replica, from inside its pod."""
    args = [path] + ([json.dumps(body)] if body is not None else [])
    result = kubectl(kubeconfig, "-n", namespace, "exec", pod, "--", "python3", "-c", REQUEST, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_standard_is_the_default_storage_class_and_the_claim_is_bound_on_the_pods_node(real_kubeconfig, app):
    sc = json.loads(kubectl(real_kubeconfig, "get", "storageclass", "standard", "-o", "json").stdout)
    assert sc["provisioner"] == "rancher.io/local-path" and sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    claim = json.loads(kubectl(real_kubeconfig, "-n", app, "get", "pvc", "data-account-db-0", "-o", "json").stdout)
    assert claim["status"]["phase"] == "Bound"
    volume = json.loads(kubectl(real_kubeconfig, "get", "pv", claim["spec"]["volumeName"], "-o", "json").stdout)
    node = kubectl(real_kubeconfig, "-n", app, "get", "pod", "account-db-0", "-o", "jsonpath={.spec.nodeName}").stdout
    terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == [node]
    assert Path(volume["spec"]["hostPath"]["path"], "pgdata", "PG_VERSION").is_file()


def test_two_replicas_share_the_database_and_it_outlives_its_pod(real_kubeconfig, app):
    first, second = account_pods(real_kubeconfig, app)
    debit = {"amount_cents": 1234, "reference": f"order-1-{os.getpid()}"}
    charged = through(real_kubeconfig, app, first, "/accounts/1/debits", debit)
    replayed = through(real_kubeconfig, app, second, "/accounts/1/debits", debit)
    assert charged["replayed"] is False and replayed["replayed"] is True
    assert replayed["balance_cents"] == charged["balance_cents"] == SEED_BALANCE - 1234

    # The database's pod goes (a drain, a crash): its StatefulSet makes account-db-0 again, on the same claim.
    uid = kubectl(real_kubeconfig, "-n", app, "get", "pod", "account-db-0", "-o", "jsonpath={.metadata.uid}").stdout
    assert kubectl(real_kubeconfig, "-n", app, "delete", "pod", "account-db-0").returncode == 0
    wait_for("a new account-db-0", lambda: kubectl(real_kubeconfig, "-n", app, "get", "pod", "account-db-0",
                                                   "-o", "jsonpath={.metadata.uid}").stdout not in ("", uid))
    ready = kubectl(real_kubeconfig, "-n", app, "wait", "pod/account-db-0", "--for=condition=Ready", f"--timeout={WAIT}s",
                    timeout=WAIT + 30)
    assert ready.returncode == 0, ready.stderr + describe(real_kubeconfig, app)
    wait_for("both accounts ready again", lambda: all(
        kubectl(real_kubeconfig, "get", "--raw", f"/api/v1/namespaces/{app}/pods/{pod}:8080/proxy/readyz").returncode == 0
        for pod in (first, second)))
    for pod in (first, second):
        assert through(real_kubeconfig, app, pod, "/accounts/1")["balance_cents"] == SEED_BALANCE - 1234
