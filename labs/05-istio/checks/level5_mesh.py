"""What level 5's checks read from Istio objects and pods: small pure functions, unit-tested.

    >>> sidecar({"spec": {"initContainers": [{"name": "istio-proxy", "restartPolicy": "Always"}]},
    ...          "status": {"initContainerStatuses": [{"name": "istio-proxy", "ready": True}]}})
    ('native sidecar', True)
    >>> seconds("1.5s"), seconds("300ms")
    (1.5, 0.3)
"""

from __future__ import annotations

import re

ISTIO_NAMESPACE = "istio-system"
PROXY = "istio-proxy"
TRUST_DOMAIN = "cluster.local"
ISTIO_API = {
    "Gateway": "networking.istio.io/v1",
    "Telemetry": "telemetry.istio.io/v1",
}


def sidecar(pod: dict) -> tuple[str | None, bool]:
    """How the pod carries Istio's proxy, and whether it is ready.

    Istio injects it as a plain container, or (Kubernetes 1.29+, Istio's default on recent
    clusters) as a *native sidecar*: an init container with ``restartPolicy: Always``,
    which starts before the app and stops after it. Either way it must be ready.
    """
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    for container in spec.get("containers") or []:
        if container.get("name") == PROXY:
            return "container", _ready(status.get("containerStatuses"))
    for container in spec.get("initContainers") or []:
        if container.get("name") == PROXY and container.get("restartPolicy") == "Always":
            return "native sidecar", _ready(status.get("initContainerStatuses"))
    return None, False


def _ready(statuses: list | None) -> bool:
    return any(item.get("name") == PROXY and item.get("ready") is True for item in statuses or [])


def injection_enabled(namespace: dict | None) -> bool:
    """Is the namespace labelled for injection (istio-injection=enabled, or a revision label)?"""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    if labels.get("istio-injection") == "disabled":
        return False
    return labels.get("istio-injection") == "enabled" or bool(labels.get("istio.io/rev"))


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")


def seconds(duration: str | None) -> float | None:
    """A Go/Istio duration ("1s", "300ms", "1m30s") in seconds; None when absent or not a duration."""
    if not isinstance(duration, str) or not duration:
        return None
    parts = _PART.findall(duration)
    if "".join(number + unit for number, unit in parts) != duration:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def short_host(host: str, namespace: str) -> str:
    """``account``, ``account.workshop`` and ``account.workshop.svc.cluster.local`` are one host."""
    for suffix in (f".{namespace}.svc.{TRUST_DOMAIN}", f".{namespace}.svc", f".{namespace}"):
        if host.endswith(suffix):
            return host[: -len(suffix)]
    return host


def routes_for(virtual_services: list[dict], host: str, namespace: str) -> list[dict]:
    """The VirtualServices of the mesh (not bound to a gateway) that route ``host``."""
    found = []
    for item in virtual_services:
        spec = item.get("spec") or {}
        gateways = spec.get("gateways") or ["mesh"]
        if "mesh" in gateways and any(short_host(h, namespace) == host for h in spec.get("hosts") or []):
            found.append(item)
    return found


# Match fields that never narrow a condition (a name for logs, case folding).
_NEUTRAL_MATCH_FIELDS = {"name", "ignoreUriCase"}
# String matches that every value satisfies: a prefix of "" (or "/" for a path), a regex of ".*".
_MATCH_ALL = ({"prefix": ""}, {"regex": ".*"})


def _matches_every_request(condition: dict) -> bool:
    for key, value in condition.items():
        if key in _NEUTRAL_MATCH_FIELDS:
            continue
        if key == "uri" and value in (*_MATCH_ALL, {"prefix": "/"}):
            continue
        if key in ("scheme", "method", "authority") and value in _MATCH_ALL:
            continue
        return False
    return True


def is_default_route(route: dict) -> bool:
    """A route that takes every request the routes before it left: no ``match``, an empty one,
    or a condition that every request meets (``uri: {prefix: /}``, a regex ``.*``).

    >>> is_default_route({"match": [{"uri": {"prefix": "/"}}]}), is_default_route({"match": [{"uri": {"exact": "/"}}]})
    (True, False)
    """
    conditions = route.get("match") or []
    return not conditions or any(_matches_every_request(condition or {}) for condition in conditions)


def header_match(route: dict, header: str) -> dict | None:
    """The string match a route puts on a request header (``{"exact": "..."}``), if any."""
    for condition in route.get("match") or []:
        found = (condition.get("headers") or {}).get(header)
        if found:
            return found
    return None


def weights(route: dict) -> dict[str, int]:
    """Subset (or host when no subset) -> weight. One destination without a weight takes 100."""
    destinations = route.get("route") or []
    if len(destinations) == 1 and "weight" not in destinations[0]:
        only = destinations[0].get("destination") or {}
        return {only.get("subset") or only.get("host", "?"): 100}
    result: dict[str, int] = {}
    for item in destinations:
        destination = item.get("destination") or {}
        key = destination.get("subset") or destination.get("host", "?")
        result[key] = result.get(key, 0) + int(item.get("weight", 0))
    return result


def principal(service_account: str, namespace: str) -> str:
    """The identity Istio writes in a workload's certificate: its ServiceAccount, as a SPIFFE path."""
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def allowed_principals(policy: dict) -> set[str]:
    """Every source principal an ALLOW policy names (rules, from, source)."""
    found: set[str] = set()
    for rule in (policy.get("spec") or {}).get("rules") or []:
        for source in rule.get("from") or []:
            found.update((source.get("source") or {}).get("principals") or [])
    return found


def allows_everything_else(policy: dict) -> list[str]:
    """Ways an ALLOW rule lets in more than named principals (a wildcard, a rule with no ``from``)."""
    problems = []
    for index, rule in enumerate((policy.get("spec") or {}).get("rules") or []):
        if not rule.get("from"):
            problems.append(f"rules[{index}] has no `from`: it allows any caller")
        for source in rule.get("from") or []:
            inner = source.get("source") or {}
            if set(inner) - {"principals"}:
                problems.append(f"rules[{index}] also allows by {', '.join(sorted(set(inner) - {'principals'}))}")
            if any("*" in item for item in inner.get("principals") or []):
                problems.append(f"rules[{index}] allows a wildcard principal")
    return problems


def applies_to(policy: dict, labels: dict) -> bool:
    """Does an AuthorizationPolicy of the pods' namespace (or the root namespace) apply to pods with
    these labels? One with no selector and no targetRef applies to every workload there."""
    spec = policy.get("spec") or {}
    if spec.get("targetRef") or spec.get("targetRefs"):
        return False  # a Gateway or Service target: not a sidecar's policy
    match_labels = (spec.get("selector") or {}).get("matchLabels")
    if not match_labels:
        return True
    return all(labels.get(key) == value for key, value in match_labels.items())


def denies_by_default(policy: dict) -> bool:
    """An ALLOW policy for the whole namespace with no rules: it matches nothing, so
    anything no other policy allows is refused (``spec: {}``)."""
    spec = policy.get("spec") or {}
    return (spec.get("action", "ALLOW") == "ALLOW" and not spec.get("rules") and not spec.get("selector")
            and not spec.get("targetRef") and not spec.get("targetRefs") and not spec.get("provider"))


KIND_INGRESS = "http://127.0.0.1:9080"  # kind's extraPortMappings (labs/00-setup/kind-cluster.yaml)
KIND_INGRESS_TIMEOUT = 2.0  # seconds: a port nobody maps fails fast, it never hangs a check


class IngressGateway:
    """GET through the ingress gateway: the API server's service proxy first, then on kind the port
    learners open (127.0.0.1:9080). A failure names what each way saw."""

    def __init__(self, cluster):
        from workshop.grading.httpprobe import Direct, ServiceProxy

        self.transports = [ServiceProxy(cluster, ISTIO_NAMESPACE, "istio-ingressgateway", "http2")]
        if (getattr(cluster, "context", "") or "").startswith("kind-"):
            self.transports.append(Direct(KIND_INGRESS, timeout=KIND_INGRESS_TIMEOUT))

    def get(self, path: str):
        from workshop.grading.httpprobe import probe

        return probe(path, self.transports)

