"""Substitute ``{{ KEY }}`` from versions.env everywhere in a page, code blocks included.

MyST substitutions do not reach inside code fences, yet install commands need versions
there. Replacing the known keys in the source before parsing keeps one source of truth.
"""

import re

from workshop.versions import all_versions

PATTERN = re.compile(r"\{\{\s*([A-Z][A-Z0-9_]*)\s*\}\}")


def substitute(text: str, versions: dict[str, str]) -> str:
    """Replace ``{{ KEY }}`` for every KEY in versions; leave anything else untouched."""
    return PATTERN.sub(lambda match: versions.get(match.group(1), match.group(0)), text)


def setup(app):
    versions = all_versions()

    def on_source_read(app, docname, source):
        source[0] = substitute(source[0], versions)

    app.connect("source-read", on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
