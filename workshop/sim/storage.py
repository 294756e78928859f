"""Persistent volumes on the real-node sim: rancher's local-path-provisioner, as kind has it.

kind's default StorageClass `standard` is local-path-provisioner: a claim is bound when its first
pod is scheduled (WaitForFirstConsumer), to a `hostPath` folder on that pod's node, made by a
helper pod. The real-node sim installs the same thing from the same source:

- the provisioner binary built from `github.com/rancher/local-path-provisioner` at
  LOCAL_PATH_PROVISIONER_VERSION, in a scratch image;
- upstream's own `deploy/local-path-storage.yaml` of that version, with three changes: the local
  images (nothing is pulled), the StorageClass named `standard` and marked default (as kind's),
  and one folder per node under the sim's state folder (the nodes share the host's filesystem,
  where kind's nodes each have their own);
- the helper pod's image: busybox-static as /bin/sh (the `sh /script/setup` it runs) in a scratch
  image, root in the pod as upstream's busybox is (it makes folders on the node).

    documents(Path(".sim/3/nodes"), ["workshop-worker", "workshop-worker2"], images())
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from workshop.sim.gobuild import GoBuild, build, module_dir
from workshop.versions import all_versions

MODULE = "github.com/rancher/local-path-provisioner"
NAMESPACE = "local-path-storage"
STORAGE_CLASS = "standard"  # kind's name for it


def provisioner_spec(versions: dict[str, str] | None = None) -> GoBuild:
    version = (versions or all_versions())["LOCAL_PATH_PROVISIONER_VERSION"]
    return GoBuild(name="local-path-provisioner", version=version, requires={MODULE: version},
                   binaries={"local-path-provisioner": MODULE}, inherit_go_directive=MODULE)


def images(log=None) -> dict[str, str]:
    """{"provisioner": image, "helper": image}, built (or found) in podman's store."""
    from workshop.sim.images import scratch_image

    spec = provisioner_spec()
    binary = build(spec, log)["local-path-provisioner"]
    provisioner = scratch_image(f"localhost/workshop/local-path-provisioner:{spec.version}",
                                {"/local-path-provisioner": binary}, ["/local-path-provisioner"])
    helper = scratch_image("localhost/workshop/local-path-helper:dev", {"/bin/sh": Path("/bin/busybox")},
                           ["/bin/sh"], user="0:0")
    return {"provisioner": provisioner, "helper": helper}


def node_folder(nodes_root: Path, node: str) -> Path:
    return nodes_root / node / "local-path"


def documents(nodes_root: Path, nodes: list[str], built: dict[str, str]) -> list[dict]:
    """Upstream's manifest at the pinned version, changed only where the sim differs from kind."""
    manifest = module_dir(MODULE, provisioner_spec().version) / "deploy" / "local-path-storage.yaml"
    out = []
    for doc in yaml.safe_load_all(manifest.read_text()):
        if not doc:
            continue
        kind = doc["kind"]
        if kind == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["image"], container["imagePullPolicy"] = built["provisioner"], "Never"
            container["command"][0] = "/local-path-provisioner"
            container["env"].append({"name": "HELPER_IMAGE", "value": built["helper"]})
        elif kind == "StorageClass":
            doc["metadata"]["name"] = STORAGE_CLASS
            doc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        elif kind == "ConfigMap":
            paths = [{"node": node, "paths": [str(node_folder(nodes_root, node))]} for node in nodes]
            doc["data"]["config.json"] = json.dumps({"nodePathMap": paths}, indent=2)
            helper = yaml.safe_load(doc["data"]["helperPod.yaml"])
            helper["spec"]["containers"][0]["image"] = built["helper"]
            helper["spec"]["containers"][0]["imagePullPolicy"] = "Never"
            doc["data"]["helperPod.yaml"] = yaml.safe_dump(helper, sort_keys=False)
        out.append(doc)
    return out
