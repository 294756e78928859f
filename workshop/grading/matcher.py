"""Partial-object matching: is ``expected`` a part of ``actual``?

Only the fields written in ``expected`` are compared (as kuttl and Chainsaw asserts do):

- a dict matches when every key it names matches (extra keys in ``actual`` are fine);
- a list matches when every expected element matches *some* actual element, in any
  order; wrap it in :class:`Ordered` (YAML: ``!ordered [...]``) to compare element by
  element instead;
- ``None`` (YAML ``null``) matches a field that is absent (or null): "must not be set";
- :data:`PRESENT` (YAML ``!present``) matches any value that is set;
- anything else must be equal (and of the same type: ``"8080"`` is not ``8080``).

    >>> match({"spec": {"replicas": 2}}, {"spec": {"replicas": 1, "paused": False}})
    [Mismatch(path='spec.replicas', expected=2, got=1)]
    >>> str(_[0])
    'spec.replicas: expected 2, got 1'

Server-managed fields (managedFields, uid, resourceVersion, timestamps) are stripped by
:func:`strip_server_fields` so that diffs show only what a person wrote or can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MISSING = object()  # "the field is not there", distinct from a null value

# Fields the API server writes and no learner controls: never worth a line in a diff.
SERVER_METADATA = ("managedFields", "uid", "resourceVersion", "selfLink", "creationTimestamp", "deletionGracePeriodSeconds")
SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
TIMESTAMP_KEYS = (
    "lastTransitionTime", "lastUpdateTime", "lastProbeTime", "lastHeartbeatTime",
    "startTime", "startedAt", "finishedAt", "firstTimestamp", "lastTimestamp", "eventTime",
)


class Ordered(list):
    """A list compared element by element, in order, and with the same length."""


class _Present:
    """Matches any value that is set (YAML ``!present``): "there must be one, whatever it is"."""

    def __repr__(self) -> str:
        return "PRESENT"


PRESENT = _Present()


@dataclass(frozen=True)
class Mismatch:
    path: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.path or '.'}: expected {render(self.expected)}, got {render(self.got)}"


def render(value: Any, limit: int = 160) -> str:
    """A short one-line rendering of a value for a diff line."""
    if value is MISSING:
        return "nothing"
    if value is PRESENT:
        return "a value"
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return value[1:-1]  # a description, such as <present> or <an element matching ...>
    text = json.dumps(value, sort_keys=True, default=lambda item: "(any value)" if item is PRESENT else str(item),
                      ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def match(expected: Any, actual: Any, path: str = "") -> list[Mismatch]:
    """Every way ``actual`` differs from the partial object ``expected`` (empty: it matches)."""
    if expected is None:
        return [] if actual is MISSING or actual is None else [Mismatch(path, "<not set>", actual)]
    if actual is MISSING or (expected is PRESENT and actual is None):
        return [Mismatch(path, expected, MISSING)]
    if expected is PRESENT:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Mismatch(path, expected, actual)]
        found: list[Mismatch] = []
        for key, value in expected.items():
            found += match(value, actual.get(key, MISSING), _join(path, key))
        return found
    if isinstance(expected, Ordered):
        return _match_ordered(expected, actual, path)
    if isinstance(expected, list):
        return _match_any_order(expected, actual, path)
    if _same_scalar(expected, actual):
        return []
    return [Mismatch(path, expected, actual)]


def _same_scalar(expected: Any, actual: Any) -> bool:
    # True == 1 in Python, but a YAML `true` is not the number 1 in a manifest.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _match_ordered(expected: list, actual: Any, path: str) -> list[Mismatch]:
    if not isinstance(actual, list):
        return [Mismatch(path, list(expected), actual)]
    if len(expected) != len(actual):
        return [Mismatch(f"{path}.length" if path else "length", len(expected), len(actual))]
    found: list[Mismatch] = []
    for index, (want, have) in enumerate(zip(expected, actual)):
        found += match(want, have, f"{path}[{index}]")
    return found


def _match_any_order(expected: list, actual: Any, path: str) -> list[Mismatch]:
    if not isinstance(actual, list):
        return [Mismatch(path, expected, actual)]
    found: list[Mismatch] = []
    for index, want in enumerate(expected):
        if any(not match(want, have) for have in actual):
            continue
        found += _explain_missing_element(want, actual, path, index)
    return found


def _explain_missing_element(want: Any, actual: list, path: str, index: int) -> list[Mismatch]:
    """No element matched: diff against the element it was meant to be, when we can tell."""
    name = want.get("name") if isinstance(want, dict) else None
    if name is not None:
        for have in actual:
            if isinstance(have, dict) and have.get("name") == name:
                return match(want, have, f"{path}[name={name}]")
        return [Mismatch(f"{path}[name={name}]", want, MISSING)]
    if len(actual) == 1:
        return match(want, actual[0], f"{path}[0]")
    return [Mismatch(f"{path}[*]", f"<an element matching {render(want, 100)}>", f"<none of {len(actual)} elements>")]


def _join(path: str, key: str) -> str:
    # Keys with dots (labels, annotations) are quoted so the path stays readable.
    part = f'"{key}"' if "." in str(key) or "/" in str(key) else str(key)
    return f"{path}.{part}" if path else part


def strip_server_fields(obj: Any) -> Any:
    """A copy of ``obj`` without the fields the server manages (see module docstring)."""
    if isinstance(obj, list):
        return [strip_server_fields(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    result = {}
    for key, value in obj.items():
        if key in TIMESTAMP_KEYS:
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in SERVER_METADATA}
            annotations = {k: v for k, v in (value.get("annotations") or {}).items() if k not in SERVER_ANNOTATIONS}
            if annotations:
                value["annotations"] = annotations
            else:
                value.pop("annotations", None)
        result[key] = strip_server_fields(value)
    return result
