"""Calls to the next service: a timeout on every call, tracing headers forwarded, failures as values.

Istio's sidecars create the spans, but only the application can carry a request's trace
context from the request it received to the requests it sends: these are the headers.

Deadlines: each call says how long its caller will wait (``X-Deadline-Ms``), and a service
gives its own next hop that much less HOP_RESERVE_SECONDS. So the deepest hop times out first
and every hop above still has time to answer with what it has (``missing: ["account"]``),
instead of every hop waiting the same 2 s and the whole chain failing together.
"""

import json as _json
import time
from dataclasses import dataclass, field
from collections.abc import Mapping
from urllib.parse import urlencode

import urllib3
from flask import g, has_request_context, request

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
    # W3C baggage: level 5 routes testers by `baggage: tester=true`, so it must travel every hop.
    "baggage",
    # The end user the ingress gateway authenticated (level 5, step 10): every hop names them.
    "x-workshop-user",
)
DEADLINE_HEADER = "X-Deadline-Ms"
# Time a hop keeps for itself after its next hop gives up: to build and send its own answer.
HOP_RESERVE_SECONDS = 0.25
MAX_DEADLINE_MS = 600_000


def read_deadline(start: float) -> float | None:
    """The incoming request's deadline (a perf_counter time), or None when the caller set none."""
    raw = request.headers.get(DEADLINE_HEADER, "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7):
        return None
    return start + min(int(raw), MAX_DEADLINE_MS) / 1000


def time_for_next_hop(timeout: float) -> float:
    """This link's timeout, shortened to what is left of the request's deadline minus our reserve."""
    deadline = g.get("deadline") if has_request_context() else None
    if deadline is None:
        return timeout
    return min(timeout, deadline - time.perf_counter() - HOP_RESERVE_SECONDS)


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
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive when from urllib3

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def hops(self) -> list[dict]:
        """The downstream's own trace, or one hop built from what we saw of its answer."""
        if isinstance(self.body, dict) and isinstance(self.body.get("trace"), list):
            return self.body["trace"]
        hop = {
            "service": self.service,
            "version": self.headers.get("X-Service-Version"),
            "pod": self.headers.get("X-Pod"),
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
        }
        if not self.ok:
            hop["error"] = self.error or f"HTTP {self.status}"
        return [hop]


class Downstream:
    """One upstream-to-downstream link, e.g. order -> account, with a keep-alive connection pool.

    urllib3 directly rather than requests: on a 4-hop chain the client side of each hop costs
    as much CPU as the server side, and urllib3 alone does the same work in well under half the time.
    """

    def __init__(self, service: str, base_url: str, timeout: float, user_agent: str, pool_size: int = 16):
        self.service, self.base_url, self.timeout = service, base_url.rstrip("/"), timeout
        # Reusing connections matters: a new TCP connection per hop would dominate the latency.
        self.pool = urllib3.PoolManager(num_pools=2, maxsize=pool_size, block=False, retries=False)
        self.user_agent = user_agent
        self.observe = None  # set by the app: callback(service, status, seconds) for metrics

    def call(self, method: str, path: str, *, json=None, params=None, headers=None,
             timeout: float | None = None) -> Reply:
        """One request; ``timeout`` replaces the link's own (a background job may wait longer)."""
        sent = {"User-Agent": self.user_agent, **forwarded_headers(), **(headers or {})}
        body = None
        if json is not None:
            body = _json.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        url = self.base_url + path + ("?" + urlencode(params) if params else "")
        start = time.perf_counter()
        timeout = time_for_next_hop(self.timeout if timeout is None else timeout)
        if timeout < 0.01:
            return self._done(Reply(self.service, None, None, 0.0, "not called: the caller's deadline has passed"))
        sent[DEADLINE_HEADER] = str(int(timeout * 1000))
        try:
            resp = self.pool.request(method, url, body=body, headers=sent, timeout=timeout, retries=False)
        except urllib3.exceptions.NewConnectionError as exc:
            # Checked first: urllib3 makes it a subclass of ConnectTimeoutError, but nothing timed out.
            return self._done(Reply(self.service, None, None, _ms(start), f"unreachable: {type(exc).__name__}"))
        except urllib3.exceptions.TimeoutError:
            return self._done(Reply(self.service, None, None, _ms(start), f"timed out after {round(timeout, 2):g}s"))
        except urllib3.exceptions.HTTPError as exc:
            return self._done(Reply(self.service, None, None, _ms(start), f"unreachable: {type(exc).__name__}"))
        try:
            data = _json.loads(resp.data) if resp.data else None
        except ValueError:
            data = None
        ok = 200 <= resp.status < 300
        error = None if ok else _error_text(resp.status, data)
        return self._done(Reply(self.service, resp.status, data, _ms(start), error, resp.headers))

    def _done(self, reply: Reply) -> Reply:
        if self.observe:
            self.observe(self.service, reply.status, reply.latency_ms / 1000)
        return reply

    def close(self) -> None:
        self.pool.clear()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _error_text(status: int, body) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f"HTTP {status}: {body['error']}"
    return f"HTTP {status}"
