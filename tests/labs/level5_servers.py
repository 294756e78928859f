"""Small HTTP servers on 127.0.0.1 for level 5's data-plane logic: each plays one thing the
checks meet on a real cluster (an app answering through a weighted route, a sidecar that
resets plaintext, an Envoy metrics page, Jaeger's query API, an API server without Istio)."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def http_server(answer):
    """Serve ``answer(path, count) -> (status, body bytes)`` on 127.0.0.1; yields the base URL."""
    lock, counter = threading.Lock(), [0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            with lock:
                counter[0] += 1
                count = counter[0]
            status, body = answer(self.path, count)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def resetting_server():
    """A TCP listener that resets every connection, as a STRICT sidecar does to plaintext HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            # SO_LINGER 0: close sends RST, not FIN (what Envoy does on a failed handshake).
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def summary_body(version: str | None, status: int = 200) -> bytes:
    """What the gateway's /api/customers/N/summary answers: a route trace down to account."""
    trace = [{"service": "gateway", "version": "v1", "status": 200},
             {"service": "customer", "version": "v1", "status": 200},
             {"service": "order", "version": "v1", "status": 200}]
    if version:
        trace.append({"service": "account", "version": version, "status": status})
    return json.dumps({"customer": {"id": 1}, "trace": trace}).encode()


def without_istio_api(path: str, count: int) -> tuple[int, bytes]:
    """An API server with no Istio CRDs: Istio's groups 404, everything else an empty list."""
    if path.startswith("/version"):
        return 200, json.dumps({"gitVersion": "v0.0.0-stub"}).encode()
    if any(path.startswith(f"/apis/{group}/") for group in
           ("networking.istio.io", "security.istio.io", "telemetry.istio.io")):
        return 404, json.dumps({"kind": "Status", "code": 404, "message": "the server could not find the "
                                "requested resource"}).encode()
    if path.startswith("/api/v1/nodes"):  # one KWOK node: the data-plane checks skip, as on the sim
        node = {"metadata": {"name": "kwok-node-1", "annotations": {"kwok.x-k8s.io/node": "fake"}}}
        return 200, json.dumps({"kind": "List", "items": [node]}).encode()
    return 200, json.dumps({"kind": "List", "items": []}).encode()


def kubeconfig_for(url: str, folder, context: str = "kind-stub"):
    path = folder / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "stub", "cluster": {"server": url}}],
        "users": [{"name": "stub", "user": {"token": "stub-token"}}],
        "contexts": [{"name": context, "context": {"cluster": "stub", "user": "stub"}}],
    }))
    return path
