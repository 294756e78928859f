"""Step "inject": Istio runs, namespace workshop is labelled, every app pod has a ready sidecar."""

from level5_mesh import ISTIO_NAMESPACE, injection_enabled, sidecar

from workshop.grading import N_, check, verify

OPT_OUT = "sidecar.istio.io/inject"
AVAILABLE = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}


@check(id="l5-istio", title=N_("Istio's control plane (istiod) and ingress gateway are Available"), step="inject",
       points=1, timeout=5,
       hint=N_("Install Istio with make lab-5 (istioctl install -f labs/05-istio/install/istio-operator-demo.yaml -y), "
       "then kubectl -n istio-system get deployments,pods: a pod that is not Ready says why in kubectl describe."),
       docs="https://istio.io/latest/docs/setup/install/istioctl/")
def check_istio(cluster):
    with verify() as v:
        for name in ("istiod", "istio-ingressgateway"):
            v.match(cluster.get("Deployment", name, ISTIO_NAMESPACE), AVAILABLE,
                    ref=f"deployment/{name} (namespace {ISTIO_NAMESPACE})")


@check(id="l5-injection-label", title=N_("namespace workshop is labelled for sidecar injection"), step="inject",
       points=1, timeout=0,
       hint=N_("Label the namespace: kubectl label namespace workshop istio-injection=enabled --overwrite "
       "(the label is istio-injection, its value enabled; a typo means no sidecar and no error)."),
       docs="https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#automatic-sidecar-injection")
def check_injection_label(cluster, namespace):
    found = cluster.get("Namespace", namespace)
    with verify() as v:
        if found is None:
            v.fail(f"namespace/{namespace}", "<it to exist>", "nothing")
        elif not injection_enabled(found):
            labels = found["metadata"].get("labels") or {}
            v.fail(f'namespace/{namespace}.metadata.labels."istio-injection"', "enabled",
                   labels.get("istio-injection", "<not set>"), found)


@check(id="l5-sidecars", title=N_("every pod of the app carries a ready istio-proxy sidecar"), step="inject", points=2,
       timeout=5,
       hint=N_("Pods started before the namespace was labelled have no sidecar: restart them with "
       "kubectl -n workshop rollout restart deployment, then kubectl -n workshop get pods (READY 2/2)."),
       docs="https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/")
def check_sidecars(cluster, namespace, apps):
    with verify() as v:
        for name in apps:
            deployment = cluster.get("Deployment", name, namespace)
            if deployment is None:
                v.fail(f"deployment/{name}", "<it to exist>", "nothing")
                continue
            template = deployment["spec"]["template"]["metadata"]
            opt_out = {**(template.get("labels") or {}), **(template.get("annotations") or {})}.get(OPT_OUT)
            if str(opt_out).lower() == "false":
                # Istio skips these pods whatever the namespace says: a restart makes more of them.
                v.fail(f'deployment/{name}.spec.template.metadata."{OPT_OUT}"', "<not \"false\">", opt_out, deployment)
                v.hint(f"deployment/{name} opts its pods out of the mesh ({OPT_OUT}: \"false\" on its template), so a "
                       "restart cannot help: remove it, kubectl replace -f "
                       f"labs/02-orchestrate/manifests/app-{name}.yaml (or make solve-5).")
                continue
            pods = [pod for pod in cluster.pods_of(deployment) if not pod["metadata"].get("deletionTimestamp")]
            if not pods:
                v.fail(f"deployment/{name} pods", "<at least one>", 0, deployment)
            for pod in pods:
                how, ready = sidecar(pod)
                ref = f"pod/{pod['metadata']['name']}"
                if how is None:
                    v.fail(f"{ref} containers", "<an istio-proxy container or native sidecar>",
                           ", ".join(c["name"] for c in pod["spec"].get("containers") or []), pod)
                    v.hint(f"{ref} of deployment/{name} started without a sidecar: kubectl -n {namespace} rollout "
                           f"restart deployment/{name} (the namespace must be labelled istio-injection=enabled first).")
                elif not ready:
                    v.fail(f"{ref} istio-proxy ({how}) ready", True, False, pod)
