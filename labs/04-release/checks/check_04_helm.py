"""Step "helm": release `workshop` of the app's chart, in namespace workshop-helm, was upgraded and
rolled back, and the cluster runs what its current revision says.

Graded from Helm's own record, no helm binary needed: each revision of a release is a Secret
`sh.helm.release.v1.<release>.v<revision>` (labels owner=helm, name=<release>) whose data
`release` is the release as JSON, gzipped then base64-encoded by Helm (and base64 again by the
API, as every Secret's data).
"""

from __future__ import annotations

import base64
import gzip
import json

import yaml

from workshop.grading import N_, check, verify
from workshop.grading.matcher import MISSING
from workshop.grading.workload import rollout_problems

HELM_NAMESPACE = "workshop-helm"
RELEASE = "workshop"
REF = f"helm release {RELEASE} (namespace {HELM_NAMESPACE})"
INSTALL = (f"kubectl create namespace {HELM_NAMESPACE}, then helm install {RELEASE} manifests/helm/workshop "
           f"-n {HELM_NAMESPACE} -f labs/04-release/helm/values-one-replica.yaml --wait")
DOCS = "https://helm.sh/docs/intro/using_helm/"


def decode_release(secret: dict) -> dict | None:
    """The release a Helm storage Secret holds, or None when it is not one Helm could read."""
    try:
        data = base64.b64decode((secret.get("data") or {})["release"])
        return json.loads(gzip.decompress(base64.b64decode(data)))
    except (KeyError, TypeError, ValueError, OSError, EOFError):
        return None


def revisions(cluster, namespace: str = HELM_NAMESPACE, release: str = RELEASE) -> list[dict]:
    """Every revision Helm keeps of ``release``, oldest first."""
    records = [decode_release(secret) for secret in cluster.list("Secret", namespace,
                                                                  selector={"owner": "helm", "name": release})]
    return sorted((record for record in records if record), key=lambda record: record.get("version", 0))


def describe(record: dict) -> str:
    info = record.get("info") or {}
    return f"revision {record.get('version')} {info.get('status')} ({info.get('description', '')})"


def manifest_deployments(record: dict) -> list[dict]:
    """The Deployments the revision installed, as rendered (its `manifest`)."""
    objects = yaml.safe_load_all(record.get("manifest") or "")
    return [item for item in objects if isinstance(item, dict) and item.get("kind") == "Deployment"]


def images(deployment: dict) -> dict[str, str]:
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {container.get("name"): container.get("image") for container in spec.get("containers") or []}


@check(id="l4-helm-release", title=N_("Helm release workshop in workshop-helm: upgraded, rolled back, and what runs"),
       step="helm", points=2,
       # A literal, not built from INSTALL and RELEASE: the catalog looks a hint up by its text.
       hint=N_("Install the chart into a namespace of its own (kubectl create namespace workshop-helm, then helm "
               "install workshop manifests/helm/workshop -n workshop-helm -f "
               "labs/04-release/helm/values-one-replica.yaml --wait), upgrade it with a value changed (helm upgrade "
               "workshop manifests/helm/workshop -n workshop-helm --reuse-values --set account.replicas=2 --wait), "
               "then roll the upgrade back (helm rollback workshop -n workshop-helm --wait). helm history workshop "
               "-n workshop-helm shows each revision and its status."),
       docs=DOCS)
def check_helm_release(cluster):
    history = revisions(cluster)
    with verify() as v:
        if not history:
            v.fail(REF, f"<installed: {INSTALL}>", MISSING)
            return
        current = history[-1]
        info = current.get("info") or {}
        status, description = info.get("status"), info.get("description", "")
        where = f"{REF} revision {current.get('version')}"
        if status != "deployed":
            v.fail(f"{where}.info.status", "deployed", f"{status} ({description})")
            if status == "failed":
                v.hint(f"The last operation failed ({description}): the objects may be half changed. helm history "
                       f"{RELEASE} -n {HELM_NAMESPACE} shows the last good revision; helm rollback {RELEASE} "
                       f"-n {HELM_NAMESPACE} --wait goes back to it.")
            elif status == "uninstalled":
                v.hint(f"The release was uninstalled (its history kept with --keep-history): helm upgrade --install "
                       f"{RELEASE} manifests/helm/workshop -n {HELM_NAMESPACE} --wait, then the upgrade and the "
                       "rollback again.")
            elif str(status).startswith("pending"):
                v.hint(f"An install, upgrade or rollback still runs, or was interrupted: wait for it, or helm rollback "
                       f"{RELEASE} -n {HELM_NAMESPACE} to end it.")
            return
        if not description.startswith("Rollback to "):
            v.fail(f"{where}.info.description", "<Rollback to N (helm rollback)>", description)
        elif not [record for record in history[:-1]
                  if (record.get("info") or {}).get("description", "").startswith("Upgrade complete")]:
            v.fail(f"{REF} history", "<an upgrade before the rollback (helm upgrade ... --set account.replicas=2)>",
                   "; ".join(describe(record) for record in history))
        for wanted in manifest_deployments(current):
            name = wanted.get("metadata", {}).get("name", "?")
            ref = f"deployment/{name} (namespace {HELM_NAMESPACE})"
            live = cluster.get("Deployment", name, HELM_NAMESPACE)
            if live is None:
                v.fail(ref, "<it to exist, as the release says>", MISSING)
                continue
            if "replicas" in wanted.get("spec", {}) and live["spec"].get("replicas") != wanted["spec"]["replicas"]:
                v.fail(f"{ref}.spec.replicas", wanted["spec"]["replicas"], live["spec"].get("replicas"), live)
                v.hint(f"{ref} was changed by hand since Helm wrote it: helm upgrade {RELEASE} manifests/helm/workshop "
                       f"-n {HELM_NAMESPACE} --reuse-values --set <the value> changes it the release's way.")
            if images(live) != images(wanted):
                v.fail(f"{ref}.spec.template.spec.containers images", images(wanted), images(live), live)
            for path, expected, got in rollout_problems(live, ref):
                v.fail(path, expected, got, live)
