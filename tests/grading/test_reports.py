"""Rendering a run: terminal text, JSON round trip, JUnit, progress and the instructor's HTML."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from workshop.grading import progress, report
from workshop.grading.render import render_text
from workshop.grading.results import CheckResult, RunResult, keep, read_json, write_json, write_junit


def run_result(learner="ada", level=2, failing=True, started="2026-11-21T22:00:00Z") -> RunResult:
    checks = [
        CheckResult(id="l2-available", title="Deployments are Available", status="passed", points=2, earned=2,
                    hint="Apply the manifests"),
        CheckResult(id="l2-probes", title="probes are set", status="failed" if failing else "passed", points=2,
                    earned=0 if failing else 2, hint="Give account its probes", docs="https://example.test/probes",
                    mismatches=["deployment/account.spec...readinessProbe: expected {...}, got nothing"] if failing else [],
                    diagnostics=["deployment/account: condition Available=True"] if failing else []),
        CheckResult(id="l2-gateway-http", title="the gateway answers", status="skipped", points=2, earned=0,
                    hint="port-forward", message="needs a real cluster"),
    ]
    return RunResult(level=level, title="Orchestrate", context="kind-workshop", server="https://127.0.0.1:6443",
                     learner=learner, started=started, checks=checks, api_requests=7)


def test_text_puts_the_hint_first_then_mismatches_then_score_and_next():
    text = render_text(run_result())
    lines = text.splitlines()
    assert lines[0] == "Grading level 2 (Orchestrate) on context kind-workshop (https://127.0.0.1:6443)"
    failed = next(index for index, line in enumerate(lines) if line.startswith("✗ l2-probes"))
    assert lines[failed + 1] == "    hint: Give account its probes"
    assert lines[failed + 2].startswith("    deployment/account.spec")
    assert "- l2-gateway-http the gateway answers" in text and "skipped: needs a real cluster" in text
    assert "Score: 2/4 points, 1 of 2 checks passed (1 needs a real cluster)." in text
    assert lines[-1].startswith("Next: Give account its probes. Then run make check-2 again")


def test_a_passed_level_points_to_the_next_one():
    assert render_text(run_result(failing=False)).splitlines()[-1] == "Level 2 is done. Next: level 3, make lab-3."


def test_json_round_trips(tmp_path):
    original = run_result()
    write_json(original, tmp_path / "r.json")
    again = read_json(tmp_path / "r.json")
    assert again == original
    data = json.loads((tmp_path / "r.json").read_text())
    assert (data["earned"], data["total"], data["status"]) == (2, 4, "failed")


def test_junit_counts_and_messages(tmp_path):
    write_junit(run_result(), tmp_path / "r.xml")
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='l2-probes: probes are set']/failure")
    assert failure.get("message") == "Give account its probes" and "readinessProbe" in failure.text


def test_keep_writes_latest_and_history(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_RESULTS_DIR", str(tmp_path))
    latest = keep(run_result())
    assert latest == tmp_path / "level-2.json"
    assert [path.name for path in (tmp_path / "history").iterdir()] == ["level-2-20261121T220000Z.json"]


def test_progress_shows_every_level(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_RESULTS_DIR", str(tmp_path))
    keep(run_result())
    assert progress.main([]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line and line[0].isdigit()}
    assert set(lines) == {str(n) for n in range(8)}
    assert "✗ 1 to fix" in lines["2"] and "2/4" in lines["2"]


def test_progress_reports_a_bad_folder_in_one_sentence(tmp_path, capsys):
    assert progress.main(["--results", str(tmp_path / "nope")]) == 2
    assert "is not a folder of results" in capsys.readouterr().err


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.classes, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self.classes.append(dict(attrs).get("class"))
        if tag == "script":
            raise AssertionError("the report must not run scripts")

    def handle_data(self, data):
        self.text.append(data)


def test_instructor_report_is_one_table_of_learners_and_levels(tmp_path):
    write_json(run_result("ada"), tmp_path / "ada.json")
    write_json(run_result("bob", failing=False), tmp_path / "bob.json")
    write_json(run_result("ada", failing=False, started="2026-11-21T21:00:00Z"), tmp_path / "old.json")  # older: ignored
    (tmp_path / "junk.json").write_text("not json")
    done = subprocess.run([sys.executable, "-m", "workshop.cli", "report", str(tmp_path), "-o", str(tmp_path / "c.html")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stderr and "junk.json" in done.stderr
    page = (tmp_path / "c.html").read_text()
    cells = _Cells()
    cells.feed(page)
    assert cells.classes == ["failed", "passed"]  # ada stuck, bob done; rows sorted by learner
    assert "stuck: l2-probes" in page and "Level 2, <code>l2-probes</code> probes are set: 1 learner" in page
    assert "http://" not in page.replace("https://127.0.0.1", "") and "<link" not in page  # self-contained


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_instructor_report_escapes_whatever_learners_send(name):
    result = run_result(learner=name)
    result.checks[1].title = name
    page = report.render_html([result])
    cells = _Cells()
    cells.feed(page)  # raises if a name smuggled in a <script>
    assert "<script" not in page.lower()


def test_report_without_results_says_so(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 2
    assert "no workshop results" in capsys.readouterr().err
