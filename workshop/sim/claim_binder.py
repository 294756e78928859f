"""STAND-IN for kind's local-path-provisioner on the KWOK sim: binds `standard` claims to a volume.

Named as a stand-in on docs/contributing/testing.md. The KWOK sim runs no pod for real, so the
real provisioner (workshop/sim/storage.py, on the real-node sims) cannot run there, and without it
a StatefulSet's claim and its pod stay Pending. This process does the provisioner's API part only,
as upstream's does, and nothing more:

- the StorageClass `standard` as kind's (default, `rancher.io/local-path`, WaitForFirstConsumer,
  reclaim Delete) is installed with the sim;
- a claim is provisioned only once the scheduler has picked a node for its first pod (the
  `volume.kubernetes.io/selected-node` annotation), only for a class whose provisioner is
  `rancher.io/local-path`, only as Filesystem with ReadWriteOnce or ReadWriteOncePod (what the real one
  accepts); the PersistentVolume is pinned to that node with the claim's size, and the controller
  manager binds them;
- a Released volume of its own is deleted (reclaim Delete), as the provisioner does.

So a claim with no pod (a StatefulSet scaled to 0), of another class, or with an access mode the
real provisioner refuses stays Pending here as on kind. No folder is made: no container runs.

    python -m workshop.sim.claim_binder --kubeconfig .sim/pki/kwok.kubeconfig
"""

from __future__ import annotations

import argparse
import sys
import time

PROVISIONER = "rancher.io/local-path"
STORAGE_CLASS = "standard"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ACCESS_MODES = {"ReadWriteOnce", "ReadWriteOncePod"}
POLL_SECONDS = 0.5


def storage_class() -> dict:
    """kind's default class, as its local-path-storage manifest declares it."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS,
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}


def volume_for(claim: dict, provisioners: dict[str, str]) -> dict | None:
    """The PersistentVolume the real provisioner would make for ``claim`` now, or None (not its turn)."""
    meta, spec = claim["metadata"], claim.get("spec") or {}
    node = (meta.get("annotations") or {}).get(SELECTED_NODE)
    if (claim.get("status") or {}).get("phase") != "Pending" or spec.get("volumeName") or not node:
        return None
    if provisioners.get(spec.get("storageClassName") or "") != PROVISIONER:
        return None
    if spec.get("volumeMode", "Filesystem") != "Filesystem" or not set(spec.get("accessModes") or []) <= ACCESS_MODES:
        return None
    if spec.get("selector") or not spec.get("accessModes"):
        return None  # upstream refuses a claim with a selector
    name = f"pvc-{meta['uid']}"
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
            "spec": {"capacity": {"storage": spec["resources"]["requests"]["storage"]},
                     "accessModes": spec["accessModes"], "persistentVolumeReclaimPolicy": "Delete",
                     "storageClassName": spec["storageClassName"], "volumeMode": "Filesystem",
                     "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                                  "name": meta["name"], "uid": meta["uid"]},
                     "hostPath": {"path": f"/var/local-path-provisioner/{name}_{meta['namespace']}_{meta['name']}",
                                  "type": "DirectoryOrCreate"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}}


def step(core, storage, log) -> None:
    from kubernetes.client.rest import ApiException

    provisioners = {item.metadata.name: item.provisioner for item in storage.list_storage_class().items}
    client = core.api_client
    for claim in core.list_persistent_volume_claim_for_all_namespaces().items:
        volume = volume_for(client.sanitize_for_serialization(claim), provisioners)
        if volume is None:
            continue
        try:
            core.create_persistent_volume(volume)
            log(f"provisioned {volume['metadata']['name']} for {claim.metadata.namespace}/{claim.metadata.name} "
                f"on {volume['spec']['nodeAffinity']['required']['nodeSelectorTerms'][0]['matchExpressions'][0]['values'][0]}")
        except ApiException as error:
            if error.status != 409:  # 409: made by the last round, not bound yet
                raise
    for volume in core.list_persistent_volume().items:
        ours = (volume.metadata.annotations or {}).get(PROVISIONED_BY) == PROVISIONER
        if ours and volume.status.phase == "Released" and volume.spec.persistent_volume_reclaim_policy == "Delete":
            core.delete_persistent_volume(volume.metadata.name)
            log(f"deleted {volume.metadata.name} (released, reclaim Delete)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args(argv)
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=args.kubeconfig)
    core, storage = client.CoreV1Api(api), client.StorageV1Api(api)

    def log(message: str) -> None:
        print(f"claim-binder: {message}", flush=True)

    log(f"stand-in for {PROVISIONER}: binding claims of class {STORAGE_CLASS} once a pod picks a node")
    while True:
        try:
            step(core, storage, log)
        except Exception as error:  # the API server restarting: say it, try again
            log(f"retrying after: {error}")
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
