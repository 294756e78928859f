"""A tiny stand-in for the Kubernetes API, on 127.0.0.1, for the engine's edge cases.

The sim cluster (a real kube-apiserver) proves the checks; this stub makes the *rare*
answers happen on demand — a 503 then a 200, a 429, a 403, a missing API group, an
object that becomes ready on the third read — and counts every request, so the engine's
retry, convergence and one-LIST-per-kind behaviour can be tested exactly.

    stub = ApiStub()
    stub.objects["/apis/apps/v1/namespaces/workshop/deployments"] = [deployment]
    stub.script["/api/v1/namespaces/workshop/pods"] = [503, 503]  # then the objects
    with stub.running():
        ... stub.kubeconfig(tmp_path) ...
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse


class ApiStub:
    def __init__(self):
        self.objects: dict[str, list | callable] = {}  # collection path -> items, or f(read_count) -> items
        self.script: dict[str, list] = defaultdict(list)  # path -> statuses to answer first, in order
        self.raw: dict[str, tuple[int, bytes]] = {}  # path -> fixed (status, body), e.g. a service proxy
        self.requests: Counter[str] = Counter()
        self.methods: Counter[str] = Counter()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def running(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                path = urlparse(self.path).path
                stub.requests[path] += 1
                stub.methods["GET"] += 1
                status, body = stub.answer(path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                stub.methods["POST"] += 1
                self.send_response(405)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, path: str) -> tuple[int, bytes]:
        if self.script.get(path):
            status = self.script[path].pop(0)
            return status, json.dumps({"kind": "Status", "message": f"scripted {status}", "code": status}).encode()
        if path in self.raw:
            return self.raw[path]
        if path == "/version":
            return 200, json.dumps({"gitVersion": "v0.0.0-stub"}).encode()
        if path in self.objects:
            items = self.objects[path]
            if callable(items):
                items = items(self.requests[path])
            return 200, json.dumps({"kind": "List", "items": items}).encode()
        return 404, json.dumps({"kind": "Status", "message": "the server could not find the requested resource",
                                "code": 404}).encode()

    def kubeconfig(self, folder: Path, context: str = "kind-stub") -> Path:
        path = folder / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "stub", "cluster": {"server": self.url}}],
            "users": [{"name": "stub", "user": {"token": "stub-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "stub", "user": "stub"}}],
        }))
        return path


def deployment(name: str, replicas: int = 1, available: int | None = None, namespace: str = "workshop") -> dict:
    available = replicas if available is None else available
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": "u-1", "resourceVersion": "7", "generation": 1,
                     "managedFields": [{"manager": "kubectl"}], "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": f"localhost/workshop/{name}:dev"}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "availableReplicas": available,
                   "conditions": [{"type": "Available", "status": "True" if available >= replicas else "False",
                                   "reason": "MinimumReplicasAvailable", "message": "stub",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    }
