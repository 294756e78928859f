"""Shared fixtures. Cluster fixtures (`kubeconfig`, `api_client`) come from the
workshop.pytest_cluster plugin, which starts the sim cluster when a test needs one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The site's own Sphinx extensions are importable in tests, as in conf.py.
sys.path.insert(0, str(REPO_ROOT / "docs" / "_ext"))

# The suite reads the English messages whatever the developer's locale; a test of the Japanese
# output sets WORKSHOP_LANG=ja itself (workshop/i18n.py).
os.environ["WORKSHOP_LANG"] = "en"

pytest_plugins = ["workshop.pytest_cluster"] if (REPO_ROOT / "workshop" / "pytest_cluster.py").exists() else []


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site built strictly (-nW) once per test session; returns the HTML folder."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-nW", "--keep-going", "-q", "-b", "html", str(REPO_ROOT), str(out / "html"),
         "-d", str(out / "doctrees")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"strict site build failed:\n{result.stdout}\n{result.stderr}"
    return out / "html"


@pytest.fixture(scope="session")
def built_site_ja(built_site: Path) -> Path:
    """The Japanese site, built strictly (-nW) into ja/ of the English one, as `make html` does."""
    out = built_site / "ja"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-nW", "--keep-going", "-q", "-b", "html", "-D", "language=ja",
         str(REPO_ROOT), str(out), "-d", str(built_site.parent / "doctrees-ja")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"strict Japanese site build failed:\n{result.stdout}\n{result.stderr}"
    return out


def pytest_configure(config):
    # The mutation suites' `caught / tried` summary, registered in every process (with
    # pytest-xdist, the controlling one sums what the workers' reports carry).
    sys.path.insert(0, str(REPO_ROOT / "tests" / "labs"))
    from mutation_report import register

    register(config)

