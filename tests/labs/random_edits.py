"""Random edits a learner could make to a level's objects, as JSON patches (issue 21: solve converges).

The fixed edits of test_mutations.EDITS are the mistakes we thought of; these are the ones we did
not. From a seeded generator, each edit picks one object and one place in it and changes it the
way `kubectl edit` would let a hand do: a value replaced, a key added, a list item dropped or
repeated. Many are refused by the API server (immutable or invalid fields): the caller skips
those. The seed is printed with every failure, so a failing run can be replayed exactly.

    >>> import random
    >>> obj = {"kind": "Service", "metadata": {"name": "order", "labels": {"app": "order"}},
    ...        "spec": {"ports": [{"name": "http", "port": 8080}], "selector": {"app": "order"}}}
    >>> edit = random_edit(random.Random(7), obj)
    >>> edit.ref, edit.ops[0]["op"] in ("replace", "add", "remove")
    ('service/order', True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Where a learner edits: what the object does, and its labels. Never status or server fields.
EDITABLE_ROOTS = ("spec", "data", "metadata/labels")
# Fields the API server owns or that only a Service's allocator sets: editing them is noise.
SKIPPED_KEYS = {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy",
                "sessionAffinity", "revisionHistoryLimit", "progressDeadlineSeconds", "terminationMessagePath",
                "terminationMessagePolicy", "dnsPolicy", "schedulerName", "restartPolicy", "type"}


@dataclass(frozen=True)
class Edit:
    ref: str  # kind/name, as kubectl takes it
    ops: list  # one JSON patch operation
    why: str  # what it does, for the failure message

    def __str__(self) -> str:
        return f"{self.ref}: {self.why}"


def _pointer(path: list) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _places(value, path: list):
    """Every (path, value) under value, depth first: the places an edit can touch."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            if key not in SKIPPED_KEYS:
                yield from _places(child, path + [key])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _places(child, path + [index])


def _changed(value, rng: random.Random):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([0, value + 1, max(value - 1, 0), value * 2])
    if isinstance(value, str):
        return rng.choice([value + "-edited", "edited", value.upper(), ""])
    return None


def random_edit(rng: random.Random, obj: dict) -> Edit:
    ref = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
    places = []
    for root in EDITABLE_ROOTS:
        keys = root.split("/")
        value = obj
        for key in keys:
            value = (value or {}).get(key)
        if value is not None:
            places += list(_places(value, keys))
    path, value = rng.choice(places)
    where = _pointer(path)
    if isinstance(value, dict):
        key = rng.choice(["edited", "app", "version", "pinned"])
        return Edit(ref, [{"op": "add", "path": f"{where}/{key}", "value": "by-hand"}], f"add {key} under {where}")
    if isinstance(value, list):
        if value and rng.random() < 0.5:
            index = rng.randrange(len(value))
            return Edit(ref, [{"op": "remove", "path": f"{where}/{index}"}], f"remove {where}/{index}")
        if value:
            return Edit(ref, [{"op": "add", "path": f"{where}/-", "value": value[-1]}], f"repeat the last item of {where}")
        return Edit(ref, [{"op": "add", "path": f"{where}/-", "value": "edited"}], f"add an item to {where}")
    new = _changed(value, rng)
    return Edit(ref, [{"op": "replace", "path": where, "value": new}], f"{where}: {value!r} -> {new!r}")


def random_edits(seed: int, objects: list[dict], count: int) -> list[Edit]:
    """``count`` edits over ``objects`` (each a full object as the API server returns it)."""
    rng = random.Random(seed)
    return [random_edit(rng, rng.choice(objects)) for _ in range(count)]
