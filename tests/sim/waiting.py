"""Bounded waits for the sim tests: poll a condition, fail the test with what was awaited."""

from __future__ import annotations

import time

import pytest


def wait_for(what, condition, timeout: float, interval: float = 0.2):
    """Poll ``condition`` until it gives something true; ``what`` (a text or a function) says what failed."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting until {what() if callable(what) else what}")
        time.sleep(interval)
