"""Step "kustomize": what runs in the namespace is the dev overlay, not hand-applied files."""

from workshop.grading import N_, check, verify


@check(id="l4-dev-overlay", title=N_("the app runs from the dev overlay (its label on every pod template)"),
       step="kustomize", points=2, reconciled=True,
       hint=N_("Render and apply the overlay: kubectl kustomize manifests/overlays/dev shows what it makes, kubectl apply "
       "-k manifests/overlays/dev applies it (Argo CD does the same once its Application syncs). Every object it "
       "makes carries the label environment=dev."),
       docs="https://kubernetes.io/docs/tasks/manage-kubernetes-objects/kustomization/")
def check_dev_overlay(cluster, namespace, overlay_workloads):
    with verify() as v:
        for name in overlay_workloads:
            v.match(cluster.get("Deployment", name, namespace),
                    {"metadata": {"labels": {"environment": "dev"}},
                     "spec": {"template": {"metadata": {"labels": {"environment": "dev"}}}}},
                    ref=f"deployment/{name}")
        default_deny = cluster.get("NetworkPolicy", "default-deny", namespace)
        v.match(default_deny, {"metadata": {"labels": {"environment": "dev"}}}, ref="networkpolicy/default-deny")
