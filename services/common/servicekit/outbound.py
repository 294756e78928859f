"""Calls to the next service: a timeout on every call, tracing headers forwarded, failures as values.

Istio's sidecars create the spans, but only the application can carry a request's trace
context from the request it received to the requests it sends: these are the headers.
"""

import time
from dataclasses import dataclass, field

import requests
from flask import g, has_request_context, request
from requests.adapters import HTTPAdapter

TRACE_HEADERS = (
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "x-ot-span-context",
)


def forwarded_headers() -> dict[str, str]:
    """The tracing headers of the request being served, to copy onto an outbound call."""
    if not has_request_context():
        return {}
    headers = {name: request.headers[name] for name in TRACE_HEADERS if name in request.headers}
    # Our own request id (generated when the caller sent none) keeps logs joinable downstream.
    headers["x-request-id"] = g.get("request_id", headers.get("x-request-id", ""))
    return {k: v for k, v in headers.items() if v}


@dataclass
class Reply:
    """What came back from one downstream call; ``status`` is None when no HTTP answer came."""

    service: str
    status: int | None
    body: dict | None
    latency_ms: float
    error: str | None = None
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def hops(self) -> list[dict]:
        """The downstream's own trace, or one hop saying it did not answer properly."""
        if isinstance(self.body, dict) and isinstance(self.body.get("trace"), list):
            return self.body["trace"]
        return [{
            "service": self.service,
            "version": self.headers.get("X-Service-Version"),
            "pod": self.headers.get("X-Pod"),
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "error": self.error or f"HTTP {self.status}",
        }]


class Downstream:
    """One upstream-to-downstream link, e.g. order -> account, with a keep-alive connection pool."""

    def __init__(self, service: str, base_url: str, timeout: float, user_agent: str, pool_size: int = 16):
        self.service, self.base_url, self.timeout = service, base_url.rstrip("/"), timeout
        self.session = requests.Session()
        # Reusing connections matters: a new TCP connection per hop would dominate the latency.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.observe = None  # set by the app: callback(service, status, seconds) for metrics

    def call(self, method: str, path: str, *, json=None, params=None, headers=None) -> Reply:
        sent = {**forwarded_headers(), **(headers or {})}
        start = time.perf_counter()
        try:
            resp = self.session.request(
                method, self.base_url + path, json=json, params=params, headers=sent, timeout=self.timeout
            )
        except requests.Timeout:
            return self._done(Reply(self.service, None, None, _ms(start), f"timed out after {self.timeout:g}s"))
        except requests.RequestException as exc:
            return self._done(Reply(self.service, None, None, _ms(start), f"unreachable: {type(exc).__name__}"))
        try:
            body = resp.json()
        except ValueError:
            body = None
        error = None if resp.ok else _error_text(resp.status_code, body)
        return self._done(Reply(self.service, resp.status_code, body, _ms(start), error, dict(resp.headers)))

    def _done(self, reply: Reply) -> Reply:
        if self.observe:
            self.observe(self.service, reply.status, reply.latency_ms / 1000)
        return reply

    def close(self) -> None:
        self.session.close()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _error_text(status: int, body) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f"HTTP {status}: {body['error']}"
    return f"HTTP {status}"
