"""Every level page has the same shape, so a learner always knows where to look."""

import re

import pytest

from workshop.levels import LEVELS

REQUIRED_SECTIONS = ["## Check your work", "## Cleanup", "## Next"]
REQUIRED_FIELDS = ["**Goal:**", "**What you will learn:**", "**Time:**", "**Prerequisites:**"]


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.slug)
def test_level_page_has_the_common_shape(level):
    page = (level.folder / "README.md").read_text()
    assert page.startswith(f"(level-{level.number})=\n# Level {level.number} — "), "page must open with its label and title"
    for field in REQUIRED_FIELDS:
        assert field in page, f"{level.slug}: missing {field}"
    positions = [page.find(section) for section in REQUIRED_SECTIONS]
    assert -1 not in positions, f"{level.slug}: missing one of {REQUIRED_SECTIONS}"
    assert positions == sorted(positions), f"{level.slug}: sections out of order"


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.slug)
def test_commands_and_output_are_separate_blocks(level):
    """Command blocks hold commands; what they print goes in a following `text` block,
    so the copy button never copies output."""
    page = (level.folder / "README.md").read_text()
    for block in re.findall(r"```console\n(.*?)```", page, re.S):
        for line in block.splitlines():
            assert line.startswith("$ ") or line.startswith("  ") or not line.strip(), (
                f"{level.slug}: output line inside a command block: {line!r}")


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.slug)
def test_manifests_are_included_never_pasted(level):
    """One source of truth: a page shows a manifest with {literalinclude} from the lab folder,
    so what the learner reads is what `make lab-N` and the checks use."""
    page = (level.folder / "README.md").read_text()
    pasted = re.findall(r"^```ya?ml\s*$", page, re.M)
    assert not pasted, f"{level.slug}: paste no YAML; use {{literalinclude}} of the file in labs/{level.slug}/"
