"""How much of each lab page runs in CI: blocks run / marked / total, and the gate.

    $ python -m workshop.doctest coverage
    page                  run  control-plane  marked  neither  total  substrate
    00-setup (not counted)  0              0       8        0      8  control-plane
    02-orchestrate         12              0       0        0     12  real-nodes
    ...
    doc-coverage: run=12 marked=3 total=15 percent=80.0

"run" counts blocks executed where they really run: on real nodes, or on the container engine
(workshop/doctest/substrate.py). "control-plane" counts blocks executed on the KWOK sim only:
the API server accepted them, but no pod ran, so they are not counted as run. "marked" blocks
carry a visible marker instead; "neither" blocks are the defect the gate refuses (a command a
learner copies that nothing checks and no marker explains). The last line covers levels 1–7:
Level 0 installs tools on the learner's laptop, so it is all marked by nature and would only
flatter the figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workshop.doctest import markers as marker_labels
from workshop.doctest import substrate
from workshop.doctest.pages import Block, Page
from workshop.doctest.runner import runs_in

COUNTED_LEVELS = range(1, 8)


@dataclass
class PageCoverage:
    page: Page
    run: list[Block]
    marked: list[Block]
    neither: list[tuple[Block, str]]
    control_plane_only: list[Block] = field(default_factory=list)
    not_run: list[Block] = field(default_factory=list)  # on a page no CI run executes (substrate.NOT_RUN_LEVELS)

    @property
    def total(self) -> int:
        return len(self.run) + len(self.control_plane_only) + len(self.not_run) + len(self.marked) + len(self.neither)


def classify(page: Page, mode: str = "sim", labels: dict[str, str] | None = None) -> PageCoverage:
    labels = marker_labels.labels() if labels is None else labels
    coverage = PageCoverage(page, [], [], [])
    for block in page.blocks:
        unknown = [marker for marker in block.markers if marker not in labels]
        if unknown:
            coverage.neither.append((block, f"marker {', '.join(unknown)} has no visible label in docs/_static/*.css"))
        elif block.syntax_error:
            coverage.neither.append((block, block.syntax_error))
        elif not runs_in(block, mode):
            coverage.marked.append(block)
        elif block.problem:
            coverage.neither.append((block, block.problem))
        elif substrate.proves_it_works(page):
            coverage.run.append(block)
        elif substrate.of(page) == substrate.NOT_RUN:
            coverage.not_run.append(block)
        else:
            coverage.control_plane_only.append(block)
    return coverage


def totals(coverages: list[PageCoverage]) -> tuple[int, int, int, float]:
    counted = [c for c in coverages if c.page.level in COUNTED_LEVELS]
    run = sum(len(c.run) for c in counted)
    marked = sum(len(c.marked) for c in counted)
    total = sum(c.total for c in counted)
    return run, marked, total, (100.0 * run / total if total else 0.0)


def summary_line(coverages: list[PageCoverage]) -> str:
    run, marked, total, percent = totals(coverages)
    return f"doc-coverage: run={run} marked={marked} total={total} percent={percent:.1f}"


def table(coverages: list[PageCoverage]) -> str:
    rows = [("page", "run", "control-plane", "not-run", "marked", "neither", "total", "substrate")]
    for c in coverages:
        name = c.page.name + ("" if c.page.level in COUNTED_LEVELS else " (not counted)")
        rows.append((name, str(len(c.run)), str(len(c.control_plane_only)), str(len(c.not_run)), str(len(c.marked)),
                     str(len(c.neither)), str(c.total), substrate.of(c.page)))
    width = max(len(row[0]) for row in rows)
    lines = [f"{row[0]:<{width}}  " + "  ".join(f"{cell:>{max(7, len(rows[0][i + 1]))}}" for i, cell in enumerate(row[1:-1]))
             + f"  {row[-1]}" for row in rows]
    lines += ["", "run: executed on real nodes or the container engine; control-plane: executed on the KWOK sim "
              "only (the API accepted it, no pod ran), not counted as run; not-run: on a page no CI run executes:"]
    lines += [f"  level {level}: {why}" for level, why in sorted(substrate.NOT_RUN_LEVELS.items())]
    problems = [f"  {block.where}: neither run nor marked: {why}" for c in coverages for block, why in c.neither]
    if problems:
        lines += ["", "Blocks neither run nor marked (fix the block, or add a visible marker):", *problems]
    return "\n".join(lines)
