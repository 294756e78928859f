"""A real Istio mesh on the real-node sim: istiod's webhook injects, the sidecars ACK their
config, and a request crosses two Envoys with mutual TLS.

One real-node sim for this module (number ``MESH_SIM``), with Istio installed as
``make sim-mesh-up`` does (workshop/sim/mesh.py: the lab's IstioOperator file plus the test-only
overlay). The two workloads are Python's http.server on the project's Debian base image: ``echo``
answers with the request headers it received, ``client`` sleeps and is exec'ed into. Every
wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from workshop.waits import wait_until

from workshop import REPO_ROOT

pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("WORKSHOP_KUBECONFIG")),
                       reason="tests of the sim's own mesh: WORKSHOP_KUBECONFIG is set"),
    pytest.mark.slow,
]

MESH_SIM = 6
KUBECTL = REPO_ROOT / ".bin" / "kubectl"  # linked by `make sim-build`, which `make test` runs first
WAIT = 120  # seconds, the most any wait here may take
TRUST_DOMAIN = "cluster.local"

# Answers GET with the request's headers as JSON: what the server side of the mesh received.
ECHO_SERVER = """
import http.server, json
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("", 8080), Echo).serve_forever()
"""

# Prints the status code, then the body, on the client's side (an HTTP error is an answer too).
GET = """
import sys, urllib.error, urllib.request
try:
    answer = urllib.request.urlopen(sys.argv[1], timeout=5)
    print(answer.status); print(answer.read().decode())
except urllib.error.HTTPError as error:
    print(error.code); print(error.read().decode())
"""

# Both containers' PID 1 ignores SIGTERM: a short grace period keeps the namespace's deletion short.
WORKLOADS = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo, version: v1}}
    spec:
      serviceAccountName: echo
      terminationGracePeriodSeconds: 2
      containers:
      - name: echo
        image: %(image)s
        imagePullPolicy: Never
        command: [python3, -c, %(server)s]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      serviceAccountName: client
      terminationGracePeriodSeconds: 2
      containers:
      - name: client
        image: %(image)s
        imagePullPolicy: Never
        command: [sleep, infinity]
"""

# The shape of the lab's virtual-service-account-abort.yaml, for every caller of echo.
ABORT = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo}
spec:
  hosts: [echo.%(namespace)s.svc.cluster.local]
  http:
  - fault:
      abort:
        httpStatus: 503
        percentage: {value: 100}
    route:
    - destination: {host: echo.%(namespace)s.svc.cluster.local}
"""


def kubectl(kubeconfig: Path, *args: str, input: str | None = None, timeout: float = WAIT) -> subprocess.CompletedProcess:
    return subprocess.run([str(KUBECTL), f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True,
                          input=input, timeout=timeout)


def wait_for(what, condition, timeout: float = WAIT, interval: float = 0.5):
    return wait_until(what, condition, timeout, interval)


def test_the_overlay_renders_local_images_and_no_istio_only_filters():
    """Offline (`istioctl manifest generate`): what the overlay must change, and nothing a learner sees."""
    import yaml

    from workshop.sim import istio, mesh

    rendered = istio.run_istioctl(["manifest", "generate", *mesh.install_flags()[2:]]).stdout
    objects = [item for item in yaml.safe_load_all(rendered) if item]
    istiod = next(item for item in objects if item["kind"] == "Deployment" and item["metadata"]["name"] == "istiod")
    container = istiod["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["imagePullPolicy"]) == (mesh.image_name("pilot"), "Never")
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    assert env["PILOT_ENABLE_METADATA_EXCHANGE"] == env["PILOT_ENABLE_ALPN_FILTER"] == "false"
    mesh_config = yaml.safe_load(next(item for item in objects if item["kind"] == "ConfigMap"
                                      and item["metadata"]["name"] == "istio")["data"]["mesh"])
    assert "metrics" not in (mesh_config.get("defaultProviders") or {}), "istio.stats would make every sidecar NACK"
    injector = json.loads(next(item for item in objects if item["kind"] == "ConfigMap"
                               and item["metadata"]["name"] == "istio-sidecar-injector")["data"]["values"])
    assert (injector["global"]["hub"], injector["global"]["proxy"]["image"]) == (mesh.HUB, "proxyv2")
    # The learner's choices survive the overlay: the gateway on kind's NodePort, no egress gateway.
    names = {item["metadata"]["name"] for item in objects if item["kind"] == "Deployment"}
    assert names == {"istiod", "istio-ingressgateway"}


def test_the_release_folder_is_shaped_like_a_download_and_its_istioctl_adds_only_the_overlay():
    """Offline: what lab.sh finds in ISTIO_DIR (bin/istioctl at the pinned version, samples/addons), and
    that this istioctl renders the learner's file with the overlay's local images and the release's tag."""
    import yaml

    from workshop.sim import istio_release, mesh
    from workshop.versions import all_versions

    folder = istio_release.make_release_dir()
    assert (folder / "samples" / "addons" / "jaeger.yaml").is_file() and (folder / "manifests" / "charts").is_dir()
    istioctl = folder / "bin" / "istioctl"
    version = subprocess.run([str(istioctl), "version", "--remote=false"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"client version: {all_versions()['ISTIO_VERSION']}", version.stdout
    rendered = subprocess.run([str(istioctl), "manifest", "generate", "-f", str(mesh.LAB_OPERATOR_FILE)],
                              capture_output=True, text=True, timeout=120, env={**os.environ, "KUBECONFIG": ""})
    assert rendered.returncode == 0, rendered.stderr
    images = {container["image"] for item in yaml.safe_load_all(rendered.stdout) if item and item["kind"] == "Deployment"
              for container in item["spec"]["template"]["spec"]["containers"]}
    assert mesh.image_name("pilot") in images, images  # the overlay's hub, the release's tag (no --set tag)
    # Anything else goes to the real istioctl untouched.
    help_text = subprocess.run([str(istioctl), "x", "--help"], capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0


def test_the_addon_standins_answer_only_health_probes_on_the_addons_ports():
    from workshop.sim import addon_standins, istio_release

    addons = istio_release.make_release_dir() / "samples" / "addons"
    grafana = addon_standins.plan(addons / "grafana.yaml")
    assert len(grafana) == 1 and grafana[0].image.startswith("docker.io/grafana/")  # the manifest's own name
    assert 3000 in grafana[0].ports and grafana[0].health_paths == ["/api/health"]
    # In podman a stand-in never carries the real image's name (preload and kind would take it for the real one).
    assert addon_standins.local_name(grafana[0].image).startswith("localhost/workshop-sim/standin-grafana:")
    kiali = addon_standins.plan(addons / "kiali.yaml")[0]
    assert kiali.command == "/opt/kiali/kiali" and kiali.health_paths == ["/kiali/healthz"]
    assert "jaeger" not in addon_standins.ADDONS  # the real one runs (workshop/sim/jaeger.py)


def test_jaeger_is_built_from_its_module_with_upstreams_replaces_and_runs_under_the_addons_name():
    """Offline: the wrapper repeats upstream's replace lines (or it would build other code), and the
    nodes' name for the image is the one samples/addons/jaeger.yaml runs."""
    from workshop.sim import istio_release, jaeger
    from workshop.versions import all_versions

    spec = jaeger.spec()
    assert spec.requires == {jaeger.MODULE: all_versions()["JAEGER_MODULE_VERSION"]}
    assert spec.replaces == {"github.com/Shopify/sarama": "github.com/Shopify/sarama v1.33.0"}
    addons = istio_release.make_release_dir() / "samples" / "addons"
    assert jaeger.manifest_image(addons).startswith("docker.io/jaegertracing/jaeger:")


@pytest.fixture(scope="module")
def mesh(request) -> Path:
    """A real-node sim with Istio installed by istioctl (real istiod, webhook, gateway); its kubeconfig."""
    from workshop.pytest_cluster import _sim_kubeconfig
    from workshop.sim import mesh
    from workshop.sim.cluster import Sim

    built = mesh.build_images()
    kubeconfig = _sim_kubeconfig(request, MESH_SIM, nodes="real")
    Sim(MESH_SIM).load([*built, mesh.LOCAL_BASE])
    mesh.install(kubeconfig)
    return kubeconfig


@pytest.fixture(scope="module")
def app(mesh) -> str:
    """echo and client in a namespace labelled for injection; rolled out, so both got their sidecar."""
    from workshop.sim.mesh import LOCAL_BASE

    namespace = f"t-mesh-{os.getpid()}"
    assert kubectl(mesh, "create", "namespace", namespace).returncode == 0
    assert kubectl(mesh, "label", "namespace", namespace, "istio-injection=enabled").returncode == 0
    manifest = WORKLOADS % {"image": LOCAL_BASE, "server": json.dumps(ECHO_SERVER)}
    applied = kubectl(mesh, "-n", namespace, "apply", "-f", "-", input=manifest)
    assert applied.returncode == 0, applied.stderr
    for deployment in ("echo", "client"):
        rollout = kubectl(mesh, "-n", namespace, "rollout", "status", f"deployment/{deployment}", f"--timeout={WAIT}s",
                          timeout=WAIT + 10)
        assert rollout.returncode == 0, rollout.stderr + events(mesh, namespace) + sync_status(mesh)
    yield namespace
    # Waited for: a sim-down while the kubelet still removes these pods' cgroups races with it.
    kubectl(mesh, "delete", "namespace", namespace, f"--timeout={WAIT}s", timeout=WAIT + 10)


def events(kubeconfig: Path, namespace: str) -> str:
    return kubectl(kubeconfig, "-n", namespace, "get", "events", "--sort-by=.lastTimestamp").stdout[-3000:]


def sync_status(kubeconfig: Path) -> str:
    """`istioctl proxy-status -v 1`: a sidecar that NACKs never gets Ready, and this says so."""
    from workshop.sim.istio import istioctl_binary

    result = subprocess.run([str(istioctl_binary()), f"--kubeconfig={kubeconfig}", "proxy-status", "-v", "1"],
                            capture_output=True, text=True, timeout=60)
    return f"\nistioctl proxy-status:\n{result.stdout}{result.stderr}"


def pod_of(kubeconfig: Path, namespace: str, app: str) -> dict:
    pods = json.loads(kubectl(kubeconfig, "-n", namespace, "get", "pods", "-l", f"app={app}", "-o", "json").stdout)
    running = [pod for pod in pods["items"] if pod["status"].get("phase") == "Running"]
    assert running, f"no running pod of {app}: {events(kubeconfig, namespace)}"
    return running[0]


def proxy_request(kubeconfig: Path, namespace: str, app: str, path: str) -> str:
    """GET on the sidecar's Envoy admin API (``pilot-agent request``, as istioctl does)."""
    name = pod_of(kubeconfig, namespace, app)["metadata"]["name"]
    result = kubectl(kubeconfig, "-n", namespace, "exec", name, "-c", "istio-proxy", "--",
                     "pilot-agent", "request", "GET", path, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def get_from_client(kubeconfig: Path, namespace: str, url: str) -> tuple[int, str]:
    """(status, body) of a GET sent by the client pod's application container."""
    result = kubectl(kubeconfig, "-n", namespace, "exec", "deploy/client", "-c", "client", "--",
                     "python3", "-c", GET, url, timeout=30)
    if result.returncode != 0:
        return 0, result.stderr.strip()
    status, _, body = result.stdout.partition("\n")
    return int(status), body.strip()


def test_istioctl_install_brings_istiod_and_the_ingress_gateway_up(mesh):
    for deployment in ("istiod", "istio-ingressgateway"):
        rollout = kubectl(mesh, "-n", "istio-system", "rollout", "status", f"deployment/{deployment}",
                          "--timeout=10s")
        assert rollout.returncode == 0, rollout.stderr
    webhooks = kubectl(mesh, "get", "mutatingwebhookconfigurations", "-o", "name").stdout
    assert "istio-sidecar-injector" in webhooks


def test_istiods_webhook_injects_istio_init_and_the_proxy(mesh, app):
    pod = pod_of(mesh, app, "client")
    init = {container["name"]: container for container in pod["spec"].get("initContainers", [])}
    assert {"istio-init", "istio-proxy"} <= set(init), f"not injected: init containers {sorted(init)}"
    # Kubernetes 1.36 nodes: istiod makes the proxy a native sidecar (a restartable init container).
    assert init["istio-proxy"].get("restartPolicy") == "Always"
    assert init["istio-proxy"]["image"].startswith("localhost/istio-sim/proxyv2:")
    assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]


@pytest.mark.parametrize("workload", ["client", "echo"])
def test_each_proxy_holds_a_workload_certificate_and_acked_its_config(mesh, app, workload):
    spiffe_id = f"spiffe://{TRUST_DOMAIN}/ns/{app}/sa/{workload}"
    certificates = proxy_request(mesh, app, workload, "certs")
    assert spiffe_id in certificates, f"no certificate for {spiffe_id} in Envoy's /certs"

    def counters() -> dict[str, int]:
        stats = proxy_request(mesh, app, workload, "stats")
        return {name: int(value) for name, value in re.findall(r"^(\S+update_(?:success|rejected)): (\d+)$", stats, re.M)}

    def all_accepted():
        found = counters()
        return found if all(found.get(f"{kind}.update_success", 0) >= 1 for kind in
                            ("cluster_manager.cds", "listener_manager.lds")) else None

    found = wait_for(lambda: f"{workload}'s Envoy accepted CDS and LDS: {counters()}", all_accepted)
    rejected = {name: value for name, value in found.items() if name.endswith("update_rejected") and value}
    assert not rejected, f"{workload}'s Envoy rejected (NACKed) istiod's config: {rejected}"


def test_istiod_sees_every_xds_type_acked_by_both_sidecars(mesh, app):
    """istiod's own view (`istioctl proxy-status`, its syncz): SYNCED is ACKed, ERROR a NACK."""
    from workshop.sim.istio import istioctl_binary

    expected = {"Cluster", "Listener", "RouteConfiguration", "ClusterLoadAssignment"}

    def statuses() -> dict[str, dict[str, str]]:
        result = subprocess.run([str(istioctl_binary()), f"--kubeconfig={mesh}", "proxy-status",
                                 "-o", "json"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return {
            client["node"]["id"].split(".")[0].rsplit("-", 2)[0]: {
                config["typeUrl"].rsplit(".", 1)[-1]: config.get("configStatus", "")
                for config in client.get("genericXdsConfigs", [])
            }
            for client in json.loads(result.stdout).get("resources", [])
            if client["node"]["id"].endswith(f".{app}")
        }

    def all_synced():
        found = statuses()
        nacked = {name: types for name, types in found.items() if "ERROR" in types.values()}
        assert not nacked, f"a sidecar NACKed istiod's config: {nacked}"
        return found if set(found) == {"client", "echo"} and all(
            expected <= {kind for kind, status in types.items() if status == "SYNCED"} for types in found.values()) \
            else None

    wait_for(lambda: f"both sidecars ACKed {sorted(expected)}: {statuses()}", all_synced)


def test_a_request_crosses_both_sidecars_with_mutual_tls(mesh, app):
    url = f"http://echo.{app}/"
    status, body = wait_for(lambda: f"client got 200 from {url}", lambda: (lambda got: got if got[0] == 200 else None)(
        get_from_client(mesh, app, url)))
    headers = json.loads(body)
    # Set by echo's Envoy after it terminated the client Envoy's mutual TLS: both SPIFFE ids.
    client_cert = headers.get("x-forwarded-client-cert", "")
    assert f"By=spiffe://{TRUST_DOMAIN}/ns/{app}/sa/echo" in client_cert, headers
    assert f"URI=spiffe://{TRUST_DOMAIN}/ns/{app}/sa/client" in client_cert, headers
    assert "x-request-id" in headers  # Envoy's, on every request it routes


def test_a_virtual_service_abort_fault_answers_503_from_envoy(mesh, app):
    url = f"http://echo.{app}/"
    assert get_from_client(mesh, app, url)[0] == 200, "echo must answer before the fault is set"
    applied = kubectl(mesh, "-n", app, "apply", "-f", "-", input=ABORT % {"namespace": app})
    assert applied.returncode == 0, applied.stderr
    try:
        status, body = wait_for(
            lambda: f"the abort fault of VirtualService echo reached the client's Envoy: {get_from_client(mesh, app, url)}",
            lambda: (lambda got: got if got[0] == 503 else None)(get_from_client(mesh, app, url)))
        assert body == "fault filter abort"
    finally:
        kubectl(mesh, "-n", app, "delete", "virtualservice", "echo")
    wait_for("echo answers 200 again once the VirtualService is gone",
             lambda: get_from_client(mesh, app, url)[0] == 200)
