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

from workshop.grading.results import ERROR, FAILED, PASSED, SKIPPED, RunResult

MARKS = {PASSED: "✓", FAILED: "✗", ERROR: "!", SKIPPED: "-"}
COLOURS = {PASSED: "32", FAILED: "31", ERROR: "33", SKIPPED: "90"}


def use_colour(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


ENGINES = ("docker", "podman")


def header(result: RunResult) -> str:
    if result.server in ("", "?"):
        return f"Grading level {result.level} ({result.title}): no cluster to grade"
    if result.context in ENGINES:  # a level that grades the container engine, not a cluster
        return f"Grading level {result.level} ({result.title}) on your container engine ({result.server})"
    version = f", Kubernetes {result.server_version}" if result.server_version else ""
    return f"Grading level {result.level} ({result.title}) on context {result.context or '?'} ({result.server}{version})"


def render_text(result: RunResult, colour: bool = False, verbose: bool = True, with_header: bool = True) -> str:
    def paint(status: str, text: str) -> str:
        return f"\033[{COLOURS[status]}m{text}\033[0m" if colour else text

    lines = [header(result), ""] if with_header else []
    width = max([len(f"{item.id} {item.title}") for item in result.checks] + [20])
    for item in result.checks:
        label = f"{item.id} {item.title}".ljust(width)
        if item.status == SKIPPED:
            lines.append(paint(SKIPPED, f"{MARKS[SKIPPED]} {label}  skipped: {item.message}"))
            continue
        lines.append(paint(item.status, f"{MARKS[item.status]} {label}  {item.earned}/{item.points}"))
        if item.status in (FAILED, ERROR):
            lines.append(f"    hint: {item.hint}" if item.status == FAILED else f"    {item.message}")
            if item.status == FAILED and item.message:
                lines.append(f"    {item.message}")
            lines += [f"    {mismatch}" for mismatch in item.mismatches]
            if verbose:
                lines += [f"    · {line}" for line in item.diagnostics]
            if item.docs:
                lines.append(f"    docs: {item.docs}")
    if result.checks:
        lines.append("")
    lines += summary(result)
    return "\n".join(lines)


def summary(result: RunResult) -> list[str]:
    if result.cannot_check:
        return ["Could not check this level:"] + [f"  {sentence}" for sentence in dict.fromkeys(result.cannot_check)]
    passed = sum(1 for item in result.checks if item.status == PASSED)
    skipped = sum(1 for item in result.checks if item.status == SKIPPED)
    counted = len(result.checks) - skipped
    extra = f" ({skipped} need{'s' if skipped == 1 else ''} a real cluster)" if skipped else ""
    lines = [f"Score: {result.earned}/{result.total} points, {passed} of {counted} checks passed{extra}."]
    lines.append(next_step(result))
    return lines


def next_step(result: RunResult) -> str:
    errors = [item for item in result.checks if item.status == ERROR]
    if errors:
        return f"Next: {errors[0].message}"
    failed = [item for item in result.checks if item.status == FAILED]
    if failed:
        hint = failed[0].hint.rstrip()
        hint += "" if hint.endswith((".", "!", "?")) else "."
        return (f"Next: {hint} Then run make check-{result.level} again "
                f"(just after a change, make check-{result.level} CHECK_ARGS='--wait 60' waits for the cluster to settle).")
    if result.not_selected:
        return (f"Every selected check passes; {result.not_selected} other check(s) of level {result.level} "
                f"were not run: make check-{result.level} grades the whole level.")
    following = result.level + 1
    if following <= 7:
        return f"Level {result.level} is done. Next: level {following}, make lab-{following}."
    return f"Level {result.level} is done: that was the last level. Well done!"
