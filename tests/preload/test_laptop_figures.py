"""One memory figure: every page and `make doctor` state the generated one, or none.

`make requirements` writes labs/00-setup/laptop.json beside the measured table, and the
sentences the pages include (laptop-*.md) from it. This test fails when a snippet is not what
laptop.json gives, when laptop.json disagrees with the measured table, when a page that talks
about the laptop's memory does not include its snippet, or when any page, make file or
doctor.py types a CPU or memory figure of its own (disk space aside).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workshop import REPO_ROOT, laptop, requirements

FIGURE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:GiB|GB|Gi|g)\b(?!/)|\b\d+\s+(?:CPU cores|CPUs|CPU)\b(?!-)")
# Where a laptop figure could be stated: every page, the make files, the doctor.
PLACES = sorted([*REPO_ROOT.glob("labs/*/README.md"), *REPO_ROOT.glob("docs/**/*.md"), REPO_ROOT / "README.md",
                 *REPO_ROOT.glob("mk/*.mk"), REPO_ROOT / "Makefile", REPO_ROOT / "workshop" / "grading" / "doctor.py"])
INCLUDES = {"labs/00-setup/README.md": "laptop-summary.md", "docs/index.md": "laptop-summary.md",
            "labs/05-istio/README.md": "laptop-level-5.md", "labs/07-multicluster/README.md": "laptop-level-7.md"}


def test_the_snippets_are_what_laptop_json_gives():
    data = laptop.load()
    for path, text in laptop.snippets(data).items():
        assert path.read_text() == text, f"{path.relative_to(REPO_ROOT)} is stale: run `python -m workshop.laptop`"


def test_laptop_json_is_the_measured_tables_last_column():
    rows = re.findall(r"^\| (\d)(\*?) \| \d+ \|.*→ at least (\d+) CPUs and (\d+) GiB for the cluster \|$",
                      requirements.OUTPUT.read_text(), re.MULTILINE)
    assert rows, "no measured row in requirements.md"
    table = {number: {"cpus": int(cpus), "memory_gib": int(gib), "complete": not star}
             for number, star, cpus, gib in rows}
    assert laptop.load()["levels"] == table


@pytest.mark.parametrize("page", sorted(INCLUDES))
def test_pages_that_talk_about_the_laptop_include_the_generated_sentence(page):
    text = (REPO_ROOT / page).read_text()
    assert re.search(rf"^```\{{include\}} \S*{re.escape(INCLUDES[page])}$", text, re.MULTILINE), \
        f"{page} must include labs/00-setup/{INCLUDES[page]}"


def test_no_page_make_file_or_doctor_types_a_figure_of_its_own():
    offences = []
    for path in PLACES:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "disk" in line or "CPU-second" in line:
                continue
            for match in FIGURE.finditer(line):
                offences.append(f"{path.relative_to(REPO_ROOT)}:{number}: {match.group(0)!r} in {line.strip()!r}")
    assert offences == [], "state laptop figures only through labs/00-setup/laptop.json:\n" + "\n".join(offences)


def test_the_check_catches_a_typed_figure(tmp_path):
    """The pattern finds the figures the pages used to type (so the test above can fail)."""
    for typed in ("at least 6 GiB of memory", "plan for **6 CPU cores and 14 GiB", "about 4 CPUs and 8 GiB",
                  "`minikube start --cpus 4 --memory 8g`", "about 1 CPU and 1 GiB"):
        assert FIGURE.search(typed), typed
    for fine in ("about 25 GB of free disk", "memory: 128Mi", "labs/00-setup/laptop.json"):
        assert not FIGURE.search(fine) or "disk" in fine, fine


def test_the_doctor_and_the_pages_read_the_same_file():
    assert laptop.DATA == Path(requirements.LAPTOP_DATA)
