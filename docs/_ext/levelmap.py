"""``levelmap`` directive: the level map drawn as inline SVG from workshop/levels.py.

The diagram is generated at build time from the same table as `make help` and
`workshop progress`, and is inline, so the site needs no other host to show it.

    ```{levelmap}
    ```
"""

import re
from html import escape

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from workshop.i18n import N_, catalog_path, translations
from workshop.levels import LEVELS

BOX_W, BOX_H, GAP, STEP = 178, 118, 14, 26
COLOURS = ["#9e9e9e", "#2980b9", "#2980b9", "#16a085", "#16a085", "#8e44ad", "#d35400", "#c0392b"]


def wrap(text: str, width: int = 26) -> list[str]:
    """Split text into lines of at most ``width`` characters, on spaces."""
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + ([current] if current else [])


NO_LINE_START = set("、。)ーッャュョァィゥェォっゃゅょ")  # kinsoku: these never begin a line


def wrap_wide(text: str, width: float = 26.0) -> list[str]:
    """Wrap text that mixes Japanese and English: a Japanese character may end a line and counts
    as two columns; an English word is never cut; a line never starts with 、, 。 or ー."""
    tokens = re.findall(r"[\x21-\x7e]+\s?|\s|.", text)
    lines, current, used = [], "", 0.0
    for token in tokens:
        cost = sum(1.0 if char.isascii() else 2.0 for char in token)
        if current and used + cost > width and token.strip() not in NO_LINE_START:
            lines.append(current.rstrip())
            current, used = token.lstrip(), cost
        else:
            current, used = current + token, used + cost
    return lines + ([current.rstrip()] if current.strip() else [])


def level_box(index: int, level, href: str, _=lambda text: text) -> str:
    columns = 4
    x = (index % columns) * (BOX_W + GAP) + 4
    y = (index // columns) * (BOX_H + GAP + STEP) + 4
    short = _(level.short)
    size = 15 if short.isascii() else 13  # Japanese titles are wider
    lines = [f'<text x="{x + 10}" y="{y + 22}" font-size="{size}" font-weight="bold" fill="#fff">'
             f"{level.number} · {escape(short)}</text>"]
    row = y + 44
    for label, text in ((N_("app"), level.app_gains), (N_("cluster"), level.cluster_gains)):
        line = f"{_(label)}: {_(text)}"
        parts = wrap(line) if line.isascii() else wrap_wide(line)  # Japanese has no spaces to wrap on
        for n, part in enumerate(parts):
            lines.append(f'<text x="{x + 10}" y="{row}" font-size="11.5" fill="#fff">{escape(part)}</text>')
            row += 14
    minutes = _(N_("{minutes} min")).format(minutes=level.minutes)
    lines.append(f'<text x="{x + BOX_W - 10}" y="{y + BOX_H - 10}" font-size="11" fill="#fff" '
                 f'text-anchor="end">≈ {minutes}</text>')
    return (f'<a href="{escape(href)}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{COLOURS[index % len(COLOURS)]}"/>{"".join(lines)}</a>')


def render_svg(hrefs: list[str], language: str = "en") -> str:
    """The map; its words in ``language`` (the workshop's catalog, workshop/i18n.py)."""
    _ = translations(language).gettext
    rows = (len(LEVELS) + 3) // 4
    width = 4 * (BOX_W + GAP) + 8
    height = rows * (BOX_H + GAP + STEP) + STEP
    boxes = "".join(level_box(i, level, hrefs[i], _) for i, level in enumerate(LEVELS))
    total = sum(level.minutes for level in LEVELS)
    label = _(N_("Level map: {count} levels, about {hours} hours in all")).format(count=len(LEVELS), hours=total // 60)
    title = _(N_("Level map"))
    return (f'<svg class="levelmap" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}">'
            f"<title>{escape(title)}</title>{arrows(len(LEVELS))}{boxes}</svg>")


def arrows(count: int) -> str:
    """A small arrow between boxes of the same row: the levels are a path, walked in order."""
    parts = []
    for index in range(count - 1):
        if index % 4 == 3:
            continue
        x = (index % 4) * (BOX_W + GAP) + 4 + BOX_W
        y = (index // 4) * (BOX_H + GAP + STEP) + 4 + BOX_H // 2
        parts.append(f'<path d="M{x + 1} {y - 5} L{x + GAP - 2} {y} L{x + 1} {y + 5} Z" fill="#7f8c8d"/>')
    return "".join(parts)


class LevelMap(SphinxDirective):
    has_content = False

    def run(self):
        builder = self.env.app.builder
        language = self.env.config.language or "en"
        if catalog_path(language).is_file():  # the map's words come from the workshop's catalog
            self.env.note_dependency(str(catalog_path(language)))
        hrefs = []
        for level in LEVELS:
            docname = f"labs/{level.slug}/README"
            self.env.note_dependency(str(level.folder / "README.md"))
            hrefs.append(builder.get_relative_uri(self.env.docname, docname) if hasattr(builder, "get_relative_uri") else "#")
        return [nodes.raw("", render_svg(hrefs, language), format="html")]


def setup(app):
    app.add_directive("levelmap", LevelMap)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
