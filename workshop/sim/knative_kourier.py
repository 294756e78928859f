"""The sim's ``kourier.yaml``: a STAND-IN for net-kourier's release file (docs/contributing/testing.md).

``knative.dev/net-kourier`` is not served by the module proxy, so the release mirror answers
``https://github.com/knative/net-kourier/releases/download/knative-v<KNATIVE_VERSION>/kourier.yaml``
with this file instead. It keeps what the lab and the page rely on from the real one: namespace
``kourier-system``, Services ``kourier`` (port 80, type LoadBalancer as released) and
``kourier-internal`` (port 80), ConfigMap ``config-kourier`` in ``knative-serving``, and a Deployment
named as Kourier's: ``net-kourier-controller`` in ``knative-serving`` and ``3scale-kourier-gateway`` in
``kourier-system``. Both run ``workshop/sim/knative_ingress.py`` (``controller``: marks Ingresses
Ready once the gateways route them; ``gateway``: routes by host and weight) in the image
``localhost/knative-sim/kourier-standin:<KNATIVE_VERSION>``, built on the project's local base.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from workshop.versions import all_versions

PROGRAM = Path(__file__).with_name("knative_ingress.py")
LOCAL_BASE = "localhost/workshop/base-python:bookworm"  # scripts/containers/setup.sh
NAMESPACE = "kourier-system"
GATEWAY = "3scale-kourier-gateway"
LABELS = {"app.kubernetes.io/component": "net-kourier", "app.kubernetes.io/name": "knative-serving",
          "networking.knative.dev/ingress-provider": "kourier"}
USER = 65532


def image_name(versions: dict[str, str] | None = None) -> str:
    return f"localhost/knative-sim/kourier-standin:{(versions or all_versions())['KNATIVE_VERSION']}"


def image() -> str:
    """The stand-in's podman image: the base, the program, a non-root user (rebuilt when the program changes)."""
    import shutil
    import tempfile

    from workshop.sim import images

    name = image_name()
    base_id = images.podman("image", "inspect", "--format", "{{.Id}}", LOCAL_BASE, what=f"looking up {LOCAL_BASE}").strip()
    inputs = hashlib.sha256(PROGRAM.read_bytes() + base_id.encode()).hexdigest()[:16]
    if images._label(name) == inputs:
        return name
    with tempfile.TemporaryDirectory(prefix="kourier-standin-") as context:
        shutil.copy2(PROGRAM, Path(context) / "knative_ingress.py")
        (Path(context) / "Containerfile").write_text("\n".join([
            f"FROM {LOCAL_BASE}", "COPY knative_ingress.py /app/knative_ingress.py", f"USER {USER}:{USER}",
            'ENTRYPOINT ["python3", "/app/knative_ingress.py"]', f"LABEL {images.DIGEST_LABEL}={inputs}"]) + "\n")
        images.podman("build", "-q", "--format", "oci", "--network=none", "-t", name, context, what=f"building {name}")
    return name


def _container(role: str, versions: dict[str, str]) -> dict:
    container = {
        "name": role, "image": image_name(versions), "imagePullPolicy": "IfNotPresent", "args": [role],
        "env": [{"name": "GATEWAY_NAMESPACE", "value": NAMESPACE}],
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": USER, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
    }
    if role == "gateway":
        container["ports"] = [{"name": "http2-external", "containerPort": 8080},
                              {"name": "http2-internal", "containerPort": 8081}]
        container["readinessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 2}
    return container


def _deployment(name: str, namespace: str, role: str, account: str, labels: dict, versions: dict[str, str]) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"serviceAccountName": account, "containers": [_container(role, versions)]}}}}


def manifest(versions: dict[str, str] | None = None) -> str:
    """The text served as kourier.yaml: the controller in knative-serving, the gateway in kourier-system."""
    versions = versions or all_versions()
    labels = {**LABELS, "app.kubernetes.io/version": versions["KNATIVE_VERSION"]}
    meta = lambda name, namespace=NAMESPACE: {"name": name, "namespace": namespace, "labels": labels}  # noqa: E731
    group = "networking.internal.knative.dev"
    rules = [{"apiGroups": [group], "resources": ["ingresses"], "verbs": ["get", "list", "watch"]},
             {"apiGroups": [group], "resources": ["ingresses/status"], "verbs": ["get", "update", "patch"]},
             {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    accounts = [("net-kourier", "knative-serving"), (GATEWAY, NAMESPACE)]
    documents = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("config-kourier", "knative-serving"),
         "data": {"_example": "# The sim's Kourier stand-in reads no option of this ConfigMap."}},
        *({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, namespace)} for name, namespace in accounts),
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "net-kourier", "labels": labels}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "net-kourier", "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "net-kourier"},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace} for name, namespace in accounts]},
        _deployment("net-kourier-controller", "knative-serving", "controller", "net-kourier", labels, versions),
        _deployment(GATEWAY, NAMESPACE, "gateway", GATEWAY, labels, versions),
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("kourier"),
         "spec": {"type": "LoadBalancer", "selector": {"app": GATEWAY},
                  "ports": [{"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("kourier-internal"),
         "spec": {"type": "ClusterIP", "selector": {"app": GATEWAY},
                  "ports": [{"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8081}]}},
    ]
    header = ("# STAND-IN for net-kourier's kourier.yaml, made by workshop/sim/knative_kourier.py (the sim's\n"
              "# release mirror serves it: net-kourier is not available here). See docs/contributing/testing.md.\n")
    return header + yaml.safe_dump_all(documents, sort_keys=False)


def kourier_yaml(version: str) -> str:
    return manifest()
