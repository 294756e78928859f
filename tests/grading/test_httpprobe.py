"""HTTP probes of services: real HTTP servers on 127.0.0.1 stand in for the data plane."""

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workshop.grading.httpprobe import Answer, Direct, PortForward, ProbeError, ServiceProxy, expect_http, probe
from workshop.grading.kube import Cluster

PROXY = "/api/v1/namespaces/workshop/services/gateway:http/proxy"


@contextmanager
def http_server(routes: dict[str, tuple[int, bytes]]):
    """A real HTTP server on 127.0.0.1 answering ``routes`` (path -> (status, body)), 404 otherwise."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            status, body = routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_direct_gets_status_and_body():
    with http_server({"/healthz": (200, b'{"status": "ok"}')}) as url:
        answer = Direct(url).get("/healthz")
    assert (answer.status, answer.json()) == (200, {"status": "ok"})
    assert expect_http(answer, status=200, json_keys=["status"]) == []


def test_an_error_status_is_an_answer_not_a_transport_failure():
    with http_server({"/readyz": (503, b'{"status": "starting"}')}) as url:
        answer = Direct(url).get("/readyz")
    assert answer.status == 503
    assert [str(m) for m in expect_http(answer, status=200, where="GET gateway/readyz")] == [
        "GET gateway/readyz status: expected 200, got 503"]


def test_expect_http_checks_json_keys_and_text():
    answer = Answer(200, b"<html>Workshop shop</html>", "test")
    assert [m.path for m in expect_http(answer, json_keys=["status"])] == ["test body"]
    assert expect_http(answer, contains="Workshop") == []
    assert expect_http(answer, contains="Checkout") != []


def test_probe_falls_back_to_the_next_transport():
    with http_server({"/healthz": (200, b"ok")}) as url:
        closed = Direct("http://127.0.0.1:1", timeout=1)  # nothing listens on port 1
        answer = probe("/healthz", [closed, Direct(url)])
    assert answer.status == 200 and answer.via == f"direct {url}"


def test_probe_lists_every_failure_when_nothing_answers():
    with pytest.raises(ProbeError) as failure:
        probe("/healthz", [Direct("http://127.0.0.1:1", timeout=1), Direct("http://127.0.0.1:2", timeout=1)])
    assert "127.0.0.1:1" in str(failure.value) and "127.0.0.1:2" in str(failure.value)
    assert isinstance(failure.value, AssertionError), "a service that does not answer is a failed check"


def test_the_service_proxy_answer_is_used(stub):
    stub.raw[PROXY + "/healthz"] = (200, b'{"status": "ok"}')
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(_tmp())))
    answer = probe("/healthz", [ServiceProxy(cluster, "workshop", "gateway", "http")])
    assert answer.status == 200 and answer.via == "service proxy workshop/gateway:http"
    assert stub.requests[PROXY + "/healthz"] == 1


def test_when_the_api_server_cannot_reach_the_service_port_forward_is_tried(stub):
    # What kube-apiserver says when it cannot dial the pod (the sim's fake pods, or a dead one).
    stub.raw[PROXY + "/healthz"] = (503, b'{"message": "error trying to reach service: dial tcp 10.0.0.1:8080"}')
    cluster = Cluster.connect(kubeconfig=str(stub.kubeconfig(_tmp())))
    with http_server({"/healthz": (200, b"ok")}) as url:
        answer = probe("/healthz", [ServiceProxy(cluster, "workshop", "gateway", "http"), Direct(url)])
    assert answer.via.startswith("direct")


def test_port_forward_without_kubectl_fails_fast_and_clearly(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    started = time.monotonic()
    with pytest.raises(ProbeError, match="cannot run kubectl"):
        PortForward("workshop", "gateway", 8080, timeout=2).get("/healthz")
    assert time.monotonic() - started < 2


def _tmp():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="probe-"))
