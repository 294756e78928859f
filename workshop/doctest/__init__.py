"""Executable lab pages: every command on a level page is run in CI, or visibly marked.

Like istio.io's docs tests, the commands are read from the pages themselves, so a page
cannot drift from what works:

- ``pages``: extract each page's command blocks (MyST's own markdown parser, not regexes),
- ``markers``: the visible markers (``{.needs-laptop}`` ...) a block may carry instead of running,
- ``matcher``: compare a block's output with the page's expected output, tolerantly,
- ``shell``: run commands the way a learner's terminal would (cd and export carry over),
- ``snapshot``: what is in the cluster, to prove a page's cleanup left it as found,
- ``runner``: run whole pages; ``coverage``: blocks run / marked / total,
- ``browser``: load the built site (or any URL) in headless Chromium.

Command line: ``python -m workshop.doctest coverage|run|e2e|browser`` (see ``make help``).
"""
