"""`make help` lists every target, and the level targets answer honestly."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from workshop.levels import LEVELS


def make(repo_root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=repo_root, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def declared_targets(repo_root: Path) -> set[str]:
    targets = set()
    for makefile in [repo_root / "Makefile", *sorted((repo_root / "mk").glob("*.mk"))]:
        for line in makefile.read_text().splitlines():
            match = re.match(r"^([a-zA-Z0-9][a-zA-Z0-9_.-]*)\s*:(?!=)", line)
            if match:
                targets.add(match.group(1))
    return targets


def test_help_is_the_default_and_lists_every_target(repo_root: Path):
    default = make(repo_root)
    assert default.returncode == 0
    listed = {line.split()[0] for line in default.stdout.splitlines() if line.startswith("  ") and line.split()}
    missing = declared_targets(repo_root) - listed
    assert not missing, f"targets without a `## description` in make help: {sorted(missing)}"
    for pattern in ("lab-N", "check-N", "solve-N", "reset-N"):
        assert pattern in listed


def test_every_level_has_its_four_targets(repo_root: Path):
    database = make(repo_root, "-pRrq", "help").stdout
    for level in LEVELS[1:]:
        for action in ("lab", "check", "solve", "reset"):
            assert re.search(rf"^{action}-{level.number}:", database, re.M), f"{action}-{level.number} missing"


def unwritten_levels() -> list[int]:
    return [level.number for level in LEVELS[1:] if not (level.folder / "lab.sh").exists()]


@pytest.mark.skipif(not unwritten_levels(), reason="every level has its lab.sh")
def test_an_unwritten_lab_says_so_and_exits_2(repo_root: Path, tmp_path: Path):
    number = unwritten_levels()[-1]
    result = make(repo_root, f"lab-{number}", env={"KUBECONFIG": str(tmp_path / "none")})
    assert result.returncode == 2
    assert f"Level {number}" in result.stderr + result.stdout and "yet" in result.stderr + result.stdout
