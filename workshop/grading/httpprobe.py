"""Ask a Service a question over HTTP, the way a learner would, but read-only.

First through the API server's service proxy (``GET /api/v1/namespaces/NS/services/
NAME:PORT/proxy/PATH``: no local port, works behind any kubeconfig), then, if the API
server cannot reach the service, through ``kubectl port-forward`` to 127.0.0.1.

    >>> answer = probe("/healthz", [ServiceProxy(cluster, "workshop", "gateway", "http")])
    >>> expect_http(answer, status=200, json_keys=["status"])
    []

Both need a real data plane (a kubelet and a pod network): on the sim cluster pods are
fake, so checks that probe are marked ``data_plane=True`` and skipped there. The logic
here is tested against real HTTP servers on 127.0.0.1 (:class:`Direct`).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote

from workshop.grading.kube import Cluster, Transient
from workshop.grading.matcher import Mismatch

PROBE_TIMEOUT = 5.0
# What the API server says when *it* cannot reach the service (as opposed to the service answering 503).
PROXY_FAILURE = re.compile(rb"error trying to reach service|no endpoints available|dial tcp|connection refused", re.I)


class ProbeError(AssertionError):
    """No transport got an answer (a failed check); the message lists what each one saw."""


@dataclass
class Answer:
    status: int
    body: bytes
    via: str

    def json(self):
        return json.loads(self.body)


class Direct:
    """Plain HTTP to a base URL (127.0.0.1 in tests, or a URL the learner port-forwarded)."""

    def __init__(self, base_url: str, timeout: float = PROBE_TIMEOUT):
        self.base_url, self.timeout, self.name = base_url.rstrip("/"), timeout, f"direct {base_url}"

    def get(self, path: str) -> Answer:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=self.timeout) as response:
                return Answer(response.status, response.read(), self.name)
        except urllib.error.HTTPError as error:  # an HTTP answer, even if an error one
            return Answer(error.code, error.read(), self.name)
        except (urllib.error.URLError, OSError) as error:
            raise ProbeError(f"{self.name}: {getattr(error, 'reason', error)}") from None


class ServiceProxy:
    """Through the API server: needs only `get services/proxy`, which the checker's role grants."""

    def __init__(self, cluster: Cluster, namespace: str, service: str, port: str | int):
        self.cluster = cluster
        self.prefix = f"/api/v1/namespaces/{quote(namespace)}/services/{quote(service)}:{port}/proxy"
        self.name = f"service proxy {namespace}/{service}:{port}"

    def get(self, path: str) -> Answer:
        try:
            status, body = self.cluster.send(self.prefix + path, accept="*/*")
        except Transient as error:
            raise ProbeError(f"{self.name}: {error}") from None
        if status in (502, 503) and PROXY_FAILURE.search(body or b""):
            raise ProbeError(f"{self.name}: the API server could not reach the service ({status})")
        if status in (401, 403):
            raise ProbeError(f"{self.name}: not allowed ({status})")
        return Answer(status, body, self.name)


class PortForward:
    """``kubectl port-forward svc/NAME :PORT`` on 127.0.0.1, for as long as one request takes."""

    def __init__(self, namespace: str, service: str, port: int, context: str | None = None,
                 kubeconfig: str | None = None, timeout: float = PROBE_TIMEOUT):
        self.command = ["kubectl", "port-forward", "--address", "127.0.0.1", "-n", namespace, f"svc/{service}", f":{port}"]
        if context:
            self.command[1:1] = ["--context", context]
        if kubeconfig:
            self.command[1:1] = ["--kubeconfig", kubeconfig]
        self.timeout, self.name = timeout, f"port-forward {namespace}/{service}:{port}"

    def get(self, path: str) -> Answer:
        try:
            process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as error:
            raise ProbeError(f"{self.name}: cannot run kubectl ({error.strerror})") from None
        try:
            local_port = _read_forwarded_port(process, time.monotonic() + self.timeout)
            if local_port is None:
                raise ProbeError(f"{self.name}: kubectl did not start forwarding within {self.timeout:.0f}s")
            answer = Direct(f"http://127.0.0.1:{local_port}", self.timeout).get(path)
            answer.via = self.name
            return answer
        finally:
            process.terminate()
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()


def _read_forwarded_port(process: subprocess.Popen, deadline: float) -> int | None:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline and process.poll() is None:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = process.stdout.readline()
                found = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
                if found:
                    return int(found.group(1))
    return None


def probe(path: str, transports: list) -> Answer:
    """The first answer any transport gets, in order; ProbeError listing every failure if none does."""
    failures = []
    for transport in transports:
        try:
            return transport.get(path)
        except ProbeError as error:
            failures.append(str(error))
    raise ProbeError("; ".join(failures) or "no way to reach the service was given")


def expect_http(answer: Answer, status: int = 200, json_keys: list[str] = (), contains: str | None = None,
                where: str = "") -> list[Mismatch]:
    """Mismatches between an HTTP answer and what it should be (status, JSON keys, a piece of text)."""
    prefix = where or answer.via
    found = []
    if answer.status != status:
        found.append(Mismatch(f"{prefix} status", status, answer.status))
    if json_keys:
        try:
            document = answer.json()
        except ValueError:
            return found + [Mismatch(f"{prefix} body", "<JSON>", answer.body[:80].decode("utf-8", "replace"))]
        for key in json_keys:
            if not isinstance(document, dict) or key not in document:
                found.append(Mismatch(f"{prefix} body.{key}", "<present>", "<missing>"))
    if contains is not None and contains.encode() not in answer.body:
        found.append(Mismatch(f"{prefix} body", f"<text containing {contains!r}>",
                              answer.body[:80].decode("utf-8", "replace")))
    return found
