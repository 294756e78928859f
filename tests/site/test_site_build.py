"""The site builds strictly, every level is in the navigation in order, and the built
HTML loads nothing from another host."""

import re
from html.parser import HTMLParser
from pathlib import Path

from workshop.levels import LEVELS


def test_every_level_page_is_built(built_site: Path):
    for level in LEVELS:
        assert (built_site / "labs" / level.slug / "README.html").is_file(), f"level {level.number} page not built"


def test_levels_are_in_the_navigation_in_order(built_site: Path):
    landing = (built_site / "docs" / "index.html").read_text()
    nav = landing[landing.index('class="wy-menu'):]
    positions = [nav.find(f"labs/{level.slug}/README.html") for level in LEVELS]
    assert all(position >= 0 for position in positions), f"a level is missing from the navigation: {positions}"
    assert positions == sorted(positions), "levels are not in order in the navigation"


def test_site_root_redirects_to_the_landing_page(built_site: Path):
    assert 'url=docs/index.html' in (built_site / "index.html").read_text()


def test_level_map_is_inline_svg_linking_every_level(built_site: Path):
    landing = (built_site / "docs" / "index.html").read_text()
    svg = landing[landing.index("<svg"):landing.index("</svg>")]
    for level in LEVELS:
        assert f"labs/{level.slug}/README.html" in svg


class ResourceFinder(HTMLParser):
    """Collect every URL a browser would load by itself (not links a reader clicks)."""

    LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"), ("iframe", "src"),
               ("source", "src"), ("source", "srcset"), ("video", "src"), ("audio", "src"), ("embed", "src"),
               ("object", "data"), ("image", "href"), ("use", "href")}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (tag, name) in self.LOADING and value:
                self.urls.append(value)
            if name == "style" and value:
                self.urls += css_urls(value)


def css_urls(css: str) -> list[str]:
    return re.findall(r"url\(\s*['\"]?([^'\")]+)", css) + re.findall(r"@import\s+['\"]([^'\"]+)", css)


def is_other_host(url: str) -> bool:
    return bool(re.match(r"^\s*(https?:)?//", url, re.IGNORECASE))


def external_resources(site: Path) -> list[str]:
    found = []
    for page in site.rglob("*.html"):
        finder = ResourceFinder()
        finder.feed(page.read_text(errors="replace"))
        inline_css = re.findall(r"<style[^>]*>(.*?)</style>", page.read_text(errors="replace"), re.S)
        urls = finder.urls + [url for block in inline_css for url in css_urls(block)]
        found += [f"{page.relative_to(site)}: {url}" for url in urls if is_other_host(url)]
    for sheet in site.rglob("*.css"):
        found += [f"{sheet.relative_to(site)}: {url}" for url in css_urls(sheet.read_text(errors="replace"))
                  if is_other_host(url)]
    return found


def test_built_site_loads_nothing_from_other_hosts(built_site: Path):
    assert external_resources(built_site) == []


def test_external_resource_finder_catches_a_font_a_script_and_a_css_import(tmp_path: Path):
    (tmp_path / "page.html").write_text(
        '<html><head><script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example/css"></head>'
        '<body><a href="https://istio.io">reading links are fine</a></body></html>')
    (tmp_path / "theme.css").write_text("@import 'https://fonts.example/a.css'; .x{background:url(img/ok.png)}")
    found = external_resources(tmp_path)
    assert len(found) == 3, found
