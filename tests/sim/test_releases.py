"""Release files made from the pinned Go modules (workshop/sim/releases.py): the URLs the labs
download, and files with what those URLs serve. Needs Go and the module proxy (cached after once)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from workshop import REPO_ROOT
from workshop.sim import releases
from workshop.versions import all_versions

VERSIONS = all_versions()


def needs_go():
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain: the release files are made from Go modules")


def lab_url(level: str, function: str) -> str:
    """The URL a lab script downloads (the overrides unset), asked from the script itself."""
    env = {"PATH": f"{REPO_ROOT / '.venv' / 'bin'}:/usr/bin:/bin", "REPO_ROOT": str(REPO_ROOT),
           "LAB_DIR": str(REPO_ROOT / "labs" / level), "METRICS_SERVER_MANIFEST": "", "ARGOCD_MANIFEST": ""}
    done = subprocess.run(["bash", "-c", f'source "$LAB_DIR/lab.sh"; {function}'], capture_output=True, text=True,
                          env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_every_url_the_labs_download_is_known():
    assert lab_url("03-operate", "metrics_server_manifest") in releases.known_urls()
    assert lab_url("04-release", "argocd_manifest") in releases.known_urls()


def test_an_unknown_url_has_no_file():
    assert releases.release_file("https://example.com/components.yaml") is None


def test_metrics_server_components_is_the_release_overlay_at_the_pinned_version():
    needs_go()
    version = VERSIONS["METRICS_SERVER_VERSION"]
    path = releases.release_file(releases.metrics_server_url(version))
    kinds = {(item["kind"], item["metadata"]["name"]) for item in yaml.safe_load_all(path.read_text()) if item}
    assert {("Deployment", "metrics-server"), ("APIService", "v1beta1.metrics.k8s.io"),
            ("ClusterRole", "system:metrics-server")} <= kinds
    # The release component's image, not the base's staging one.
    assert releases.metrics_server_image() == f"registry.k8s.io/metrics-server/metrics-server:{version}"


def test_argocd_install_is_the_tagged_trees_file():
    needs_go()
    path = releases.release_file(releases.argocd_url(VERSIONS["ARGOCD_VERSION"]))
    text = path.read_text()
    assert f"quay.io/argoproj/argocd:{VERSIONS['ARGOCD_VERSION']}" in text
    kinds = {item["kind"] for item in yaml.safe_load_all(text) if item}
    assert {"CustomResourceDefinition", "Deployment", "StatefulSet"} <= kinds


def test_without_go_a_file_not_yet_made_is_refused_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_CACHE", str(tmp_path))  # nothing cached
    monkeypatch.setenv("PATH", str(tmp_path))             # and no `go`
    with pytest.raises(releases.ReleaseError, match=r"The Go toolchain \(`go`\) is not on PATH"):
        releases.release_file(releases.argocd_url(VERSIONS["ARGOCD_VERSION"]))
