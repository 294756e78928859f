"""Substitute ``{{ KEY }}`` from versions.env everywhere in a page, code blocks included.

MyST substitutions do not reach inside code fences, yet install commands need versions
there. Replacing the known keys in the source before parsing keeps one source of truth.

A translated build (``-D language=ja``) and the gettext builder keep ``{{ KEY }}`` in the source
instead, so a catalog's messages say ``{{ ISTIO_VERSION }}``, not a version that changes: MyST's
own substitutions fill the prose (the translated text included), and a transform run after the
translation fills what MyST does not reach (code blocks, inline code, link targets).
"""

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

from workshop.versions import all_versions

PATTERN = re.compile(r"\{\{\s*([A-Z][A-Z0-9_]*)\s*\}\}")


def substitute(text: str, versions: dict[str, str]) -> str:
    """Replace ``{{ KEY }}`` for every KEY in versions; leave anything else untouched."""
    return PATTERN.sub(lambda match: versions.get(match.group(1), match.group(0)), text)


def keeps_placeholders(app) -> bool:
    """Messages are extracted or translated: the source keeps ``{{ KEY }}``."""
    return app.builder.name == "gettext" or (app.config.language or "en") != "en"


class SubstituteAfterTranslation(SphinxTransform):
    """``{{ KEY }}`` left in the doctree (code, inline code, link targets) once it is translated."""

    default_priority = 25  # after sphinx.transforms.i18n.Locale (20)

    def apply(self):
        if not keeps_placeholders(self.app) or self.app.builder.name == "gettext":
            return  # English was substituted at source-read; the catalogs keep {{ KEY }}
        versions = all_versions()
        for node in list(self.document.findall(nodes.Text)):
            if PATTERN.search(node):
                node.parent.replace(node, nodes.Text(substitute(str(node), versions)))
        for node in self.document.findall(nodes.Element):
            # A code block is highlighted only while its rawsource is its text.
            if isinstance(node.rawsource, str) and PATTERN.search(node.rawsource):
                node.rawsource = substitute(node.rawsource, versions)
            for name in ("refuri", "uri"):
                if isinstance(node.get(name), str) and PATTERN.search(node[name]):
                    node[name] = substitute(node[name], versions)


def setup(app):
    versions = all_versions()

    def on_source_read(app, docname, source):
        if not keeps_placeholders(app):
            source[0] = substitute(source[0], versions)

    app.connect("source-read", on_source_read)
    app.add_transform(SubstituteAfterTranslation)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
