"""Keep the translation catalogs current, and say how much is translated.

Two kinds of catalog:

- the site's pages: ``locales/ja/LC_MESSAGES/<page>.po``, one per page (Sphinx's gettext
  builder extracts the messages, sphinx-intl merges them). A page is translated once its
  catalog exists: ``make intl-update`` updates every existing catalog, and
  ``make intl-update PAGES=labs/02-orchestrate/README`` starts one for a new page.
- the ``workshop`` command's messages: ``workshop/locale/ja/LC_MESSAGES/workshop.po``, from the
  strings marked ``_()``/``N_()``/``ngettext()`` in workshop/ and labs/*/checks/, the titles and
  hints of the declarative checks (labs/*/checks/*.yaml), the level table (workshop/levels.py)
  and the ``say "..."`` messages of the lab scripts (scripts/lab.sh, scripts/lib/*.sh, labs/*/lab.sh).

    $ python -m workshop.i18n_catalogs update [--pages docs/index,...]
    $ python -m workshop.i18n_catalogs check      # exit 1: a catalog is stale, fuzzy or untranslated
    $ python -m workshop.i18n_catalogs coverage   # one line per page, then the summary line
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from workshop import REPO_ROOT
from workshop.grading.plugin import load_yaml_checks
from workshop.levels import LEVELS

LANGUAGE = "ja"
SITE_LOCALES = REPO_ROOT / "locales"
SITE_CATALOGS = SITE_LOCALES / LANGUAGE / "LC_MESSAGES"
WORKSHOP_CATALOG = REPO_ROOT / "workshop" / "locale" / LANGUAGE / "LC_MESSAGES" / "workshop.po"
# The theme's own words (Next, Previous, Search docs...): sphinx_rtd_theme ships no Japanese, so
# its template is translated here; Sphinx merges this catalog with its own.
THEME_CATALOG = SITE_CATALOGS / "sphinx.po"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
SAY = re.compile(r"""\$\(say\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)')""")  # log "$(say "..." name=value)"
LINE_WIDTH = 100
# A message with nothing to translate (a table's figures: "0.25", "320 MiB", "6*", "—") reads the
# same in every language: it never counts as missing or stale, so measuring again does not
# break the check, and `update` fills it in.
NOTHING_TO_TRANSLATE = re.compile(r"[\d\s.,*×→—/+-]*(?:[KMG]iB)?[\d\s.,*]*")


# -- The workshop command's catalog ------------------------------------------------------------

def python_sources() -> list[Path]:
    sources = (sorted((REPO_ROOT / "workshop").rglob("*.py")) + sorted(REPO_ROOT.glob("labs/*/checks/*.py"))
               + sorted(REPO_ROOT.glob("docs/_ext/*.py")))
    return [path for path in sources if "__pycache__" not in path.parts]


def yaml_check_sources() -> list[Path]:
    return sorted(REPO_ROOT.glob("labs/*/checks/check_*.yaml"))


def shell_sources() -> list[Path]:
    return [REPO_ROOT / "scripts" / "lab.sh", *sorted(REPO_ROOT.glob("scripts/lib/*.sh")),
            *sorted(REPO_ROOT.glob("labs/*/lab.sh"))]


def extract_workshop() -> Catalog:
    """Every message the `workshop` command and the lab scripts may print, as a template."""
    template = Catalog(project="microservices-workshop", charset="utf-8")
    for path in python_sources():
        where = str(path.relative_to(REPO_ROOT))
        for lineno, message, _comments, _context in extract_from_file("python", path, keywords=KEYWORDS):
            template.add(message, locations=[(where, lineno)])
    for path in yaml_check_sources():  # declarative checks: their title and hint are plain YAML strings
        where = str(path.relative_to(REPO_ROOT))
        for document in load_yaml_checks(path.read_text()):
            for text in (document.get("title"), document.get("hint")):
                if isinstance(text, str) and text:
                    template.add(text, locations=[(where, 0)])
    for level in LEVELS:  # the level table: titles in the checker's header, the level map's boxes
        for text in (level.title, level.short, level.app_gains, level.cluster_gains):
            template.add(text, locations=[("workshop/levels.py", 0)])
    for path in shell_sources():
        if not path.is_file():
            continue
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        for match in SAY.finditer(code):
            message = match.group(1) if match.group(1) is not None else match.group(2)
            template.add(message.replace('\\"', '"'), locations=[(str(path.relative_to(REPO_ROOT)), 0)])
    return template


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=LANGUAGE)


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=LINE_WIDTH, omit_header=False, no_location=True, sort_output=True,
             include_previous=True)
    path.write_bytes(buffer.getvalue())


def update_workshop() -> Catalog:
    template = extract_workshop()
    catalog = read_catalog(WORKSHOP_CATALOG) if WORKSHOP_CATALOG.is_file() else Catalog(locale=LANGUAGE)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=False)
    catalog.creation_date = created  # an update with nothing new leaves the file as it was
    catalog.obsolete.clear()  # a message gone from the sources is gone from the catalog
    catalog.project, catalog.fuzzy = "microservices-workshop", False  # the header is not a translation
    write_catalog(catalog, WORKSHOP_CATALOG)
    return catalog


# -- The site's catalogs ----------------------------------------------------------------------

def build_templates(out: Path) -> Path:
    """Run Sphinx's gettext builder (the same conf.py as the site); returns the .pot folder."""
    result = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "gettext", str(REPO_ROOT), str(out),
                             "-d", str(out / ".doctrees")], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"i18n: the gettext build failed:\n{result.stdout}{result.stderr}")
    return out


def page_of(catalog: Path, root: Path) -> str:
    return catalog.relative_to(root).with_suffix("").as_posix()


def translated_pages() -> list[str]:
    return sorted(page_of(path, SITE_CATALOGS) for path in SITE_CATALOGS.rglob("*.po") if path != THEME_CATALOG)


def theme_template() -> Catalog:
    import sphinx_rtd_theme

    return read_catalog(Path(sphinx_rtd_theme.__file__).parent / "locale" / "sphinx.pot")


def update_theme() -> None:
    catalog = read_catalog(THEME_CATALOG) if THEME_CATALOG.is_file() else Catalog(locale=LANGUAGE)
    created = catalog.creation_date
    catalog.update(theme_template(), no_fuzzy_matching=False)
    catalog.obsolete.clear()
    catalog.project, catalog.fuzzy, catalog.creation_date = "microservices-workshop", False, created
    write_catalog(catalog, THEME_CATALOG)


def update_site(new_pages: list[str]) -> list[str]:
    """Merge the current messages into the catalog of every translated page (and of new_pages)."""
    with tempfile.TemporaryDirectory() as scratch:
        templates = build_templates(Path(scratch) / "gettext")
        pages = sorted(set(translated_pages()) | set(new_pages))
        chosen = Path(scratch) / "chosen"
        for page in pages:
            pot = templates / f"{page}.pot"
            if not pot.is_file():
                raise SystemExit(f"i18n: {page} is not a page of the site (no {page}.pot was extracted)")
            (chosen / pot.relative_to(templates)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(pot, chosen / pot.relative_to(templates))
        subprocess.run([str(Path(sys.executable).parent / "sphinx-intl"), "update", "-p", str(chosen), "-d",
                        str(SITE_LOCALES), "-l", LANGUAGE, "-w", str(LINE_WIDTH), "--no-obsolete"],
                       check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    for page in pages:
        fill_untranslatable(SITE_CATALOGS / f"{page}.po")
    return pages


def untranslatable(msgid: str) -> bool:
    return bool(NOTHING_TO_TRANSLATE.fullmatch(msgid))


def fill_untranslatable(path: Path) -> None:
    """Give each message with nothing to translate itself as its translation."""
    catalog = read_catalog(path)
    changed = False
    for message in catalog:
        if message.id and isinstance(message.id, str) and untranslatable(message.id) and \
                (message.string != message.id or message.fuzzy):
            message.string, changed = message.id, True
            message.flags.discard("fuzzy")
            message.previous_id = []
    if changed:
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=LINE_WIDTH, no_location=True, include_previous=True)
        path.write_bytes(buffer.getvalue())


# -- Checking and counting --------------------------------------------------------------------

@dataclass
class PageStatus:
    page: str
    total: int
    translated: int
    problems: list[str]

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def compare(name: str, template_ids: list[str], catalog: Catalog | None) -> PageStatus:
    """How ``catalog`` stands against the messages the sources have now."""
    if catalog is None:
        return PageStatus(name, len(template_ids), 0, [])
    problems, translated = [], 0
    have = {key(message.id): message for message in catalog if message.id}
    for msgid in template_ids:
        message = have.get(msgid)
        if untranslatable(msgid):
            translated += 1
        elif message is None:
            problems.append(f"{name}: not in the catalog (run make intl-update): {short(msgid)}")
        elif message.fuzzy:
            problems.append(f"{name}: fuzzy (the English changed; check the translation, drop the flag): {short(msgid)}")
        elif not all(message.string if isinstance(message.string, tuple) else [message.string]):
            problems.append(f"{name}: untranslated: {short(msgid)}")
        else:
            translated += 1
    gone = {msgid for msgid in set(have) - set(template_ids) if not untranslatable(msgid)}
    problems += [f"{name}: obsolete (no longer in the English source; run make intl-update): {short(msgid)}"
                 for msgid in sorted(gone)]
    problems += [f"{name}: obsolete entry kept as #~ (run make intl-update): {short(str(key(msgid)))}"
                 for msgid in catalog.obsolete]
    return PageStatus(name, len(template_ids), translated, problems)


def key(msgid) -> str:
    """A plural message is known by its singular."""
    return msgid[0] if isinstance(msgid, tuple) else msgid


def short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def site_status(templates: Path) -> list[PageStatus]:
    statuses = []
    for pot in sorted(templates.rglob("*.pot")):
        page = page_of(pot, templates)
        ids = [message.id for message in read_catalog(pot) if message.id]
        po = SITE_CATALOGS / f"{page}.po"
        statuses.append(compare(page, ids, read_catalog(po) if po.is_file() else None))
    return statuses


def workshop_status() -> PageStatus:
    ids = [key(message.id) for message in extract_workshop() if message.id]
    catalog = read_catalog(WORKSHOP_CATALOG) if WORKSHOP_CATALOG.is_file() else None
    return compare("workshop.po", ids, catalog)


def theme_status() -> PageStatus:
    ids = [key(message.id) for message in theme_template() if message.id]
    return compare("sphinx.po (theme)", ids, read_catalog(THEME_CATALOG) if THEME_CATALOG.is_file() else None)


def all_status() -> list[PageStatus]:
    with tempfile.TemporaryDirectory() as scratch:
        return site_status(build_templates(Path(scratch) / "gettext")) + [theme_status(), workshop_status()]


def summary_line(statuses: list[PageStatus]) -> str:
    pages = [status for status in statuses if not status.page.endswith((".po", "(theme)"))]
    total = sum(status.total for status in pages)
    translated = sum(status.translated for status in pages)
    complete = sum(1 for status in pages if status.total and status.translated == status.total)
    return (f"i18n-coverage: pages={len(pages)} translated_pages={complete} messages={total} "
            f"translated={translated} percent={100.0 * translated / total if total else 100.0:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.i18n_catalogs", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    update = commands.add_parser("update", help="merge the current English messages into every catalog")
    update.add_argument("--pages", default="", help="comma-separated pages to start a catalog for, e.g. docs/setup")
    commands.add_parser("check", help="fail when a catalog is stale, fuzzy, obsolete or untranslated")
    commands.add_parser("coverage", help="translated messages per page, then one summary line")
    args = parser.parse_args(argv)
    if args.command == "update":
        pages = update_site([page.strip().removesuffix(".md") for page in args.pages.split(",") if page.strip()])
        catalog = update_workshop()
        update_theme()
        print(f"i18n: {len(pages)} page catalogs under {SITE_CATALOGS.relative_to(REPO_ROOT)}, "
              f"{sum(1 for message in catalog if message.id)} messages in {WORKSHOP_CATALOG.relative_to(REPO_ROOT)}")
        return 0
    statuses = all_status()
    if args.command == "coverage":
        for status in statuses:
            print(f"{status.page:<40} {status.translated:>4}/{status.total:<4} {status.percent:5.1f}%")
        print(summary_line(statuses))
        return 0
    problems = [problem for status in statuses for problem in status.problems]
    for problem in problems:
        print(problem)
    print(f"i18n-check: {len(problems)} problem(s) in the catalogs" if problems else "i18n-check: every catalog is current and translated")
    print(summary_line(statuses))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
