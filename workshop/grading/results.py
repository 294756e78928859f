"""What a grading run found, and where it is kept.

A :class:`RunResult` holds one :class:`CheckResult` per check; it is written as JSON
(``--json PATH``, and always under ``.workshop/results/``) and JUnit XML (``--junit PATH``),
and read back by ``workshop progress`` and ``workshop report``.

    .workshop/results/level-2.json                   the latest run of level 2
    .workshop/results/history/level-2-20261121T2210Z.json   every run, kept
"""

from __future__ import annotations

import getpass
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from workshop import REPO_ROOT

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
SCHEMA = "workshop-results/v1"


@dataclass
class CheckResult:
    id: str
    title: str
    status: str  # passed | failed | error (could not check) | skipped (needs a real cluster)
    points: int
    earned: int
    hint: str = ""
    docs: str = ""
    step: str = ""
    message: str = ""  # one sentence: why it failed, errored or was skipped
    mismatches: list[str] = field(default_factory=list)  # "path: expected X, got Y"
    diagnostics: list[str] = field(default_factory=list)
    seconds: float = 0.0
    attempts: int = 0


@dataclass
class RunResult:
    level: int
    title: str
    context: str
    server: str
    server_version: str = ""
    learner: str = ""
    started: str = ""
    seconds: float = 0.0
    api_requests: int = 0
    exit_status: int = 0
    cannot_check: list[str] = field(default_factory=list)  # sentences saying what to run
    checks: list[CheckResult] = field(default_factory=list)
    not_selected: int = 0  # checks of the level left out by `-k`: a pass then is not the level done
    schema: str = SCHEMA

    @property
    def earned(self) -> int:
        return sum(item.earned for item in self.checks)

    @property
    def total(self) -> int:
        """Points that could be earned here (checks skipped on the sim do not count)."""
        return sum(item.points for item in self.checks if item.status != SKIPPED)

    @property
    def status(self) -> str:
        if self.cannot_check or any(item.status == ERROR for item in self.checks):
            return ERROR
        return FAILED if any(item.status == FAILED for item in self.checks) else PASSED

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(earned=self.earned, total=self.total, status=self.status)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "RunResult":
        fields = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        fields["checks"] = [CheckResult(**{k: v for k, v in item.items() if k in CheckResult.__dataclass_fields__})
                            for item in data.get("checks", [])]
        return cls(**fields)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def learner_name() -> str:
    """Who ran the checks: WORKSHOP_LEARNER, else the login name (for the instructor's table)."""
    try:
        return os.environ.get("WORKSHOP_LEARNER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def results_dir() -> Path:
    return Path(os.environ.get("WORKSHOP_RESULTS_DIR") or REPO_ROOT / ".workshop" / "results")


def write_json(result: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> RunResult:
    """Read a result file; ValueError (one sentence) when it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable JSON file ({error.__class__.__name__})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a workshop result (no \"schema\": \"{SCHEMA}\")")
    try:
        return RunResult.from_dict(data)
    except TypeError as error:
        raise ValueError(f"{path} is a workshop result with missing fields ({error})") from None


def keep(result: RunResult) -> Path:
    """Store a run under results_dir(): the latest per level, and a copy in history/."""
    folder = results_dir()
    stamp = result.started.replace("-", "").replace(":", "")
    write_json(result, folder / "history" / f"level-{result.level}-{stamp}.json")
    latest = folder / f"level-{result.level}.json"
    write_json(result, latest)
    return latest


def write_junit(result: RunResult, path: Path) -> None:
    """JUnit XML, one testcase per check, for CI dashboards."""
    counts = {status: sum(1 for item in result.checks if item.status == status) for status in (FAILED, ERROR, SKIPPED)}
    suite = ET.Element("testsuite", name=f"workshop level {result.level}", tests=str(len(result.checks)),
                       failures=str(counts[FAILED]), errors=str(counts[ERROR]), skipped=str(counts[SKIPPED]),
                       time=f"{result.seconds:.3f}", timestamp=result.started)
    for item in result.checks:
        case = ET.SubElement(suite, "testcase", classname=f"level{result.level}", name=f"{item.id}: {item.title}",
                             time=f"{item.seconds:.3f}")
        text = "\n".join([f"hint: {item.hint}", *item.mismatches, *item.diagnostics])
        if item.status == FAILED:
            ET.SubElement(case, "failure", message=item.message or item.hint).text = text
        elif item.status == ERROR:
            ET.SubElement(case, "error", message=item.message).text = text
        elif item.status == SKIPPED:
            ET.SubElement(case, "skipped", message=item.message)
    ET.SubElement(suite, "system-out").text = f"context {result.context} ({result.server}), {result.api_requests} API requests"
    path.parent.mkdir(parents=True, exist_ok=True)
    suites = ET.Element("testsuites", name="workshop")
    suites.append(suite)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
