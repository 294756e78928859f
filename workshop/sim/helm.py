"""helm for the tests: built from the pinned ``helm.sh/helm/v4`` module, cached, linked as ``.bin/helm``.

The learner installs Helm's release binary (level 0); the tests run the same release, built
from its Go module at HELM_VERSION, so level 4's page and the chart's render test use a real helm.

    >>> from workshop.sim import helm
    >>> helm.build_helm()     # a few minutes the first time, then instant (cached)
    PosixPath('.../bin/helm@<HELM_VERSION>/helm')
"""

from __future__ import annotations

import sys
from pathlib import Path

from workshop.sim.gobuild import GoBuild, build, build_tool_main, link
from workshop.versions import all_versions

HELM_MODULE = "helm.sh/helm/v4"
HELM_PACKAGE = "helm.sh/helm/v4/cmd/helm"


def helm_spec(versions: dict[str, str] | None = None) -> GoBuild:
    """helm at HELM_VERSION, with the version flags Helm's Makefile sets for a tagged build.

    A tagged release has no build metadata (its bare version, no "+unreleased"). The module
    proxy gives no commit, so gitCommit stays empty rather than made up.
    """
    versions = versions or all_versions()
    version = versions["HELM_VERSION"]
    package = "helm.sh/helm/v4/internal/version"
    flags = {"version": version, "metadata": "", "gitTreeState": "clean"}
    return GoBuild(
        name="helm",
        version=version,
        requires={HELM_MODULE: version},
        binaries={"helm": HELM_PACKAGE},
        ldflags=" ".join(f"-X {package}.{key}={value}" for key, value in flags.items()),
        inherit_go_directive=HELM_MODULE,
    )


def build_helm(log=None) -> Path:
    """Build helm (or find it in the cache), link it as .bin/helm, return its path."""
    path = build(helm_spec(), log=log)["helm"]
    link({"helm": path})
    return path


def main(argv: list[str] | None = None) -> int:
    return build_tool_main("helm", build_helm, helm_spec(), "the Helm chart tests and level 4's Helm step", argv)


if __name__ == "__main__":
    sys.exit(main())
