"""`workshop report DIR`: one HTML table of a class's results, for the instructor.

Learners hand in their ``.workshop/results/*.json`` (or ``workshop check N --json``);
put them all in one folder, then:

    $ workshop report submissions/ -o class.html

One row per learner, one column per level: the score, and where a learner is stuck
(the first failing check, its title on hover); under the table, the checks most
learners fail. The page is self-contained (inline CSS, no script, nothing fetched).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from html import escape
from pathlib import Path

from workshop.grading.results import ERROR, FAILED, PASSED, RunResult, read_json

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.passed { background: #e3f6e3; } td.failed { background: #fde8e8; } td.error { background: #fff4d6; }
td.none { color: #999; } small { color: #555; display: block; }
"""


def load(folder: Path) -> tuple[list[RunResult], list[str]]:
    """Every result under ``folder`` (latest per learner and level), and one warning per unreadable file."""
    latest: dict[tuple[str, int], RunResult] = {}
    warnings = []
    for path in sorted(folder.rglob("*.json")):
        try:
            result = read_json(path)
        except ValueError as error:
            warnings.append(str(error))
            continue
        key = (result.learner or path.stem, result.level)
        if key not in latest or result.started > latest[key].started:
            latest[key] = result
    return list(latest.values()), warnings


def stuck_on(result: RunResult):
    """The first check that did not pass (where the learner is stuck), or None."""
    return next((item for item in result.checks if item.status in (FAILED, ERROR)), None)


def cell(result: RunResult | None) -> str:
    if result is None:
        return '<td class="none">-</td>'
    score = f"{result.earned}/{result.total}"
    if result.status == PASSED:
        return f'<td class="passed">✓ {escape(score)}<small>{escape(result.started)}</small></td>'
    if result.cannot_check:
        return f'<td class="error">could not check<small>{escape(result.cannot_check[0])}</small></td>'
    stuck = stuck_on(result)
    detail = (f'<small title="{escape(stuck.title)}: {escape(stuck.hint)}">stuck: {escape(stuck.id)}</small>'
              if stuck else "")
    return f'<td class="{escape(result.status)}">{escape(score)}{detail}</td>'


def render_html(results: list[RunResult], title: str = "Workshop progress") -> str:
    learners = sorted({result.learner for result in results})
    levels = sorted({result.level for result in results})
    by_key = {(result.learner, result.level): result for result in results}
    head = "".join(f"<th>Level {level}</th>" for level in levels)
    body = []
    for learner in learners:
        cells = "".join(cell(by_key.get((learner, level))) for level in levels)
        body.append(f"<tr><th>{escape(learner)}</th>{cells}</tr>")
    blockers = Counter((result.level, stuck.id, stuck.title) for result in results if (stuck := stuck_on(result)))
    common = "".join(f"<li>Level {level}, <code>{escape(check_id)}</code> {escape(check_title)}: "
                     f"{count} learner{'s' if count > 1 else ''}</li>"
                     for (level, check_id, check_title), count in blockers.most_common(10))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
            f"<p>{len(learners)} learners, {len(results)} results.</p>"
            f"<table><thead><tr><th>Learner</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<h2>Where learners are stuck</h2><ul>{common or '<li>Nobody is stuck.</li>'}</ul></body></html>\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop report", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder holding the learners' JSON results")
    parser.add_argument("-o", "--output", type=Path, help="HTML file to write (default: FOLDER/report.html)")
    parser.add_argument("--title", default="Workshop progress")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"workshop report: {args.folder} is not a folder: give the folder holding the learners' JSON files.",
              file=sys.stderr)
        return 2
    results, warnings = load(args.folder)
    for warning in warnings:
        print(f"workshop report: skipped {warning}", file=sys.stderr)
    if not results:
        print(f"workshop report: no workshop results in {args.folder} (they are the .json files of "
              "workshop check --json, or .workshop/results/).", file=sys.stderr)
        return 2
    output = args.output or args.folder / "report.html"
    output.write_text(render_html(results, args.title))
    print(f"Wrote {output}: {len({r.learner for r in results})} learners, {len(results)} results.")
    return 0
