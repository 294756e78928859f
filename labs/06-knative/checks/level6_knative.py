"""What level 6's checks read from Knative objects: small pure functions, unit-tested.

    >>> ready_problem({"metadata": {"generation": 2}, "status": {"observedGeneration": 2, "conditions": [
    ...     {"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "boom"}]}})
    'Ready=False (RevisionFailed: boom)'
    >>> routes([{"revisionName": "invoice-v1", "percent": 80, "tag": "current"}])
    ['invoice-v1 80% tag current']
"""

from __future__ import annotations

NAMESPACE = "serverless"
SERVICE = "invoice"
KNATIVE_NAMESPACE = "knative-serving"
SERVING = "serving.knative.dev/v1"
AUTOSCALING = "autoscaling.knative.dev/"
# The split of step 3: (revision, percent, tag), as the manifests of the lab write it.
SPLIT = (("invoice-v1", 80, "current"), ("invoice-v2", 20, "candidate"))
REVISIONS = tuple(name for name, _, _ in SPLIT)


def condition(obj: dict | None, kind: str) -> dict | None:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def ready_problem(obj: dict) -> str | None:
    """None when Knative says the object is Ready for its current spec; else what it says instead.

    Knative's controllers copy the reason and message of the first condition that is not
    True (a revision that failed, a route not ready) into Ready: that sentence is the diagnosis.
    """
    status = obj.get("status") or {}
    ready = condition(obj, "Ready")
    if ready is None:
        return "no Ready condition: no Knative controller has reconciled it yet (is Knative Serving running?)"
    if ready.get("status") != "True":
        detail = ": ".join(part for part in (ready.get("reason"), ready.get("message")) if part)
        return f"Ready={ready.get('status')}" + (f" ({detail})" if detail else "")
    generation = obj["metadata"].get("generation")
    if status.get("observedGeneration") != generation:
        return (f"Ready, but for generation {status.get('observedGeneration')}, not the current {generation}: "
                "Knative has not caught up with your last change yet")
    return None


def routes(targets: list[dict] | None) -> list[str]:
    """Traffic targets as one readable line each, in the order written."""
    lines = []
    for target in targets or []:
        name = target.get("revisionName") or ("latest revision" if target.get("latestRevision") else "?")
        tag = f" tag {target['tag']}" if target.get("tag") else ""
        lines.append(f"{name} {target.get('percent', 0)}%{tag}")
    return lines


def split_problems(targets: list[dict] | None, wanted=SPLIT) -> list[str]:
    """What differs between traffic targets and the wanted (revision, percent, tag) split."""
    targets = targets or []
    problems = []
    for name, percent, tag in wanted:
        found = [t for t in targets if t.get("revisionName") == name]
        if not found:
            problems.append(f"no target for revision {name}")
            continue
        if sum(t.get("percent") or 0 for t in found) != percent:
            problems.append(f"{name} gets {sum(t.get('percent') or 0 for t in found)}%, not {percent}%")
        if tag not in {t.get("tag") for t in found}:
            problems.append(f"{name} has no tag {tag}")
    total = sum(t.get("percent") or 0 for t in targets)
    if targets and total != 100:
        problems.append(f"percentages add up to {total}, not 100")
    return problems


def template_annotations(service: dict) -> dict:
    return ((((service.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {})
