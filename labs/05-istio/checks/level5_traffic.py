"""Level 5's data-plane observations: what real traffic shows, read from HTTP answers.

Each function takes ``get(path) -> Answer`` (raising ProbeError when nothing answers)
or a body already fetched, so the checks run them through the API server on kind and
the unit tests (tests/labs/test_level5.py) run them against HTTP servers on 127.0.0.1.

    >>> observed_split(get, "/api/customers/1/summary", requests=100)   # on kind
    Counter({'v2': 100})
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter

from workshop.grading.httpprobe import ProbeError
from workshop.grading.matcher import Mismatch

APP_SERVICES = ("gateway", "customer", "order", "account")


# --- step 3: the split of account's versions, as users get it -------------------------------
def account_version(body: bytes) -> str | None:
    """The version of account that answered, from the route trace the app adds to every answer."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    for hop in document.get("trace") or [] if isinstance(document, dict) else []:
        if isinstance(hop, dict) and hop.get("service") == "account" and hop.get("status") == 200:
            return hop.get("version")
    return None


def observed_split(get, path: str, requests: int) -> Counter:
    """Send ``requests`` GETs and count which account version answered each (``None``: no account)."""
    counts: Counter = Counter()
    for _ in range(requests):
        try:
            answer = get(path)
        except ProbeError:
            counts[None] += 1
            continue
        counts[account_version(answer.body) if answer.status == 200 else None] += 1
    return counts


def split_mismatches(counts: Counter, weights: dict[str, int], slack: float = 0.05) -> list[Mismatch]:
    """How the observed split differs from the weights, beyond chance.

    With n answers and a weight p, the share seen varies by about sqrt(p(1-p)/n): we allow
    3 of those (a false alarm about 1 run in 400) plus ``slack`` for the odd lost request.
    """
    answered = sum(count for version, count in counts.items() if version is not None)
    total = sum(counts.values())
    if answered < max(1, total // 2):
        return [Mismatch("account answers through the ingress", f"<at least half of {total}>", answered)]
    found = []
    for version in sorted(set(weights) | {v for v in counts if v is not None}):
        expected = weights.get(version, 0) / 100
        seen = counts.get(version, 0) / answered
        allowed = 3 * math.sqrt(expected * (1 - expected) / answered) + slack
        if abs(seen - expected) > allowed:
            found.append(Mismatch(f"share of account {version} over {answered} answers",
                                  f"{expected:.0%} ± {allowed:.0%}", f"{seen:.0%}"))
    return found


# --- step 7: plaintext from outside the mesh ---------------------------------------------------
RBAC_DENIED = b"RBAC: access denied"


def plaintext_verdict(get, path: str = "/healthz") -> tuple[bool, str]:
    """(refused, what happened) for a plaintext request from outside the mesh.

    STRICT mTLS refuses the connection itself (the TLS handshake it wants never comes):
    nothing answers. An HTTP answer, even a 403 from an authorization policy, means the
    sidecar accepted plaintext.
    """
    try:
        answer = get(path)
    except ProbeError as error:
        return True, f"no answer: {error}"
    if answer.status == 403 and RBAC_DENIED in answer.body:
        return False, "403 from an AuthorizationPolicy: the plaintext connection itself was accepted"
    return False, f"HTTP {answer.status}: the plaintext request was answered"


# --- step 6: the circuit breaker opened ------------------------------------------------------
_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of one metric whose labels include ``labels`` (Prometheus text format)."""
    total = 0.0
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if not found or found["name"] != name:
            continue
        have = dict(_LABEL.findall(found["labels"] or ""))
        if all(have.get(key) == value for key, value in labels.items()):
            try:
                total += float(found["value"])
            except ValueError:
                continue
    return total


def overflowed_calls(metrics: str, destination: str = "account") -> float:
    """Calls the caller's sidecar refused because the destination's pool was full.

    Envoy marks them with the response flag UO (upstream overflow): the circuit breaker of
    the DestinationRule at work. Istio's standard metric carries the flag as a label; Envoy's
    own counter ``upstream_rq_pending_overflow`` of the outbound clusters to the destination
    counts the same calls where it is exported (a mesh whose proxyStatsMatcher includes it, or
    one without Istio's metrics). Either shows the breaker opened: the larger is taken.
    """
    istio = metric_sum(metrics, "istio_requests_total", reporter="source",
                       destination_service_name=destination, response_flags="UO")
    envoy = 0.0
    for line in metrics.splitlines():
        found = _SAMPLE.match(line)
        if not found or found["name"] != "envoy_cluster_upstream_rq_pending_overflow":
            continue
        cluster = dict(_LABEL.findall(found["labels"] or "")).get("cluster_name", "")
        # outbound|<port>|<subset>|<host>: the calls this sidecar sent to the destination's service.
        parts = cluster.split("|")
        if len(parts) == 4 and parts[0] == "outbound" and parts[3].split(".")[0] == destination:
            try:
                envoy += float(found["value"])
            except ValueError:
                continue
    return max(istio, envoy)


# --- step 9: one request traced across the four services --------------------------------------
def services_in_traces(body: bytes, namespace: str = "workshop") -> set[str]:
    """The most app services seen in any one trace of a Jaeger query answer (/api/traces)."""
    try:
        traces = json.loads(body).get("data") or []
    except (ValueError, AttributeError):
        return set()
    best: set[str] = set()
    for trace in traces:
        names = {process.get("serviceName", "") for process in (trace.get("processes") or {}).values()}
        # Istio names a workload's spans "<app>.<namespace>" (its canonical service).
        seen = {name.split(".")[0] for name in names if name.split(".")[0] in APP_SERVICES
                and (name.count(".") == 0 or name.split(".")[1] == namespace)}
        if len(seen) > len(best):
            best = seen
    return best
