"""`workshop progress`: every level's status at a glance, from the runs kept in .workshop/results/.

    $ workshop progress
    Level  Title                     Status             Score   Last checked
    0      Setup                     no checks          -       -
    2      Orchestrate               ✗ 3 to fix         9/14    2026-11-21T22:40:03Z
    ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workshop.grading.results import ERROR, PASSED, RunResult, read_json, results_dir
from workshop.levels import LEVELS


def level_status(result: RunResult | None, has_checks: bool) -> tuple[str, str, str]:
    """(status, score, when) for one level's latest run."""
    if not has_checks:
        return "no checks", "-", "-"
    if result is None:
        return "not checked yet", "-", "-"
    if result.status == PASSED:
        status = "✓ done"
    elif result.status == ERROR:
        status = "! could not check"
    else:
        failed = sum(1 for item in result.checks if item.status == "failed")
        status = f"✗ {failed} to fix"
    return status, f"{result.earned}/{result.total}", result.started


def rows(folder: Path) -> list[tuple[str, str, str, str, str]]:
    table = []
    for level in LEVELS:
        path = folder / f"level-{level.number}.json"
        result = None
        if path.exists():
            try:
                result = read_json(path)
            except ValueError:
                result = None
        status, score, when = level_status(result, (level.folder / "checks").is_dir())
        table.append((str(level.number), level.title, status, score, when))
    return table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop progress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="folder of results (default: .workshop/results)")
    args = parser.parse_args(argv)
    folder = args.results or results_dir()
    if args.results and not folder.is_dir():
        print(f"workshop progress: {folder} is not a folder of results", file=sys.stderr)
        return 2
    header = ("Level", "Title", "Status", "Score", "Last checked")
    table = [header] + rows(folder)
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    following = next((row for row in table[1:] if row[2] not in ("✓ done", "no checks")), None)
    if following:
        print(f"\nNext: level {following[0]} ({following[1]}): make lab-{following[0]}, then make check-{following[0]}.")
    return 0
