"""Step "GitOps": Argo CD runs, an Application watches manifests/overlays/dev, and it is Synced and Healthy."""

from workshop.grading import N_, PRESENT, check, verify
from workshop.grading.matcher import MISSING

ARGOCD_DOCS = "https://argo-cd.readthedocs.io/en/stable/getting_started/"
PLACEHOLDER = "YOUR-GITHUB-USER"


@check(id="l4-argocd-running", title=N_("Argo CD's server, repo server and application controller are ready"),
       step="gitops", points=1,
       hint=N_("make lab-4 installs Argo CD in namespace argocd; kubectl -n argocd get deployments,statefulsets shows what "
       "is not ready yet (the first start pulls its images: give it a few minutes)."),
       docs=ARGOCD_DOCS)
def check_argocd_running(cluster, argocd_namespace):
    with verify() as v:
        for kind, name in (("Deployment", "argocd-server"), ("Deployment", "argocd-repo-server"),
                           ("StatefulSet", "argocd-application-controller")):
            workload = cluster.get(kind, name, argocd_namespace)
            if workload is None:
                v.fail(f"{kind.lower()}/{name} (namespace {argocd_namespace})", "<it to exist>", MISSING)
                continue
            wanted, ready = workload["spec"].get("replicas", 1), (workload.get("status") or {}).get("readyReplicas", 0)
            if ready != wanted:
                v.fail(f"{kind.lower()}/{name}.status.readyReplicas", wanted, ready, workload)


def the_application(cluster, argocd_namespace: str) -> dict | None:
    """The Application that deploys manifests/overlays/dev (whatever its name), else workshop-dev."""
    applications = cluster.list("Application", argocd_namespace)
    for application in applications:
        if ((application.get("spec") or {}).get("source") or {}).get("path", "").strip("/") == "manifests/overlays/dev":
            return application
    return cluster.get("Application", "workshop-dev", argocd_namespace)


@check(id="l4-application", title=N_("an Argo CD Application syncs manifests/overlays/dev of your fork into workshop"),
       step="gitops", points=2,
       hint=N_("Put your fork's URL in repoURL (it still says YOUR-GITHUB-USER?), then kubectl apply -f "
       "labs/04-release/manifests/application-workshop-dev.yaml. path is manifests/overlays/dev, destination "
       "namespace workshop, syncPolicy.automated with prune and selfHeal."),
       docs="https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/")
def check_application(cluster, argocd_namespace):
    application = the_application(cluster, argocd_namespace)
    with verify() as v:
        if not v.match(application, {"spec": {
                "source": {"repoURL": PRESENT, "path": "manifests/overlays/dev"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "workshop"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}},
                ref="application/workshop-dev (namespace argocd)"):
            return
        # automated: {enabled: false} keeps the block but turns auto-sync off (Argo CD >= 2.14).
        automated = application["spec"]["syncPolicy"]["automated"]
        if automated.get("enabled") is False:
            ref = f"application/{application['metadata']['name']}"
            v.fail(f"{ref}.spec.syncPolicy.automated.enabled", "<true or not set>", False, application)
            v.hint(f"{ref} never syncs on its own with automated.enabled: false: remove that field, kubectl -n argocd "
                   "replace -f labs/04-release/manifests/application-workshop-dev.yaml (with your fork's URL).")
        url = application["spec"]["source"]["repoURL"]
        if PLACEHOLDER in url:
            v.fail(f"application/{application['metadata']['name']}.spec.source.repoURL", "<your fork's URL>", url,
                   application)


@check(id="l4-synced-healthy", title=N_("Argo CD says the app is Synced and Healthy"), step="gitops", points=2,
       data_plane=True, timeout=60,
       hint=N_("kubectl -n argocd get applications shows SYNC STATUS and HEALTH. OutOfSync or Unknown with a "
       "ComparisonError: Argo CD cannot fetch the repository (is your fork public? is repoURL right?). Progressing "
       "or Degraded: a pod of the app is not ready (kubectl -n workshop get pods)."),
       docs="https://argo-cd.readthedocs.io/en/stable/operator-manual/health/")
def check_synced_healthy(cluster, argocd_namespace):
    application = the_application(cluster, argocd_namespace)
    with verify() as v:
        v.match(application, {"status": {"sync": {"status": "Synced", "revision": PRESENT},
                                         "health": {"status": "Healthy"}}},
                ref="application/workshop-dev (namespace argocd)")
