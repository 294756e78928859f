"""`caught / tried` per level, printed in pytest's terminal summary by every mutation suite.

    report(request.config).record("level 2 (sim)", "extra-container", caught=True)
"""

from __future__ import annotations

NAME = "workshop-mutation-report"


class MutationReport:
    def __init__(self):
        self.tried: dict[str, list[tuple[str, bool]]] = {}

    def record(self, level: str, name: str, caught: bool) -> None:
        self.tried.setdefault(level, []).append((name, caught))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.tried:
            return
        terminalreporter.section("mutations: caught / tried")
        for level, results in sorted(self.tried.items()):
            missed = [name for name, caught in results if not caught]
            terminalreporter.write_line(f"{level}: {len(results) - len(missed)} / {len(results)} caught"
                                        + (f" (missed: {', '.join(missed)})" if missed else ""))


def report(config) -> MutationReport:
    """The session's report, registered as a plugin the first time a suite asks for it."""
    plugin = config.pluginmanager.get_plugin(NAME)
    if plugin is None:
        plugin = MutationReport()
        config.pluginmanager.register(plugin, NAME)
    return plugin
