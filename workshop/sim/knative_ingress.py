"""STAND-IN for Kourier (docs/contributing/testing.md): the smallest Knative ingress that routes.

Kourier is not served by the Go module proxy, so this program takes its place in the sim's
``kourier.yaml`` (workshop/sim/knative_kourier.py), in Kourier's two roles (Python's standard
library only):

- ``gateway`` (Deployment ``3scale-kourier-gateway`` in ``kourier-system``, where Kourier runs
  Envoy): reads Knative's ``networking.internal.knative.dev/v1alpha1`` Ingresses of class
  ``kourier.ingress.networking.knative.dev`` from the API server every second, and routes HTTP by
  ``Host`` (port ignored), path prefix and exact header match, picking a split by its ``percent``
  per request and adding the split's and the path's ``appendHeaders`` (the activator finds the
  revision by them) and ``rewriteHost``: ``ExternalIP`` rules on the public port (Service
  ``kourier``), every rule on the internal one (Service ``kourier-internal``). A request with the
  header ``K-Network-Probe: probe`` gets the generations it routes.
- ``controller`` (Deployment ``net-kourier-controller`` in ``knative-serving``): marks an Ingress
  Ready, with the load balancers Knative's Route points at, once every Ready gateway pod answers
  the probe with that Ingress's generation (real Kourier probes its Envoys the same way).

Left out, where real Kourier would act: TLS, HTTP/2 and websockets, retries and per-route
timeouts beyond one fixed upstream timeout, and every other Envoy feature. An unknown host
answers 404, as Envoy does; an upstream that does not answer gives 503.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INGRESS_CLASS = "kourier.ingress.networking.knative.dev"
CLASS_ANNOTATION = "networking.knative.dev/ingress.class"
API_PATH = "/apis/networking.internal.knative.dev/v1alpha1"
NAMESPACE = os.environ.get("GATEWAY_NAMESPACE", "kourier-system")  # where the gateway pods run
PUBLIC = {"domainInternal": f"kourier.{NAMESPACE}.svc.cluster.local"}
PRIVATE = {"domainInternal": f"kourier-internal.{NAMESPACE}.svc.cluster.local"}
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
UPSTREAM_TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT_SECONDS", "300"))
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}

# {"public"|"internal": {host: [path rule, ...]}}: swapped whole, never edited in place.
ROUTES: dict[str, dict[str, list[dict]]] = {"public": {}, "internal": {}}
# {"namespace/name": generation} of the Ingresses ROUTES holds: what a probe answers.
LOADED: dict[str, int] = {}
PROBE_HEADER = "K-Network-Probe"
GATEWAY_LABEL = "app=3scale-kourier-gateway"


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- The API server ----------------------------------------------------------------------------

class Api:
    def __init__(self) -> None:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        self.base = f"https://{host}:{port}"
        self.context = ssl.create_default_context(cafile=f"{SERVICE_ACCOUNT}/ca.crt")

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        with open(f"{SERVICE_ACCOUNT}/token") as handle:  # the kubelet rotates it
            token = handle.read().strip()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            return json.loads(response.read())


# --- Routes --------------------------------------------------------------------------------------

def ours(ingress: dict) -> bool:
    return (ingress["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION) == INGRESS_CLASS


def routes_of(ingresses: list[dict]) -> dict[str, dict[str, list[dict]]]:
    """The routing table of every Ingress: per listener, per host, its paths (longest prefix first)."""
    table: dict[str, dict[str, list[dict]]] = {"public": {}, "internal": {}}
    for ingress in ingresses:
        for rule in ingress["spec"].get("rules") or []:
            listeners = ["internal"] + (["public"] if rule.get("visibility", "ExternalIP") == "ExternalIP" else [])
            for path in (rule.get("http") or {}).get("paths") or []:
                entry = {"prefix": path.get("path") or "/", "headers": path.get("headers") or {},
                         "splits": path.get("splits") or [], "append": path.get("appendHeaders") or {},
                         "rewrite_host": path.get("rewriteHost") or ""}
                for host in rule.get("hosts") or []:
                    for listener in listeners:
                        table[listener].setdefault(host.lower(), []).append(entry)
    for hosts in table.values():
        for paths in hosts.values():
            paths.sort(key=lambda entry: (-len(entry["prefix"]), -len(entry["headers"])))
    return table


def matches(entry: dict, path: str, headers) -> bool:
    if not path.startswith(entry["prefix"]):
        return False
    return all(headers.get(name) == (match or {}).get("exact") for name, match in entry["headers"].items())


def pick_split(splits: list[dict], draw: float | None = None) -> dict | None:
    """A split chosen with the probabilities its ``percent`` gives (0 to 100 in all)."""
    total = sum(split.get("percent", 0) for split in splits)
    if not splits or total <= 0:
        return None
    point = (random.random() if draw is None else draw) * total
    for split in splits:
        point -= split.get("percent", 0)
        if point < 0:
            return split
    return splits[-1]


def upstream_address(split: dict) -> tuple[str, int]:
    """The split's Service by its cluster DNS name (Knative names the port by number)."""
    port = split.get("servicePort", 80)
    return f"{split['serviceName']}.{split['serviceNamespace']}.svc.cluster.local", int(port) if str(port).isdigit() else 80


def ready_status(ingress: dict) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conditions = [{"type": kind, "status": "True", "lastTransitionTime": now}
                  for kind in ("LoadBalancerReady", "NetworkConfigured", "Ready")]
    return {"observedGeneration": ingress["metadata"].get("generation", 0), "conditions": conditions,
            "publicLoadBalancer": {"ingress": [PUBLIC]}, "privateLoadBalancer": {"ingress": [PRIVATE]}}


def is_ready(ingress: dict) -> bool:
    status = ingress.get("status") or {}
    ready = any(item.get("type") == "Ready" and item.get("status") == "True" for item in status.get("conditions") or [])
    return ready and status.get("observedGeneration") == ingress["metadata"].get("generation")


def key(ingress: dict) -> str:
    return f"{ingress['metadata']['namespace']}/{ingress['metadata']['name']}"


def load_routes_forever(api: Api, period: float = 1.0) -> None:
    """The gateway: the routing table follows the Ingresses."""
    global LOADED
    while True:
        try:
            ingresses = [item for item in api.call("GET", f"{API_PATH}/ingresses")["items"] if ours(item)]
            table = routes_of(ingresses)
            if table != ROUTES:
                ROUTES.clear()
                ROUTES.update(table)
                log(f"routes: {sum(len(hosts) for hosts in table.values())} host entries from {len(ingresses)} ingresses")
            LOADED = {key(item): item["metadata"].get("generation", 0) for item in ingresses}
        except Exception as error:  # the API server restarting: try again next round
            log(f"gateway: {error}")
        time.sleep(period)


def gateway_generations(api: Api) -> list[dict[str, int]]:
    """What each Ready gateway pod routes, by probing it (an empty list: no gateway is Ready)."""
    pods = api.call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector={GATEWAY_LABEL}")["items"]
    answers = []
    for pod in pods:
        ready = any(item.get("type") == "Ready" and item.get("status") == "True"
                    for item in (pod.get("status") or {}).get("conditions") or [])
        address = (pod.get("status") or {}).get("podIP")
        if not ready or not address:
            continue
        connection = http.client.HTTPConnection(address, int(os.environ.get("INTERNAL_PORT", "8081")), timeout=5)
        try:
            connection.request("GET", "/", headers={PROBE_HEADER: "probe", "Host": "probe.kourier.internal"})
            answers.append(json.loads(connection.getresponse().read()))
        except (OSError, ValueError, http.client.HTTPException) as error:
            log(f"controller: gateway {pod['metadata']['name']} did not answer its probe: {error}")
            answers.append({})
        finally:
            connection.close()
    return answers


def routed_everywhere(ingress: dict, gateways: list[dict[str, int]]) -> bool:
    """Does every Ready gateway (one at least) route this Ingress's generation?"""
    generation = ingress["metadata"].get("generation", 0)
    return bool(gateways) and all(loaded.get(key(ingress)) == generation for loaded in gateways)


def mark_ready_forever(api: Api, period: float = 1.0) -> None:
    """The controller: an Ingress is Ready once every Ready gateway routes its generation."""
    while True:
        try:
            ingresses = [item for item in api.call("GET", f"{API_PATH}/ingresses")["items"] if ours(item)]
            pending = [item for item in ingresses if not is_ready(item)]
            gateways = gateway_generations(api) if pending else []
            for ingress in pending:
                if routed_everywhere(ingress, gateways):
                    ingress["status"] = ready_status(ingress)
                    api.call("PUT", f"{API_PATH}/namespaces/{ingress['metadata']['namespace']}/ingresses/"
                                    f"{ingress['metadata']['name']}/status", ingress)
                    log(f"ingress {key(ingress)} generation {ingress['metadata'].get('generation')} is Ready")
        except Exception as error:  # the API server restarting, a conflict: try again next round
            log(f"controller: {error}")
        time.sleep(period)


# --- The proxy -----------------------------------------------------------------------------------

class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    listener = "public"

    def log_message(self, format, *args):  # noqa: A002 - quiet: one line per error only
        pass

    def _answer(self, status: int, message: str) -> None:
        body = (json.dumps({"error": message}) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        entries = ROUTES[self.listener].get(host, [])
        return next((entry for entry in entries if matches(entry, self.path, self.headers)), None), host

    def _forward(self):
        if self.headers.get(PROBE_HEADER) == "probe":
            body = (json.dumps(LOADED) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        entry, host = self._route()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if entry is None:
            self._answer(404, f"no route for host {host!r} and path {self.path!r}")
            return
        split = pick_split(entry["splits"])
        if split is None:
            self._answer(503, f"no backend with traffic for host {host!r}")
            return
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        headers.update(entry["append"])
        headers.update(split.get("appendHeaders") or {})
        if entry["rewrite_host"]:
            headers["Host"] = entry["rewrite_host"]
        headers["X-Forwarded-For"] = self.client_address[0]
        upstream, port = upstream_address(split)
        try:
            connection = http.client.HTTPConnection(upstream, port, timeout=UPSTREAM_TIMEOUT)
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            log(f"{self.command} {host}{self.path} -> {upstream}:{port}: {error}")
            self._answer(503, f"upstream {upstream}:{port} did not answer: {error}")
            return
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward  # noqa: N815


class InternalProxy(Proxy):
    listener = "internal"


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main(argv: list[str]) -> int:
    if argv != ["gateway"] and argv != ["controller"]:
        print("usage: knative_ingress.py gateway|controller", file=sys.stderr)
        return 2
    if argv == ["controller"]:
        log(f"Kourier stand-in controller: marks Ingresses of class {INGRESS_CLASS} Ready once the gateways route them")
        mark_ready_forever(Api())
        return 0
    public_port, internal_port = int(os.environ.get("PUBLIC_PORT", "8080")), int(os.environ.get("INTERNAL_PORT", "8081"))
    for port, handler in ((public_port, Proxy), (internal_port, InternalProxy)):
        threading.Thread(target=Server(("", port), handler).serve_forever, daemon=True).start()
    log(f"Kourier stand-in gateway: public port {public_port}, internal port {internal_port}, class {INGRESS_CLASS}")
    load_routes_forever(Api())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
