"""How a lab author declares a check, and how a check says what is wrong.

A check is a function named ``check_*`` in ``labs/NN-topic/checks/check_*.py``, decorated
with :func:`check`; it receives fixtures (``cluster``, ``namespace``, ...) and raises
:class:`CheckFailed` (or a plain ``assert``) when the cluster is not as it should be::

    from workshop.grading import check, verify

    @check(id="l2-replicas", title="account runs 2 replicas", points=2,
           hint="Scale it: kubectl -n workshop scale deployment/account --replicas=2",
           docs="https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#scaling-a-deployment")
    def check_replicas(cluster, namespace):
        with verify() as v:
            v.match(cluster.get("Deployment", "account", namespace), {"spec": {"replicas": 2}})
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from workshop.grading.matcher import MISSING, Mismatch, match, strip_server_fields

DEFAULT_TIMEOUT = 1.0  # seconds a check re-reads before it fails; `--wait S` raises the floor


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    hint: str
    points: int = 1
    docs: str = ""
    timeout: float = DEFAULT_TIMEOUT  # converge: re-read until it passes or this ends
    hold: float = 0.0  # negative checks: must keep passing this long (bounded)
    data_plane: bool = False  # needs a kubelet and a pod network: skipped on the sim cluster
    step: str = ""  # the lab step it grades, for the page and the report
    # What it reads is written by a controller (Argo CD's sync): --wait waits even for spec fields,
    # which otherwise fail at once (nothing but the learner changes them).
    reconciled: bool = False


def check(*, id: str, title: str, hint: str, points: int = 1, docs: str = "", timeout: float = DEFAULT_TIMEOUT,
          hold: float = 0.0, data_plane: bool = False, step: str = "", reconciled: bool = False):
    """Declare a check: its id, title, points, hint, docs link, timeout (see :class:`CheckSpec`)."""
    spec = CheckSpec(id=id, title=title, hint=hint, points=points, docs=docs, timeout=timeout, hold=hold,
                     data_plane=data_plane, step=step, reconciled=reconciled)

    def decorate(function):
        function.workshop_check = spec
        return pytest.mark.workshop_check(spec)(function)

    return decorate


class CheckFailed(AssertionError):
    """The cluster is not as the check expects; ``mismatches`` says where, ``objects`` what to diagnose."""

    def __init__(self, mismatches: list[Mismatch], objects: list[dict] | None = None, hints: list[str] | None = None):
        self.mismatches = mismatches
        self.objects = objects or []
        self.hints = hints or []  # fixes for the causes found, said instead of the check's general hint
        super().__init__("; ".join(str(item) for item in mismatches))


def object_ref(obj: dict) -> str:
    """``deployment/account``: how kubectl names an object, and the start of every diff path."""
    return f"{obj.get('kind', 'object').lower()}/{obj['metadata']['name']}"


@dataclass
class Verify:
    """Collects mismatches over several objects; see :func:`verify`."""

    mismatches: list[Mismatch] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def hint(self, text: str) -> None:
        """The fix for a cause this run found, naming its object: the report says these, in order,
        instead of the check's general hint (which cannot know which object failed)."""
        if text not in self.hints:
            self.hints.append(text)

    def match(self, obj: dict | None, expected: dict, ref: str = "") -> bool:
        """Compare one object with a partial object; ``ref`` names it when it may be missing."""
        if obj is None:
            self.mismatches.append(Mismatch(ref or "object", "<it to exist>", MISSING))
            return False
        found = match(expected, strip_server_fields(obj))
        prefix = ref or object_ref(obj)
        self.mismatches += [Mismatch(f"{prefix}.{item.path}" if item.path else prefix, item.expected, item.got)
                            for item in found]
        if found:
            self.objects.append(obj)
        return not found

    def fail(self, path: str, expected, got, obj: dict | None = None) -> None:
        """Record a mismatch computed by the check itself (say, a count or a relation between objects)."""
        self.mismatches.append(Mismatch(path, expected, got))
        if obj is not None and obj not in self.objects:
            self.objects.append(obj)


@contextmanager
def verify():
    """``with verify() as v: v.match(...)``: raises :class:`CheckFailed` with every mismatch at the end."""
    collector = Verify()
    yield collector
    if collector.mismatches:
        raise CheckFailed(collector.mismatches, collector.objects, collector.hints)
