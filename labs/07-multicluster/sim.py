"""The sim clusters' stand-in for `istioctl install` of level 7 (tests only).

The sim has Istio's CRDs but no istiod, no webhook and no data plane. What it can hold of
level 7's installs is every object `istioctl install -f FILE...` would create, rendered by
the istioctl built from the pinned source (workshop.sim.istio) from the very IstioOperator
files of this lab, minus what cannot work without a data plane (CRDs, webhooks: see
workshop.sim.istio.SKIPPED_KINDS). kubectl applies them, server-side, to one context:

    python sim.py install CONTEXT FILE...      # and wait until its Deployments are Available
    python sim.py injector CONTEXT FILE...     # the sidecar injection, as an admission policy
    python sim.py uninstall CONTEXT FILE...    # delete what each FILE's install created outside istio-system

The kubeconfig is kubectl's (KUBECONFIG may list both sim clusters' files).

Sidecar injection: on a real cluster, istiod's webhook adds the sidecar to every Pod created in
a namespace labelled istio-injection=enabled, so a learner's plain `kubectl apply` of account
gets injected pods. The sim cannot run that webhook (no istiod process). What it can run is a
MutatingAdmissionPolicy (admissionregistration.k8s.io/v1, in-process in kube-apiserver): `injector`
renders, with the pinned istioctl's `kube-inject` and this cluster's IstioOperator files, what
the webhook adds to a pod (istio-init, the istio-proxy native sidecar, their volumes, labels and
annotations), and installs a policy that adds exactly that to every Pod created in an
injection-enabled namespace. The few values istiod takes from the pod itself (its app
containers, its workload name, its namespace) are CEL expressions over the pod.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

FIELD_MANAGER = "workshop-istio-sim"


def render(files: list[str]) -> list[dict]:
    """`istioctl manifest generate -f FILE...`, cached by the files' content and the pinned versions."""
    from workshop.sim import istio
    from workshop.sim.gobuild import cache_dir
    from workshop.versions import all_versions

    versions = all_versions()
    # The images of the pinned release, as a released istioctl would render them.
    flags = ["--set", f"hub={istio.RELEASE_HUB}", "--set", f"tag={versions['ISTIO_VERSION']}"]
    key = hashlib.sha256(json.dumps([versions["ISTIO_SOURCE_VERSION"], flags,
                                     [Path(path).read_text() for path in files]]).encode()).hexdigest()[:16]
    cached = cache_dir() / "istio" / "level7" / f"{key}.yaml"
    if not cached.is_file():
        text = istio.run_istioctl(["manifest", "generate", *(arg for path in files for arg in ("-f", path)), *flags]).stdout
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.with_suffix(".partial").write_text(text)
        cached.with_suffix(".partial").replace(cached)
    return [item for item in yaml.safe_load_all(cached.read_text()) if item and item["kind"] not in istio.SKIPPED_KINDS]


def kubectl(context: str, *args: str, stdin: str | None = None) -> None:
    result = subprocess.run(["kubectl", "--context", context, *args], input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:2])} failed in {context}: {result.stderr.strip()}")
    sys.stderr.write(result.stdout)


def install(context: str, files: list[str]) -> None:
    objects = render(files)
    kubectl(context, "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-",
            stdin=yaml.safe_dump_all(objects))
    names = [item["metadata"]["name"] for item in objects if item["kind"] == "Deployment"]
    if names:  # KWOK plays the kubelet: the pods become Ready, though no container runs
        kubectl(context, "-n", "istio-system", "wait", "--for=condition=Available", "--timeout=120s",
                *(f"deployment/{name}" for name in names))


def uninstall(context: str, files: list[str]) -> None:
    # One render per file: several -f files are overlays of ONE install (the last profile wins).
    cluster_scoped = [item for path in files for item in render([path]) if not item["metadata"].get("namespace")]
    kubectl(context, "delete", "--ignore-not-found", "-f", "-", stdin=yaml.safe_dump_all(cluster_scoped))
    kubectl(context, "delete", "--ignore-not-found", f"mutatingadmissionpolicybinding/{INJECTOR}",
            f"mutatingadmissionpolicy/{INJECTOR}")


# --- Sidecar injection on the sim: a MutatingAdmissionPolicy ---------------------------------

INJECTOR = "workshop-sim-istio-sidecar-injector"
INJECTION_LABEL = "istio-injection"
STATUS_ANNOTATION = "sidecar.istio.io/status"
# The stand-in pod rendered by kube-inject; each placeholder becomes a CEL expression over the
# pod being created (a ReplicaSet's pods have no name yet: the app label names the workload).
PLACEHOLDERS = {
    "wrkld-placeholder": '(has(object.metadata.labels) && "app" in object.metadata.labels ? '
                         'object.metadata.labels["app"] : object.metadata.generateName)',
    "ctr-placeholder": 'object.spec.containers.map(c, c.name).join(",")',
    "ns-placeholder": "namespaceObject.metadata.name",
}
# Fields whose value is a map with free keys (a CEL map literal), not a typed object.
MAP_FIELDS = {"labels", "annotations", "limits", "requests"}


def cel(value, type_name: str) -> str:
    """``value`` (decoded YAML) as a CEL literal of the typed object ``type_name``.

    >>> cel({"name": "x", "args": ["-p", "1"], "securityContext": {"runAsUser": 0}}, "Object.spec.initContainers")
    'Object.spec.initContainers{name: "x", args: ["-p", "1"], securityContext: Object.spec.initContainers.securityContext{runAsUser: 0}}'
    >>> cel({"labels": {"app": "wrkld-placeholder"}}, "Object.metadata")  # doctest: +ELLIPSIS
    'Object.metadata{labels: {"app": string((has(object.metadata.labels) && ... : object.metadata.generateName))}}'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        parts = re.split("(" + "|".join(PLACEHOLDERS) + ")", value)
        # string(): the pod's fields are typed dyn where the policy is compiled.
        pieces = [f"string({PLACEHOLDERS[part]})" if part in PLACEHOLDERS else json.dumps(part) for part in parts if part]
        return " + ".join(pieces) or '""'
    if isinstance(value, list):
        return "[" + ", ".join(cel(item, type_name) for item in value) + "]"
    if isinstance(value, dict):
        fields = ", ".join(f"{key}: " + ("{" + ", ".join(f"{json.dumps(k)}: {cel(v, '')}" for k, v in item.items()) + "}"
                                         if key in MAP_FIELDS else cel(item, f"{type_name}.{key}"))
                           for key, item in value.items())
        return f"{type_name}{{{fields}}}"
    raise TypeError(f"cannot write {value!r} in CEL")


def injected_parts(files: list[str]) -> dict:
    """What the pinned Istio's injection adds to a pod of this cluster (installed with ``files``)."""
    from workshop.sim import istio

    stand_in = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "wrkld-placeholder", "namespace": "ns-placeholder",
                             "labels": {"app": "wrkld-placeholder"}},
                "spec": {"containers": [{"name": "ctr-placeholder", "image": "stand-in"}]}}
    rendered = istio.inject(yaml.safe_dump(stand_in), operator_files=[Path(path) for path in files])
    pod = next(document for document in yaml.safe_load_all(rendered) if document)
    metadata, spec = pod["metadata"], pod["spec"]
    return {"metadata": {"labels": {key: value for key, value in metadata["labels"].items() if key != "app"},
                         "annotations": metadata.get("annotations") or {}},
            "spec": {"initContainers": spec.get("initContainers") or [], "volumes": spec.get("volumes") or []}}


def json_patches(parts: dict) -> str:
    """A CEL list of JSON patches that adds ``parts`` to the pod, one entry at a time, after an
    empty list or map where the pod has none. (Not an apply configuration: that may not touch
    atomic lists, and a container's args are one. Not a whole list or map as one patch value
    either: kube-apiserver v1.36 cannot convert those.)"""
    patches = []
    for path, empty, entries in (
            *((f"/metadata/{field}", "{}", [(f'"/metadata/{field}/" + jsonpatch.escapeKey({json.dumps(key)})', cel(value, ""))
                                            for key, value in parts["metadata"][field].items()])
              for field in ("labels", "annotations")),
            *((f"/spec/{field}", "[]", [(f'"/spec/{field}/-"', cel(item, f"Object.spec.{field}"))
                                        for item in parts["spec"][field]])
              for field in ("initContainers", "volumes"))):
        field = "object." + path.strip("/").replace("/", ".")
        patches.append(f'(has({field}) ? [] : [JSONPatch{{op: "add", path: "{path}", value: {empty}}}])')
        patches.append("[" + ", ".join(f'JSONPatch{{op: "add", path: {where}, value: {value}}}'
                                       for where, value in entries) + "]")
    return " + ".join(patches)


def injection_policy(files: list[str]) -> list[dict]:
    """A MutatingAdmissionPolicy and its binding: Istio's sidecar injection, in kube-apiserver."""
    parts = injected_parts(files)
    # istiod's webhook makes the workload's pod a member of the mesh; so does this, at CREATE.
    policy = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
              "metadata": {"name": INJECTOR, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
              "spec": {
                  "failurePolicy": "Fail",
                  "reinvocationPolicy": "Never",
                  "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                          "operations": ["CREATE"], "resources": ["pods"]}]},
                  # Never twice (a pod that kube-inject already rendered carries the status annotation).
                  "matchConditions": [{"name": "not-injected-yet", "expression":
                                       f'!has(object.metadata.annotations) || !("{STATUS_ANNOTATION}" in '
                                       "object.metadata.annotations)"}],
                  "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": json_patches(parts)}}],
              }}
    binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
               "metadata": {"name": INJECTOR, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
               "spec": {"policyName": INJECTOR, "matchResources": {
                   "namespaceSelector": {"matchLabels": {INJECTION_LABEL: "enabled"}},
                   # As istiod's webhook: a pod may opt out.
                   "objectSelector": {"matchExpressions": [{"key": "sidecar.istio.io/inject", "operator": "NotIn",
                                                            "values": ["false"]}]}}}}
    return [policy, binding]


def injector(context: str, files: list[str]) -> None:
    kubectl(context, "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-",
            stdin=yaml.safe_dump_all(injection_policy(files)))


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("install", "injector", "uninstall"):
        print("usage: sim.py install|injector|uninstall CONTEXT FILE...", file=sys.stderr)
        return 2
    try:
        from workshop.sim.gobuild import BuildError
        from workshop.sim.istio import IstioError
    except ImportError as error:
        print(f"sim.py: the sim cluster's Istio support is missing ({error}): update the workshop checkout.",
              file=sys.stderr)
        return 2
    action, context, files = argv[0], argv[1], argv[2:]
    try:
        {"install": install, "injector": injector, "uninstall": uninstall}[action](context, files)
    except (BuildError, IstioError, RuntimeError) as error:
        print(f"sim.py {action}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
