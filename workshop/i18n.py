"""The learner's language for the `workshop` command: English, or Japanese from the gettext
catalog workshop/locale/ja/LC_MESSAGES/workshop.po.

    from workshop.i18n import _, N_

    TITLE = N_("the four images are built")   # marked for the catalog, stays English in JSON
    print(_(TITLE))                            # said in the learner's language

The language is WORKSHOP_LANG if set, else the locale (LC_ALL, LC_MESSAGES, LANG, as gettext
reads them): `ja`, `ja_JP.UTF-8` and the like select Japanese. The catalog is compiled from
the .po file in memory with Babel when first needed (no build step, never stale); English
needs no catalog at all. Strings kept in results (ids, titles, hints in JSON and JUnit) stay
English: only what is printed is translated.
"""

from __future__ import annotations

import gettext
import io
import os
from functools import lru_cache
from pathlib import Path

DOMAIN = "workshop"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ja")


def language(env=None) -> str:
    """'ja' or 'en': WORKSHOP_LANG first, then the locale variables in gettext's order."""
    env = os.environ if env is None else env
    for name in ("WORKSHOP_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            code = value.split(":")[0].split(".")[0].split("_")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of a language; English (or a language without a catalog) translates nothing."""
    path = catalog_path(code)
    if code == "en" or not path.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation yet
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """``message`` in the learner's language (itself when there is no translation)."""
    if not message:
        return message
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it now (it is translated when printed)."""
    return message
