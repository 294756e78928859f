"""Run `workshop check` the way a learner does: a separate process, then read its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CheckRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None
    seconds: float


def run_workshop_check(level: int, *args: str, json_path: Path, timeout: float = 120, env: dict | None = None) -> CheckRun:
    """`workshop check LEVEL ARGS --json PATH` as a learner runs it: a separate process."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workshop.cli", "check", str(level), *args, "--json", str(json_path),
                           "--no-keep"], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})
    report = json.loads(json_path.read_text()) if json_path.exists() else None
    return CheckRun(done.returncode, done.stdout, done.stderr, report, time.monotonic() - started)
