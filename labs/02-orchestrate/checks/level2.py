"""Level 2's checks share these: where each service's manifest is, and each Deployment's pod template."""

from workshop.grading.matcher import MISSING

MANIFEST = "labs/02-orchestrate/manifests/app-{name}.yaml"
# `kubectl apply` never removes what was added by hand (a container, a field): replace does.
REPLACE = "kubectl replace -f " + MANIFEST


def templates(cluster, namespace, services, v):
    """(name, deployment, pod spec, path prefix) of each service's Deployment that exists."""
    for name in services:
        deployment = cluster.get("Deployment", name, namespace)
        if deployment is None:
            v.fail(f"deployment/{name}", "<it to exist>", MISSING)
            v.hint(f"Create deployment/{name}: kubectl apply -f {MANIFEST.format(name=name)}")
            continue
        yield name, deployment, deployment["spec"]["template"]["spec"], f"deployment/{name}.spec.template.spec"


def is_extra(name: str, container_path: str) -> bool:
    return not container_path.endswith(f".containers[name={name}]")
