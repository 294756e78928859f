"""The pinned Kubernetes is inside the support matrix of every component, as each pinned source states it.

Read where each project writes it down, at the version versions.env pins (the Go module proxy
serves every one of them): Istio's istioctl refuses clusters older than its minimum, Knative
tests its release on a list of Kubernetes minors, Argo CD publishes the minors it tests,
metrics-server's README has a compatibility matrix. The reference page's table says the same.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from workshop.versions import all_versions

VERSIONS = all_versions()
MINOR = int(re.match(r"v1\.(\d+)\.", VERSIONS["KUBERNETES_VERSION"]).group(1))
# Istio publishes its newest supported Kubernetes only on istio.io's supported-releases table
# (1.31: 1.32 to 1.36); its source states the oldest one, which the test reads.
ISTIO_NEWEST_MINOR = 36

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="reads the pinned sources through the Go module proxy")


def module(path: str, version: str) -> Path:
    """The module's source folder, fetched if needed (a go.mod asking for a newer Go still unpacks)."""
    subprocess.run(["go", "mod", "download", f"{path}@{version}"], capture_output=True, timeout=600, cwd="/")
    gomodcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    folder = Path(gomodcache) / f"{path}@{version}"
    assert folder.is_dir(), f"{path}@{version} could not be fetched from the Go module proxy"
    return folder


def test_kind_node_and_sim_are_the_same_patch_release():
    assert VERSIONS["SIM_KUBERNETES_VERSION"] == VERSIONS["KUBERNETES_VERSION"]


def test_istio_supports_the_pinned_kubernetes():
    source = module("istio.io/istio", VERSIONS["ISTIO_SOURCE_VERSION"])
    text = (source / "istioctl" / "pkg" / "install" / "k8sversion" / "version.go").read_text()
    oldest = int(re.search(r"MinK8SVersion\s*=\s*(\d+)", text).group(1))
    assert oldest <= MINOR <= ISTIO_NEWEST_MINOR, f"Istio supports 1.{oldest} to 1.{ISTIO_NEWEST_MINOR}, pinned 1.{MINOR}"


def test_knative_is_tested_on_the_pinned_kubernetes():
    source = module("knative.dev/serving", VERSIONS["KNATIVE_SERVING_MODULE"])
    workflow = (source / ".github" / "workflows" / "kind-e2e.yaml").read_text()
    tested = {int(minor) for minor in re.findall(r"^\s*-\s*v1\.(\d+)\.x\s*$", workflow, re.MULTILINE)}
    assert MINOR in tested, f"Knative Serving {VERSIONS['KNATIVE_VERSION']} is tested on 1.{sorted(tested)}, pinned 1.{MINOR}"


def test_argocd_is_tested_on_the_pinned_kubernetes():
    source = module("github.com/argoproj/argo-cd/v3", VERSIONS["ARGOCD_VERSION"])
    table = (source / "docs" / "operator-manual" / "tested-kubernetes-versions.md").read_text()
    release = re.match(r"v(\d+\.\d+)", VERSIONS["ARGOCD_VERSION"]).group(1)
    row = re.search(rf"^\|\s*{re.escape(release)}\s*\|([^|]*)\|", table, re.MULTILINE)
    assert row, f"Argo CD's table has no row for {release}"
    assert f"v1.{MINOR}" in row.group(1), f"Argo CD {release} is tested on {row.group(1).strip()}, pinned 1.{MINOR}"


def test_metrics_server_supports_the_pinned_kubernetes():
    source = module("sigs.k8s.io/metrics-server", VERSIONS["METRICS_SERVER_VERSION"])
    readme = (source / "README.md").read_text()
    series = re.match(r"v(\d+\.\d+)", VERSIONS["METRICS_SERVER_VERSION"]).group(1)
    row = re.search(rf"^{re.escape(series)}\.x\s*\|[^|]*\|\s*1\.(\d+)\+", readme, re.MULTILINE)
    assert row, f"metrics-server's compatibility matrix has no row for {series}.x"
    assert int(row.group(1)) <= MINOR
