"""Fixtures for the grading engine's tests: the API stub and a way to run `workshop check`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from apistub import ApiStub  # tests/grading is on sys.path (pytest rootdir-relative import)


@pytest.fixture
def stub():
    with ApiStub().running() as running:
        yield running


@pytest.fixture
def write_checks(tmp_path):
    """write_checks({"check_a.py": "..."}) -> a checks folder holding those files (dedented)."""

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / "checks"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(textwrap.dedent(text))
        return folder

    return write
