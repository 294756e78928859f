"""The coverage gate: every command block on every lab page is run here, or visibly marked."""

import re
import subprocess
import sys
import textwrap

import pytest

from workshop import REPO_ROOT
from workshop.doctest import markers, substrate
from workshop.doctest.coverage import classify, summary_line, table
from workshop.doctest.pages import lab_pages, read_page

LINE = re.compile(r"^doc-coverage: run=(\d+) marked=(\d+) total=(\d+) percent=(\d+\.\d)$")


@pytest.mark.parametrize("page", lab_pages(), ids=lambda page: page.name)
def test_every_block_is_run_or_marked(page):
    coverage = classify(page)
    assert not coverage.neither, "\n".join(
        f"{block.where}: neither run nor marked: {why}" for block, why in coverage.neither)


def test_each_marker_has_a_visible_label():
    labels = markers.labels()
    assert {"needs-laptop", "needs-real-cluster", "needs-browser"} <= set(labels)
    assert all(text.strip() for text in labels.values())


def test_a_page_with_an_unmarked_unrunnable_block_is_caught(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(textwrap.dedent("""\
        ```console
        $ make check-9
        ```

        {.needs-laptop}
        ```console
        $ kind create cluster
        ```

        ```bash
        kubectl get pods
        ```

        {.needs-telepathy}
        ```console
        $ true
        ```
        """))
    coverage = classify(read_page(path, level=2))
    assert (len(coverage.run), len(coverage.marked), coverage.total) == (1, 1, 4)
    assert [why.split(":")[0] for _, why in coverage.neither] == [
        "a `bash` block cannot be run", "marker needs-telepathy has no visible label in docs/_static/*.css"]
    assert summary_line([coverage]) == "doc-coverage: run=1 marked=1 total=4 percent=25.0"
    assert "neither run nor marked" in table([coverage])


def test_level_0_is_shown_but_not_counted(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("```console\n$ true\n```\n")
    counted, setup = classify(read_page(path, level=2)), classify(read_page(path, level=0))
    assert summary_line([counted, setup]) == "doc-coverage: run=1 marked=0 total=1 percent=100.0"
    assert "(not counted)" in table([counted, setup])


def test_blocks_run_on_the_control_plane_only_are_not_counted_as_run(tmp_path, monkeypatch):
    """A KWOK page's blocks prove the API accepted them, not that anything ran: own column, not "run"."""
    path = tmp_path / "README.md"
    path.write_text("```console\n$ true\n```\n\n{.needs-laptop}\n```console\n$ kind create cluster\n```\n")
    monkeypatch.setattr(substrate, "REAL_NODE_LEVELS", frozenset({2}))
    monkeypatch.setattr(substrate, "REAL_MESH_LEVELS", frozenset({5}))
    monkeypatch.setattr(substrate, "NOT_RUN_LEVELS", {4: "a page no CI run executes"})
    on_kwok, on_real_nodes = classify(read_page(path, level=3)), classify(read_page(path, level=2))
    assert (len(on_kwok.run), len(on_kwok.control_plane_only), len(on_kwok.marked)) == (0, 1, 1)
    assert (len(on_real_nodes.run), len(on_real_nodes.control_plane_only)) == (1, 0)
    assert summary_line([on_kwok, on_real_nodes]) == "doc-coverage: run=1 marked=2 total=4 percent=25.0"
    header = table([on_kwok]).splitlines()[0].split()
    assert header == ["page", "run", "control-plane", "not-run", "marked", "neither", "total", "substrate"]
    assert table([on_kwok]).splitlines()[1].split()[1:] == ["0", "1", "0", "1", "0", "2", "control-plane"]
    assert table([on_real_nodes]).splitlines()[1].split()[1:] == ["1", "0", "0", "1", "0", "2", "real-nodes"]
    on_no_run = classify(read_page(path, level=4))  # substrate.NOT_RUN_LEVELS
    assert (len(on_no_run.run), len(on_no_run.control_plane_only), len(on_no_run.not_run)) == (0, 0, 1)
    assert "level 4: a page no CI run executes" in table([on_no_run])
    on_the_mesh = classify(read_page(path, level=5))
    assert (len(on_the_mesh.run), len(on_the_mesh.control_plane_only), len(on_the_mesh.not_run)) == (1, 0, 0)
    assert table([on_the_mesh]).splitlines()[1].split()[1:] == ["1", "0", "0", "1", "0", "2", "real-mesh"]


def test_level_1_runs_on_the_container_engine_levels_2_3_on_real_nodes_and_5_on_the_real_mesh():
    by_level = {page.level: substrate.of(page) for page in lab_pages()}
    assert by_level[1] == substrate.CONTAINER_ENGINE
    assert by_level[2] == by_level[3] == substrate.REAL_NODES
    assert by_level[4] == substrate.CONTROL_PLANE  # make lab-4 waits for Argo CD, whose images are not built here
    assert by_level[5] == substrate.REAL_MESH  # tests/docs/test_level5_page.py
    assert by_level[6] == substrate.CONTROL_PLANE


def test_the_command_ends_with_exactly_one_summary_line():
    result = subprocess.run([sys.executable, "-m", "workshop.doctest", "coverage"], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=120)
    lines = result.stdout.rstrip("\n").splitlines()
    assert LINE.match(lines[-1]), lines[-1]
    assert sum(bool(LINE.match(line)) for line in lines) == 1
    run, marked, total, percent = LINE.match(lines[-1]).groups()
    assert int(run) + int(marked) <= int(total)
    neither = sum(len(classify(page).neither) for page in lab_pages())
    assert result.returncode == (0 if neither == 0 else 1), result.stderr


def test_a_marked_block_that_does_not_parse_is_neither(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("{.needs-laptop}\n```console\n$ echo 'unclosed\n```\n")
    coverage = classify(read_page(path, level=2))
    assert not coverage.marked and "bash cannot parse" in coverage.neither[0][1]
