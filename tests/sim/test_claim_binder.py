"""The KWOK sim's stand-in for local-path-provisioner (workshop/sim/claim_binder.py): it binds what
the real provisioner would bind, when it would, and nothing else, so no check passes on the sim
that kind would fail.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time

import pytest

from workshop import REPO_ROOT
from workshop.sim.claim_binder import PROVISIONER, SELECTED_NODE, storage_class, volume_for

CLASSES = {"standard": PROVISIONER, "other": "example.com/elsewhere"}
CLAIM = {
    "metadata": {"name": "data-order-db-0", "namespace": "workshop", "uid": "1234",
                 "annotations": {SELECTED_NODE: "workshop-worker2"}},
    "spec": {"storageClassName": "standard", "accessModes": ["ReadWriteOnce"],
             "resources": {"requests": {"storage": "1Gi"}}},
    "status": {"phase": "Pending"},
}


def changed(**fields) -> dict:
    claim = copy.deepcopy(CLAIM)
    for path, value in fields.items():
        *parents, last = path.split("__")
        target = claim
        for key in parents:
            target = target[key]
        if value is None:
            target.pop(last)
        else:
            target[last] = value
    return claim


def test_a_claim_whose_pod_has_a_node_gets_a_volume_on_that_node():
    volume = volume_for(CLAIM, CLASSES)
    assert volume["spec"]["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                          "namespace": "workshop", "name": "data-order-db-0", "uid": "1234"}
    terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["workshop-worker2"]
    assert volume["spec"]["capacity"] == {"storage": "1Gi"} and volume["spec"]["storageClassName"] == "standard"


@pytest.mark.parametrize("claim", [
    changed(metadata__annotations={}),                            # no pod scheduled yet (or scaled to 0)
    changed(spec__storageClassName="other"),                      # another provisioner's class
    changed(spec__storageClassName="missing"),                    # a class that does not exist
    changed(spec__accessModes=["ReadWriteMany"]),                 # local-path cannot share a folder across nodes
    changed(spec__volumeMode="Block"),
    changed(spec__selector={"matchLabels": {"disk": "fast"}}),
    changed(status__phase="Bound"),
], ids=["no-node", "other-class", "missing-class", "read-write-many", "block", "selector", "bound"])
def test_what_the_real_provisioner_would_not_provision_is_left_alone(claim):
    assert volume_for(claim, CLASSES) is None


def kubectl(kubeconfig, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO_ROOT / ".bin" / "kubectl"), f"--kubeconfig={kubeconfig}", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def phase(kubeconfig, namespace: str, claim: str) -> str:
    return kubectl(kubeconfig, "-n", namespace, "get", "pvc", claim, "-o", "jsonpath={.status.phase}").stdout


POD = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s}
spec:
  containers: [{name: main, image: localhost/workshop/postgres:dev, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: %(name)s}}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %(name)s}
spec:
  accessModes: [%(mode)s]
  resources: {requests: {storage: 1Gi}}
"""


def test_on_the_sim_a_claim_binds_with_its_pod_and_a_refused_one_stays_pending(kubeconfig, namespace, on_sim):
    if not on_sim:
        pytest.skip("the stand-in runs on the KWOK sim only")
    assert json.loads(kubectl(kubeconfig, "get", "storageclass", "standard", "-o", "json").stdout)["provisioner"] == (
        storage_class()["provisioner"])
    manifest = POD % {"name": "kept", "mode": "ReadWriteOnce"} + "---" + POD % {"name": "shared", "mode": "ReadWriteMany"}
    applied = kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr
    deadline = time.monotonic() + 60
    while phase(kubeconfig, namespace, "kept") != "Bound":
        assert time.monotonic() < deadline, "the claim of a scheduled pod was never bound"
        time.sleep(0.5)
    # The refused one: the scheduler picked a node, the binder declined, as local-path does.
    assert phase(kubeconfig, namespace, "shared") == "Pending"
    pod = kubectl(kubeconfig, "-n", namespace, "get", "pod", "shared", "-o", "jsonpath={.spec.nodeName}").stdout
    assert pod == ""
