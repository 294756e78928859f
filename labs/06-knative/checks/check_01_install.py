"""Step "install": Knative Serving with Kourier, configured for a laptop cluster."""

from workshop.grading import N_, check, verify

from level6_knative import KNATIVE_NAMESPACE

DOCS = "https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/"
# Patches of install/*.yaml: (ConfigMap, key, what the value must hold).
SETTINGS = (
    ("config-network", "ingress-class", "kourier.ingress.networking.knative.dev"),
    ("config-domain", "127.0.0.1.sslip.io", ""),
    ("config-deployment", "registries-skipping-tag-resolving", "index.docker.io"),
)
# The control plane of serving-core.yaml; Kourier adds net-kourier-controller here and its
# gateway in kourier-system.
CONTROLLERS = ("activator", "autoscaler", "controller", "webhook", "net-kourier-controller")


@check(id="l6-configured", title=N_("Knative Serving is configured for Kourier, sslip.io URLs and local images"),
       step="install", points=1, timeout=0,
       hint=N_("Run make lab-6, which installs Knative and patches its ConfigMaps with labs/06-knative/install/*.yaml "
       "(kubectl -n knative-serving patch configmap/config-network --type merge --patch-file ...)."),
       docs="https://knative.dev/docs/serving/configuration/config-defaults/")
def check_configured(cluster):
    with verify() as v:
        for name, key, wanted in SETTINGS:
            config_map = cluster.get("ConfigMap", name, KNATIVE_NAMESPACE)
            if config_map is None:
                v.fail(f"configmap/{name} (namespace {KNATIVE_NAMESPACE})", "<it to exist>", "<missing>")
                continue
            value = (config_map.get("data") or {}).get(key)
            # A comma-separated list must hold the value; a single setting must equal it.
            ok = value is not None and (wanted in value.split(",") if "," in (value or "") else value == wanted)
            if not ok:
                v.fail(f"configmap/{name}.data.{key}", repr(wanted) if wanted else "'' (the key set)",
                       "<not set>" if value is None else repr(value), config_map)


@check(id="l6-controllers", title=N_("Knative's and Kourier's controllers are running"), step="install", points=1,
       data_plane=True, timeout=2,
       hint=N_("Wait for them: kubectl -n knative-serving get pods and kubectl -n kourier-system get pods "
       "(a pod that is not Running says why in kubectl describe pod)."), docs=DOCS)
def check_controllers(cluster):
    with verify() as v:
        for name in CONTROLLERS:
            v.match(cluster.get("Deployment", name, KNATIVE_NAMESPACE),
                    {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
                    ref=f"deployment/{name} (namespace {KNATIVE_NAMESPACE})")
        gateways = cluster.list("Deployment", "kourier-system")
        if not gateways:
            v.fail("deployments in kourier-system", "<Kourier's gateway>", "<none>")
        for gateway in gateways:
            v.match(gateway, {"status": {"conditions": [{"type": "Available", "status": "True"}]}})
