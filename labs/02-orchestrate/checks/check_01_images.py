"""Step "apply": every container of the four Deployments runs a workshop image built in level 1.

An extra container added by hand (busybox:latest, pulled Always) fails too: every container counts.
"""

from level2 import REPLACE, is_extra, templates

from workshop.grading import N_, check, verify
from workshop.grading.workload import containers_of


@check(id="l2-images", title=N_("every service runs its workshop image, never pulled from a registry"), step="apply",
       points=1, timeout=0,
       hint=N_("Use the images you built in level 1 (localhost/workshop/<service>:dev) with imagePullPolicy: IfNotPresent, "
       "then kubectl apply -f labs/02-orchestrate/manifests/app-<service>.yaml"),
       docs="https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy")
def check_images(cluster, namespace, services):
    with verify() as v:
        for name, deployment, spec, prefix in templates(cluster, namespace, services, v):
            for path, container in containers_of(spec, prefix):
                image = container.get("image")
                wanted = f"localhost/workshop/{name}:dev" if not is_extra(name, path) else "<a localhost/workshop/<service>:dev image>"
                if image != wanted and not (is_extra(name, path) and str(image).startswith("workshop/")
                                            and str(image).endswith(":dev")):
                    v.fail(f"{path}.image", wanted, image, deployment)
                policy = container.get("imagePullPolicy")
                if policy not in ("IfNotPresent", "Never"):
                    v.fail(f"{path}.imagePullPolicy", "IfNotPresent", policy, deployment)
            if any(m.path.startswith(prefix) for m in v.mismatches):
                v.hint(f"deployment/{name} must run localhost/workshop/{name}:dev with imagePullPolicy IfNotPresent in every "
                       f"container and nothing else: {REPLACE.format(name=name)}")
