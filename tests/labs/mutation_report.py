"""`caught / tried` per level, printed in pytest's terminal summary by every mutation suite.

    report(request.config).record("level 2 (sim)", "extra-container", caught=True)

A result travels on the test's report (``user_properties``), so it reaches the summary also
when the test ran in another process (pytest-xdist's workers).
"""

from __future__ import annotations

import pytest

NAME = "workshop-mutation-report"
PROPERTY = "mutation"


class MutationReport:
    def __init__(self):
        self.pending: list[tuple[str, str, bool]] = []
        self.tried: dict[str, list[tuple[str, bool]]] = {}

    def record(self, level: str, name: str, caught: bool) -> None:
        self.pending.append((level, name, caught))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        recorded, self.pending = self.pending, []
        outcome.get_result().user_properties.extend((PROPERTY, result) for result in recorded)

    def pytest_runtest_logreport(self, report):
        for key, (level, name, caught) in ((k, v) for k, v in report.user_properties if k == PROPERTY):
            self.tried.setdefault(level, []).append((name, caught))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.tried:
            return
        terminalreporter.section("mutations: caught / tried")
        for level, results in sorted(self.tried.items()):
            missed = [name for name, caught in results if not caught]
            terminalreporter.write_line(f"{level}: {len(results) - len(missed)} / {len(results)} caught"
                                        + (f" (missed: {', '.join(missed)})" if missed else ""))


def register(config) -> MutationReport:
    plugin = config.pluginmanager.get_plugin(NAME)
    if plugin is None:
        plugin = MutationReport()
        config.pluginmanager.register(plugin, NAME)
    return plugin


def report(config) -> MutationReport:
    """The session's report (registered by tests/conftest.py, so the controlling process sums it too)."""
    return register(config)
