"""The learner-facing report of a run, as terminal text.

    Grading level 2 (Orchestrate) on context kind-workshop (https://127.0.0.1:41235)

    ✓ l2-apply        the four services are deployed                      2/2
    ✗ l2-probes       every container has readiness and liveness probes   0/2
        hint: Add a readinessProbe and a livenessProbe on /readyz and /healthz ...
        deployment/account.spec.template.spec.containers[name=account].readinessProbe: expected {...}, got nothing
    - l2-gateway-http the gateway answers through its Service             skipped: needs a real cluster

    Score: 8/10 points, 5 of 6 checks passed (1 needs a real cluster).
    Next: Add a readinessProbe ... Then run make check-2 again.
"""

from __future__ import annotations

import os
from unicodedata import east_asian_width

from workshop.grading.results import ERROR, FAILED, PASSED, SKIPPED, RunResult
from workshop.i18n import _, language, ngettext

MARKS = {PASSED: "✓", FAILED: "✗", ERROR: "!", SKIPPED: "-"}
COLOURS = {PASSED: "32", FAILED: "31", ERROR: "33", SKIPPED: "90"}


def use_colour(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


ENGINES = ("docker", "podman")


def header(result: RunResult) -> str:
    level, title = result.level, _(result.title)
    if result.server in ("", "?"):
        return _("Grading level {level} ({title}): no cluster to grade").format(level=level, title=title)
    if result.context in ENGINES:  # a level that grades the container engine, not a cluster
        return _("Grading level {level} ({title}) on your container engine ({server})").format(
            level=level, title=title, server=result.server)
    version = f", Kubernetes {result.server_version}" if result.server_version else ""
    return _("Grading level {level} ({title}) on context {context} ({server})").format(
        level=level, title=title, context=result.context or "?", server=f"{result.server}{version}")


def render_text(result: RunResult, colour: bool = False, verbose: bool = True, with_header: bool = True) -> str:
    def paint(status: str, text: str) -> str:
        return f"\033[{COLOURS[status]}m{text}\033[0m" if colour else text

    lines = [header(result), ""] if with_header else []
    labels = {item.id: f"{item.id} {_(item.title)}" for item in result.checks}
    width = max([display_width(label) for label in labels.values()] + [20])
    for item in result.checks:
        label = pad(labels[item.id], width)
        if item.status == SKIPPED:
            lines.append(paint(SKIPPED, f"{MARKS[SKIPPED]} {label}  " +
                               _("skipped: {reason}").format(reason=_(item.message))))
            continue
        lines.append(paint(item.status, f"{MARKS[item.status]} {label}  {item.earned}/{item.points}"))
        if item.status in (FAILED, ERROR):
            lines.append("    " + _("hint: {hint}").format(hint=translated_hint(item.hint))
                         if item.status == FAILED else f"    {_(item.message)}")
            if item.status == FAILED and item.message:
                lines.append(f"    {_(item.message)}")
            lines += [f"    {mismatch}" for mismatch in item.mismatches]
            if verbose:
                lines += [f"    · {line}" for line in item.diagnostics]
            if item.docs:
                lines.append("    " + _("docs: {url}").format(url=localized_docs(item.docs)))
    if result.checks:
        lines.append("")
    lines += summary(result)
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``: East Asian wide characters take two."""
    return sum(2 if east_asian_width(char) in ("W", "F") else 1 for char in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


LOCAL_SITE = "http://127.0.0.1:8000/"  # the workshop site as `make serve` serves it


def localized_docs(url: str) -> str:
    """A link into the local workshop site points at the learner's language (Japanese: /ja/)."""
    if language() != "en" and url.startswith(LOCAL_SITE):
        return f"{LOCAL_SITE}{language()}/{url[len(LOCAL_SITE):]}"
    return url


def translated_hint(hint: str) -> str:
    """A check's hint in the learner's language. The hints a check gives for the causes it found
    (joined with a space) are translated as a whole when the catalog has that text."""
    return _(hint)


def summary(result: RunResult) -> list[str]:
    if result.cannot_check:
        return [_("Could not check this level:")] + [f"  {_(sentence)}" for sentence in dict.fromkeys(result.cannot_check)]
    passed = sum(1 for item in result.checks if item.status == PASSED)
    skipped = sum(1 for item in result.checks if item.status == SKIPPED)
    counted = len(result.checks) - skipped
    extra = ngettext(" ({count} needs a real cluster)", " ({count} need a real cluster)", skipped).format(
        count=skipped) if skipped else ""
    lines = [_("Score: {earned}/{total} points, {passed} of {counted} checks passed{extra}.").format(
        earned=result.earned, total=result.total, passed=passed, counted=counted, extra=extra)]
    lines.append(next_step(result))
    return lines


def next_step(result: RunResult) -> str:
    level = result.level
    errors = [item for item in result.checks if item.status == ERROR]
    if errors:
        return _("Next: {what}").format(what=_(errors[0].message))
    failed = [item for item in result.checks if item.status == FAILED]
    if failed:
        hint = translated_hint(failed[0].hint).rstrip()
        hint += "" if hint.endswith((".", "!", "?", "。")) else "."
        return _("Next: {hint} Then run make check-{level} again (just after a change, make check-{level} "
                 "CHECK_ARGS='--wait 60' waits for the cluster to settle).").format(hint=hint, level=level)
    if result.not_selected:
        return _("Every selected check passes; {count} other check(s) of level {level} were not run: "
                 "make check-{level} grades the whole level.").format(count=result.not_selected, level=level)
    following = level + 1
    if following <= 7:
        return _("Level {level} is done. Next: level {following}, make lab-{following}.").format(
            level=level, following=following)
    return _("Level {level} is done: that was the last level. Well done!").format(level=level)
