"""Read the pinned versions from ``versions.env``, the one file where they live.

>>> from workshop.versions import load_versions
>>> sorted(load_versions())[:2]
['ARGOCD_VERSION', 'ETCD_VERSION']
"""

from pathlib import Path

from workshop import REPO_ROOT

VERSIONS_FILE = REPO_ROOT / "versions.env"


def load_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Return ``{KEY: value}`` for every ``KEY=value`` line, ignoring comments and blanks."""
    versions = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isupper() or not value or " " in value:
            raise ValueError(f"{path}:{number}: expected KEY=value, got {line!r}")
        versions[key] = value
    return versions


def derived_versions(versions: dict[str, str]) -> dict[str, str]:
    """Values composed from the pinned ones, so that no version is typed twice."""
    return {
        "KIND_NODE_IMAGE": f"kindest/node:{versions['KUBERNETES_VERSION']}@{versions['KIND_NODE_DIGEST']}",
        "ISTIO_API_MODULE": f"v{versions['ISTIO_VERSION']}",
        "ISTIO_MINOR": ".".join(versions["ISTIO_VERSION"].split(".")[:2]),
    }


def all_versions() -> dict[str, str]:
    versions = load_versions()
    return {**versions, **derived_versions(versions)}
