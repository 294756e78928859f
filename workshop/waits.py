"""Bounded waits for the tests: poll a condition until it holds, or fail the test saying what was awaited.

Tests wait for the state they assert on (a rollout, a condition, an observed request), never a
fixed sleep: this is the one helper they share.
"""

from __future__ import annotations

import time

import pytest


def wait_until(what, condition, timeout: float, interval: float = 0.5):
    """Poll ``condition`` until it returns something true (returned); ``what`` (a text, or a
    function giving one) says what was awaited when the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting until {what() if callable(what) else what}")
        time.sleep(interval)
