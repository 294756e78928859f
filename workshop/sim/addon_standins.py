"""Stand-ins for the images of Istio's samples/addons Prometheus, Grafana and Kiali on the real-node sim.

STAND-IN, named as such on docs/contributing/testing.md: the nodes have no route out, so the
images the add-on manifests name (docker.io/prom/prometheus, quay.io/kiali/kiali, ...) cannot be
pulled, and none of them is built here. Without them `make lab-5` would wait for Deployments
that never start. Each stand-in image carries the add-on's own image name, listens on the ports
the manifest declares, answers **only its health probes** (200) and every other request with 501
and a body saying it is a stand-in. So `kubectl rollout status` and l5-dashboards pass, as they
do when the real add-on runs, and nothing a real add-on serves is imitated.

Jaeger, the fourth add-on, is no stand-in: workshop/sim/jaeger.py builds the real one, so
l5-trace-four-hops reads real traces. ``plan(<release folder>/samples/addons/grafana.yaml)[0].image``
is the manifest's own Grafana image.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from workshop.sim import images

# What lab.sh installs from samples/addons (its ADDONS list) and the sim does not build.
ADDONS = ("prometheus", "grafana", "kiali")
STANDIN_USER = "65534:65534"  # kiali runs with runAsNonRoot: a numeric non-root user

# The stand-in's server: 200 on the probe paths, 501 (saying what it is) on anything else.
SERVER = r'''
import http.server, json, signal, sys, threading
# PID 1 ignores SIGTERM unless it says otherwise: without this a pod waits out its grace period.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
config = json.load(open("/standin.json"))
class StandIn(http.server.BaseHTTPRequestHandler):
    def answer(self):
        ok = self.path.split("?")[0] in config["health_paths"]
        body = (b"ok" if ok else json.dumps({"error": "workshop sim stand-in for " + config["image"] +
                ": only its health probes answer; no real add-on is built on the sim (docs/contributing/testing.md)"}).encode())
        self.send_response(200 if ok else 501)
        self.send_header("Content-Type", "text/plain" if ok else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *args):
        pass
servers = [http.server.ThreadingHTTPServer(("", port), StandIn) for port in config["ports"]]
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
'''


@dataclass
class StandIn:
    image: str                      # the add-on's own image name, e.g. docker.io/grafana/grafana:12.0.1
    ports: list[int]
    health_paths: list[str]
    command: str | None = None      # the manifest's command[0] (kiali's /opt/kiali/kiali): made to start the server
    sources: list[str] = field(default_factory=list)


def _port_number(port, container: dict) -> int:
    if isinstance(port, int):
        return port
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item["containerPort"])
    raise ValueError(f"probe port {port!r} is not a named port of container {container.get('name')}")


def _service_ports(documents: list[dict]) -> set[int]:
    """Numeric targetPorts of the manifest's Services (Jaeger declares no containerPort at all)."""
    return {int(port.get("targetPort", port["port"])) for item in documents if item.get("kind") == "Service"
            for port in item["spec"].get("ports") or [] if isinstance(port.get("targetPort", port["port"]), int)}


def plan(manifest: Path) -> list[StandIn]:
    """One stand-in per container of the manifest's Deployments."""
    found = []
    documents = [item for item in yaml.safe_load_all(manifest.read_text()) if item]
    for document in documents:
        if document.get("kind") != "Deployment":
            continue
        containers = document["spec"]["template"]["spec"].get("containers") or []
        for container in containers:
            ports = {int(item["containerPort"]) for item in container.get("ports") or []}
            if len(containers) == 1:  # one container: it serves every port its Services name
                ports |= _service_ports(documents)
            paths = set()
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                check = (container.get(probe) or {}).get("httpGet")
                if check:
                    ports.add(_port_number(check["port"], container))
                    paths.add(check.get("path", "/"))
            command = (container.get("command") or [None])[0]
            found.append(StandIn(image=container["image"], ports=sorted(ports), health_paths=sorted(paths),
                                 command=command, sources=[manifest.name]))
    return found


def local_name(image: str) -> str:
    """The stand-in's name in podman: never the real add-on's, so nothing on this machine (a later
    kind cluster, `make preload`) can take a stand-in for the real image. Only the nodes see that name.

    >>> local_name("docker.io/grafana/grafana:12.0.1")
    'localhost/workshop-sim/standin-grafana:12.0.1'
    """
    repository, _, tag = image.rpartition(":")
    return f"localhost/workshop-sim/standin-{repository.rsplit('/', 1)[-1]}:{tag}"


def build(addons_dir: Path, base: str) -> dict[str, str]:
    """The stand-in images of lab.sh's add-ons (cached): {local podman name: the real image's name,
    which the nodes give it}."""
    built = {}
    for addon in ADDONS:
        for standin in plan(addons_dir / f"{addon}.yaml"):
            built[_build_one(standin, base)] = standin.image
    return built


def _build_one(standin: StandIn, base: str) -> str:
    config = {"image": standin.image, "ports": standin.ports, "health_paths": standin.health_paths}
    lines = [f"FROM {base}", "COPY standin.py /standin.py", "COPY standin.json /standin.json"]
    if standin.command:
        lines.append(f"RUN mkdir -p {Path(standin.command).parent} && printf '#!/bin/sh\\nexec python3 /standin.py\\n'"
                     f" > {standin.command} && chmod 755 {standin.command}")
    lines += [f"USER {STANDIN_USER}", 'ENTRYPOINT ["python3", "/standin.py"]',
              'LABEL workshop.standin="workshop sim stand-in (workshop/sim/addon_standins.py), not the real add-on"']
    name = local_name(standin.image)
    inputs = hashlib.sha256(json.dumps([lines, config, SERVER, base]).encode()).hexdigest()[:16]
    if images._label(name) == inputs:
        return name
    with tempfile.TemporaryDirectory(prefix="addon-standin-") as context:
        (Path(context) / "standin.py").write_text(SERVER)
        (Path(context) / "standin.json").write_text(json.dumps(config))
        (Path(context) / "Containerfile").write_text("\n".join([*lines, f"LABEL {images.DIGEST_LABEL}={inputs}"]) + "\n")
        images.podman("build", "-q", "--format", "oci", "--network=none", "-t", name, context,
                      what=f"building the stand-in for {standin.image}")
    return name

