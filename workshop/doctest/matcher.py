"""Compare what a command printed with the page's expected output, tolerantly.

    >>> from workshop.doctest.matcher import mismatch
    >>> expected = '''NAME                       READY   STATUS    AGE
    ... gateway-7d9f8b6c5d-x2x4z   1/1     Running   20s
    ... ...'''
    >>> actual = '''NAME                      READY   STATUS    AGE
    ... gateway-58c4b9d8f-q7zkw   1/1     Running   3m12s
    ... order-5b8d7c9f4-abcde     1/1     Running   3m12s'''
    >>> mismatch(expected, actual) is None
    True

What a page cannot know in advance is replaced by a placeholder on BOTH sides before
comparing (see NORMALIZERS): pod-name hashes, IP addresses, ports, ages and timings,
timestamps, UIDs, resource versions. Runs of spaces count as one, so columns may shift.
``...`` on a line of its own matches any number of lines (none included); ``...`` inside
a line matches any text. Everything else must be equal, line for line, in order: a wrong
name, count, status or message is a mismatch.
"""

from __future__ import annotations

import re

ELLIPSIS = "..."

# (pattern, placeholder), applied in order to expected and actual lines alike.
_ALPHANUM = "[a-z0-9]"
NORMALIZERS: list[tuple[re.Pattern[str], str]] = [
    # 2026-11-21T22:09:40.123Z, 2026-11-21 22:09:40 +0000
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\s?[+-]\d{2}:?\d{2})?"), "<TIME>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<UID>"),
    (re.compile(r"(resourceVersion:\s*)\"?\d+\"?"), r"\1<RV>"),
    (re.compile(r"(\"resourceVersion\":\s*)\"\d+\""), r"\1<RV>"),
    # host:port (IPv4 or localhost) before the bare-IP rule, so the port is seen
    (re.compile(r"(\b\d{1,3}(?:\.\d{1,3}){3}|\blocalhost|\[[0-9a-f:]+\]):\d{1,5}\b"), "<IP>:<PORT>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(/\d{1,2})?\b"), "<IP>"),
    # NodePorts: 8080:31234/TCP
    (re.compile(r"\b(\d{1,5}):\d{5}/(TCP|UDP|SCTP)\b"), r"\1:<NODEPORT>/\2"),
    # Deployment pods: <name>-<pod-template-hash>-<5 chars>; then <name>-<5 chars> (Jobs,
    # DaemonSets) when the suffix holds a digit, so plain words like `-store` stay words.
    (re.compile(rf"\b([a-z][a-z0-9-]*?)-{_ALPHANUM}{{6,10}}-{_ALPHANUM}{{5}}\b"), r"\1-<HASH>-<ID>"),
    (re.compile(rf"\b([a-z][a-z0-9-]*?)-(?=[a-z]*\d){_ALPHANUM}{{5}}\b(?!-)"), r"\1-<ID>"),
    # Ages and timings: 20s, 3m12s, 1.2s, 350ms, 2d4h, 0m1.204s; also "(x4 over 2m)"
    (re.compile(r"(?<![\w.])\d+(\.\d+)?(ms|µs|us|ns|s|m|h|d|y)(\d+(\.\d+)?(ms|s|m|h|d))*(?![\w])"), "<DURATION>"),
]
SPACES = re.compile(r"[ \t]+")


def equivalents(groups: dict[str, list[str]]) -> list[tuple[re.Pattern[str], str]]:
    """Rules making each word of a group equal: ``{"<CONTEXT>": ["kind-workshop", "workshop-sim"]}``.

    For what differs between the learner's cluster the page shows and the cluster the test
    runs on (context name, Kubernetes version): the runner knows both, the page one."""
    rules = []
    for placeholder, words in groups.items():
        alternatives = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True) if word)
        if alternatives:
            rules.append((re.compile(rf"(?<![\w.-])({alternatives})(?![\w-])"), placeholder))
    return rules


def normalize(line: str, extra: list[tuple[re.Pattern[str], str]] = ()) -> str:
    """One line with every unpredictable value replaced by its placeholder."""
    for pattern, placeholder in [*extra, *NORMALIZERS]:
        line = pattern.sub(placeholder, line)
    return SPACES.sub(" ", line).strip()


def _lines(text: str, extra) -> list[str]:
    # Blank lines carry no meaning in terminal output (and pages differ on trailing ones).
    return [normalize(line, extra) for line in text.splitlines() if line.strip()]


def _line_pattern(expected_line: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in expected_line.split(ELLIPSIS)]
    return re.compile(".*".join(parts))


def _match(patterns: list[re.Pattern[str] | None], actual: list[str]) -> bool:
    """Glob-like match over lines: None is `...` (any lines). Iterative, with one
    backtrack point per `...`, the classic wildcard algorithm (linear in practice)."""
    p = a = 0
    star_p = star_a = -1
    while a < len(actual):
        if p < len(patterns) and patterns[p] is None:
            star_p, star_a = p, a
            p += 1
        elif p < len(patterns) and patterns[p].fullmatch(actual[a]):
            p += 1
            a += 1
        elif star_p >= 0:
            p, star_a = star_p + 1, star_a + 1
            a = star_a
        else:
            return False
    return all(pattern is None for pattern in patterns[p:])


def mismatch(expected: str, actual: str, extra: list[tuple[re.Pattern[str], str]] = ()) -> str | None:
    """None when ``actual`` matches ``expected``; else a short report: the first expected
    line that could not be found, then both normalized texts. ``extra``: see equivalents()."""
    expected_lines = _lines(expected, extra)
    actual_lines = _lines(actual, extra)
    patterns = [None if line == ELLIPSIS else _line_pattern(line) for line in expected_lines]
    if _match(patterns, actual_lines):
        return None
    hint = _hint(expected_lines, patterns, actual_lines)
    # Long output: its head and its tail (where summaries and errors are).
    if len(actual_lines) > 40:
        kept = actual_lines[:20] + [f"... ({len(actual_lines) - 40} lines not shown)"] + actual_lines[-20:]
    else:
        kept = actual_lines
    shown = "\n".join(f"    {line}" for line in kept) or "    (nothing)"
    wanted = "\n".join(f"    {line}" for line in expected_lines)
    return (f"expected output not matched; {hint}\n"
            f"  expected (normalized):\n{wanted}\n  got (normalized):\n{shown}")


def _hint(expected_lines, patterns, actual_lines) -> str:
    """Why it does not match, in one sentence: the first expected line not found (in order,
    after the previous one), or else the first output line that the page does not show."""
    a, covered, gap = 0, set(), False
    for line, pattern in zip(expected_lines, patterns):
        if pattern is None:
            gap = True
            continue
        found = next((i for i in range(a, len(actual_lines)) if pattern.fullmatch(actual_lines[i])), None)
        if found is None:
            return f"first expected line not found in order: {line!r}"
        covered.update(range(a, found) if gap else ())
        covered.add(found)
        a, gap = found + 1, False
    if gap:
        covered.update(range(a, len(actual_lines)))
    extra = next((line for i, line in enumerate(actual_lines) if i not in covered), "")
    return f"the output has a line the page does not show: {extra!r} (show it, or allow it with a `...` line)"
