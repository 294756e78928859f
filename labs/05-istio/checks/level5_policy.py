"""Would Istio let this request through? AuthorizationPolicies judged as Istio judges them.

The checker asks the question for a few requests a user would send (an anonymous read, an
anonymous order, a signed-in order), against every policy that applies to the workload:

    >>> allow_reads = {"spec": {"action": "ALLOW", "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}}
    >>> verdict([allow_reads], Request("POST", "/api/customers/1/orders"))
    (False, 'no ALLOW rule matches')

Istio's order: a matching DENY refuses; then, if any ALLOW policy applies, one of its rules
must match; with no ALLOW policy at all, the request passes. A field this module does not know
makes the verdict unknown (``Unknown``): the checker says so rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Unknown(ValueError):
    """A policy uses something this checker cannot judge (its message names the field)."""


@dataclass
class Request:
    method: str
    path: str
    request_principal: str | None = None  # <issuer>/<sub> of a valid JWT, None without one
    headers: dict[str, str] = field(default_factory=dict)


def matches(value: str | None, pattern: str) -> bool:
    """Istio's string match: exact, "prefix*", "*suffix", or "*" for any non-empty value."""
    if value is None:
        return False
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _any(value: str | None, patterns: list | None) -> bool:
    return any(matches(value, str(pattern)) for pattern in patterns or [])


def _field(spec: dict, positive: str, negative: str, value: str | None) -> bool:
    """A (positive, not-) pair of fields: both must hold when set."""
    if positive in spec and not _any(value, spec[positive]):
        return False
    if negative in spec and _any(value, spec[negative]):
        return False
    return True


SOURCE_FIELDS = {"requestPrincipals", "notRequestPrincipals"}
OPERATION_FIELDS = {"methods", "notMethods", "paths", "notPaths"}


def _source(source: dict, request: Request) -> bool:
    unknown = set(source) - SOURCE_FIELDS
    if unknown:
        raise Unknown(f"rules[].from[].source.{sorted(unknown)[0]}")
    return _field(source, "requestPrincipals", "notRequestPrincipals", request.request_principal)


def _operation(operation: dict, request: Request) -> bool:
    unknown = set(operation) - OPERATION_FIELDS
    if unknown:
        raise Unknown(f"rules[].to[].operation.{sorted(unknown)[0]}")
    return (_field(operation, "methods", "notMethods", request.method)
            and _field(operation, "paths", "notPaths", request.path))


def _condition(condition: dict, request: Request) -> bool:
    key = condition.get("key", "")
    if key.startswith("request.headers[") and key.endswith("]"):
        value = {k.lower(): v for k, v in request.headers.items()}.get(key[len("request.headers["):-1].lower())
    elif key == "request.auth.principal":
        value = request.request_principal
    else:
        raise Unknown(f"rules[].when[].key {key}")
    return _field(condition, "values", "notValues", value)


def rule_matches(rule: dict, request: Request) -> bool:
    """All of from, to and when hold; within from (or to), one entry is enough."""
    unknown = set(rule) - {"from", "to", "when"}
    if unknown:
        raise Unknown(f"rules[].{sorted(unknown)[0]}")
    if "from" in rule and not any(_source(item.get("source") or {}, request) for item in rule["from"] or []):
        return False
    if "to" in rule and not any(_operation(item.get("operation") or {}, request) for item in rule["to"] or []):
        return False
    return all(_condition(condition, request) for condition in rule.get("when") or [])


def verdict(policies: list[dict], request: Request) -> tuple[bool, str]:
    """(allowed, why) for a request to a workload these policies apply to."""
    allow = []
    for policy in policies:
        spec = policy.get("spec") or {}
        action = spec.get("action", "ALLOW")
        rules = spec.get("rules") or []
        name = (policy.get("metadata") or {}).get("name", "?")
        if action == "DENY":
            if any(rule_matches(rule, request) for rule in rules):
                return False, f"DENY policy {name} matches"
        elif action == "ALLOW":
            allow.append((name, rules))
        elif action != "AUDIT":
            raise Unknown(f"authorizationpolicy/{name}.spec.action {action}")
    if not allow:
        return True, "no ALLOW policy applies"
    for name, rules in allow:
        if any(rule_matches(rule, request) for rule in rules):
            return True, f"ALLOW policy {name} matches"
    return False, "no ALLOW rule matches"
