"""`make help` lists every target, and the level targets answer honestly."""

import os
import re
import subprocess
import sys
from pathlib import Path


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


def test_a_lab_action_that_does_not_exist_says_so_and_exits_2(repo_root: Path, tmp_path: Path):
    """scripts/lab.sh answers with a sentence and status 2 (never a fake success) when a level or
    one of its actions is missing; no kube context is looked at before that."""
    env = {"KUBECONFIG": str(tmp_path / "none")}
    for args, says in ((["deploy", "9"], "there is no level 9"), (["frobnicate", "2"], "unknown action")):
        done = subprocess.run([str(repo_root / "scripts" / "lab.sh"), *args], cwd=repo_root, capture_output=True,
                              text=True, timeout=60, env={**os.environ, **env})
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)


def test_a_level_without_an_action_says_what_is_coming(repo_root: Path, tmp_path: Path):
    lab_dir = tmp_path / "09-fake"
    lab_dir.mkdir()
    (lab_dir / "lab.sh").write_text("deploy() { echo deployed; }\n")  # no solve() yet
    fake_workshop = tmp_path / "workshop"  # stands in for `workshop lab folder|title N`; `lab say` is the real one
    real_workshop = Path(sys.executable).parent / "workshop"
    fake_workshop.write_text(f'#!/bin/sh\n[ "$2" = say ] && exec {real_workshop} "$@"\n'
                             f'[ "$2" = folder ] && echo {lab_dir} || echo Fake\n')
    fake_workshop.chmod(0o755)
    done = subprocess.run([str(repo_root / "scripts" / "lab.sh"), "solve", "9"], cwd=repo_root, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "WORKSHOP": str(fake_workshop)})
    assert done.returncode == 2 and "Level 9 (Fake) has no 'solve' step yet" in done.stderr, done.stderr
