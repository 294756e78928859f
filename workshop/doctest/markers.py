"""The visible markers a command block may carry instead of running here.

A marker is a MyST attrs_block class right above the fence::

    {.needs-laptop}
    ```console
    $ kind create cluster
    ```

A marker is only valid if the site shows the reader why: its label is a CSS rule
``div.needs-NAME::before { content: "..." }`` in docs/_static/*.css. Reading the labels
from the CSS (not from a list here) means a new marker needs exactly one visible label.
"""

from __future__ import annotations

import re
from pathlib import Path

from workshop import REPO_ROOT

STATIC = REPO_ROOT / "docs" / "_static"
PREFIX = "needs-"
# Not a marker: a block that runs everywhere, but shows a change that reaches its target seconds
# after it is applied (istiod pushing a route to the sidecars). The site labels it "run it again
# if you still see the old answer"; the runner retries it, for at most EVENTUALLY_SECONDS.
EVENTUALLY = "eventually"
EVENTUALLY_SECONDS = 60.0
LABEL = re.compile(r"div\.(needs-[a-z0-9-]+)::before\s*\{[^}]*content:\s*\"([^\"]+)\"", re.S)

# What each run mode executes besides unmarked blocks. Anything else that is marked is
# counted as "marked" and not run. Neither mode ever runs needs-laptop or needs-browser.
RUN_IN_MODE = {
    "sim": frozenset(),
    "e2e": frozenset({"needs-real-cluster"}),
}


def labels(static: Path = STATIC) -> dict[str, str]:
    """Marker class -> the label a reader sees, from every stylesheet of the site."""
    found: dict[str, str] = {}
    for css in sorted(static.glob("*.css")):
        for name, text in LABEL.findall(css.read_text()):
            found[name] = text
    return found


def markers_of(classes: list[str]) -> list[str]:
    """The needs-* classes among a block's classes, in page order."""
    return [name for name in classes if name.startswith(PREFIX)]
