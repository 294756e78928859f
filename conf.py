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
