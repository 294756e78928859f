"""One source of truth: a pinned version is typed in versions.env and nowhere else."""

import re
import subprocess
from pathlib import Path

from workshop.versions import VERSIONS_FILE, load_versions

GENERATED_MARKER = "generated from versions.env"
# Python package pins are another namespace: a package may share a number with a tool.
PACKAGE_PIN_FILES = re.compile(r"(^|/)requirements[^/]*\.txt$|(^|/)requirements/")


def project_files(root: Path) -> list[Path]:
    """Files git tracks, plus new files it does not ignore."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=root, capture_output=True, text=True, check=True).stdout.split("\n")
    return [root / name for name in listed if name and (root / name).is_file()]


def literal_pattern(value: str) -> re.Pattern:
    # Not part of a longer version or word: "9.8.7" must not match "19.8.70".
    return re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w.])")


def find_literals(text: str, versions: dict[str, str]) -> list[tuple[int, str, str]]:
    """(line number, key, line) for every pinned value typed in text, outside generated lines.

    A generated line carries the marker itself or on the comment line just above it (a
    Dockerfile allows no comment at the end of an instruction)."""
    found = []
    patterns = {key: literal_pattern(value) for key, value in versions.items()}
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        above = lines[number - 2] if number > 1 else ""
        if GENERATED_MARKER in line or (GENERATED_MARKER in above and above.lstrip().startswith("#")):
            continue
        found += [(number, key, line.strip()) for key, pattern in patterns.items() if pattern.search(line)]
    return found


def test_no_pinned_version_is_typed_outside_versions_env(repo_root: Path):
    versions = load_versions()
    offences = []
    for path in project_files(repo_root):
        relative = path.relative_to(repo_root).as_posix()
        if path == VERSIONS_FILE or PACKAGE_PIN_FILES.search(relative):
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        offences += [f"{relative}:{number}: {key} typed as a literal: {line}"
                     for number, key, line in find_literals(text, versions)]
    assert offences == [], "use {{ KEY }} in pages, $(KEY) in make, all_versions() in Python:\n" + "\n".join(offences)


def test_literal_finder_flags_a_typed_version_and_spares_generated_lines():
    versions = {"ISTIO_VERSION": "9.8.7"}
    text = ("istioctl install # 9.8.7\nARG X=9.8.7 # generated from versions.env\nv19.8.70 and 9.8.71\n"
            "# generated from versions.env\nARG Y=9.8.7\nARG Z=9.8.7\n")
    assert [number for number, _, _ in find_literals(text, versions)] == [1, 6]


def test_versions_file_is_well_formed_and_covers_the_workshop_tools():
    versions = load_versions()
    for key in ("KIND_VERSION", "KUBERNETES_VERSION", "KIND_NODE_DIGEST", "ISTIO_VERSION", "KNATIVE_VERSION",
                "ARGOCD_VERSION", "HELM_VERSION", "SKAFFOLD_VERSION", "PYTHON_BASE_IMAGE"):
        assert versions.get(key), f"{key} is not pinned in versions.env"


def test_built_pages_show_the_pinned_versions(built_site: Path):
    versions = load_versions()
    reference = (built_site / "docs" / "reference.html").read_text()
    setup = (built_site / "labs" / "00-setup" / "README.html").read_text()
    assert versions["ISTIO_VERSION"] in reference
    # Substituted inside code blocks too, where MyST substitutions do not reach.
    assert f"kind.sigs.k8s.io/dl/{versions['KIND_VERSION']}/kind-linux-amd64" in setup
    assert "{{" not in setup and "{{" not in reference
