# Sphinx configuration of the workshop site. The repo root is the source directory, so
# each lab folder's README.md is itself a page; include_patterns keeps the rest out.

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "docs" / "_ext")]

from workshop.versions import all_versions  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "Microservices on Kubernetes"
author = "The workshop authors"
copyright = "2026, the workshop authors"
VERSIONS = all_versions()

# -- General -----------------------------------------------------------------
root_doc = "docs/index"
include_patterns = ["docs/**", "labs/*/README.md"]
exclude_patterns = ["_build", ".venv", "docs/_ext/**", "docs/_static/**", "docs/_templates/**"]
extensions = [
    "myst_parser",
    "sphinx_copybutton",
    "sphinx_design",
    "levelmap",
    "versionsubst",
]
nitpicky = True
# Versions from versions.env are usable in pages as {{ ISTIO_VERSION }} and in code
# blocks through the substitution extension below.

# -- MyST --------------------------------------------------------------------
myst_enable_extensions = ["attrs_block", "attrs_inline", "colon_fence", "deflist", "fieldlist", "substitution"]
myst_heading_anchors = 3
myst_substitutions = VERSIONS

# -- Copy button -------------------------------------------------------------
# Only command blocks get a button (console/shell/bash/powershell); output blocks are
# written as `text` and never copied. A leading "$ " prompt is stripped.
copybutton_selector = ", ".join(
    f"div.highlight-{lang} div.highlight pre" for lang in ("console", "shell", "bash", "sh", "powershell")
)
copybutton_prompt_text = r"\$ |PS> "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = False

# -- HTML --------------------------------------------------------------------
html_theme = "sphinx_rtd_theme"
html_title = project
html_static_path = ["docs/_static"]
templates_path = ["docs/_templates"]
# The landing page is docs/index; the site root redirects there.
html_additional_pages = {"index": "redirect.html"}
html_css_files = ["workshop.css"]
html_theme_options = {"navigation_depth": 3, "collapse_navigation": False}
html_show_sourcelink = False
html_last_updated_fmt = None

# -- Languages ---------------------------------------------------------------
# The Japanese site is built from these same sources with `-D language=ja` into
# _build/html/ja/ (the Read the Docs layout); its translations are the gettext catalogs
# under locales/ja/LC_MESSAGES/, one per page (`make intl-update` keeps them current).
locale_dirs = ["locales/"]
gettext_compact = False
gettext_uuid = False
gettext_location = False  # source line numbers in catalogs would change at every edit
LANGUAGES = {"en": "English", "ja": "日本語"}
TITLES = {"ja": "Kubernetesで学ぶマイクロサービス"}


def localized_title(app, config):
    """`-D language=ja` is applied after this file is read: the site title follows it here."""
    if config.language in TITLES:
        config.project = config.html_title = TITLES[config.language]


def language_switch(app, pagename, templatename, context, doctree):
    """Links to this same page in the other languages; English is at the root, others in <lang>/.
    A page of a translated site that has no catalog yet says so (untranslated_notice)."""
    current = app.config.language or "en"
    up = "../" * (pagename.count("/") + (current != "en"))
    context["language_links"] = [
        (code, label, f"{up}{'' if code == 'en' else code + '/'}{pagename}.html", code == current)
        for code, label in LANGUAGES.items()]
    catalog = ROOT / "locales" / current / "LC_MESSAGES" / f"{pagename}.po"
    context["untranslated_notice"] = current != "en" and doctree is not None and not catalog.is_file()


def setup(app):
    app.connect("config-inited", localized_title)
    app.connect("html-page-context", language_switch)
