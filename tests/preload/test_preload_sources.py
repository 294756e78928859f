"""`workshop preload`: the image list is read from the pinned sources, never typed.

The list is computed from the real files here: versions.env, istioctl's render of level 5's
install, the Istio add-ons level 5 applies and Argo CD's install.yaml (the Go module cache),
metrics-server's release overlay. No version is typed below: each is read from versions.env.
"""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from workshop import preload
from workshop.versions import all_versions

VERSIONS = all_versions()


def needs_go():
    if not shutil.which("go"):
        pytest.skip("no Go toolchain: the pinned Istio and Argo CD sources come from the Go module cache")


@pytest.fixture(scope="module")
def found() -> preload.ImageList:
    needs_go()
    return preload.image_list()


def refs(found: preload.ImageList) -> list[str]:
    return [image.ref for image in found.images]


def test_the_list_holds_the_images_of_versions_env(found):
    assert refs(found)[:2] == [f"docker.io/{VERSIONS['KIND_NODE_IMAGE']}", f"docker.io/library/{VERSIONS['PYTHON_BASE_IMAGE']}"]
    # Neither runs in the cluster: kind's node is the cluster, the base image is for builds.
    assert [image.load for image in found.images[:2]] == [False, False]


def test_istio_images_come_from_the_rendered_install_at_the_pinned_version(found):
    for name in ("pilot", "proxyv2"):
        ref = f"docker.io/istio/{name}:{VERSIONS['ISTIO_VERSION']}"
        assert ref in refs(found)
        image = next(image for image in found.images if image.ref == ref)
        assert image.load and "istio-operator-demo.yaml" in image.sources[0]


def test_every_addon_of_level_5_gives_at_least_one_image(found):
    addons = preload.level5_addons()
    assert addons and "loki" not in addons          # read from lab.sh: loki is in samples/addons, not applied
    for addon in addons:
        assert any(source.startswith(f"Istio add-on {addon}:") for image in found.images for source in image.sources), addon
    assert not any("loki" in ref for ref in refs(found))


def test_argocd_and_metrics_server_images_are_at_their_pinned_versions(found):
    assert f"quay.io/argoproj/argocd:{VERSIONS['ARGOCD_VERSION']}" in refs(found)
    assert f"registry.k8s.io/metrics-server/metrics-server:{VERSIONS['METRICS_SERVER_VERSION']}" in refs(found)


def test_the_list_is_fully_qualified_and_has_no_duplicate(found):
    assert len(set(refs(found))) == len(refs(found))
    for ref in refs(found):
        assert re.match(r"^[a-z0-9.-]+\.[a-z]+(:\d+)?/[^\s]+[:@][^\s]+$", ref), ref
        assert "ko://" not in ref and "{{" not in ref


def test_a_source_that_cannot_be_had_is_named_and_the_others_go_on(monkeypatch):
    def broken(found, versions):
        raise preload.SourceError("could not fetch https://example.invalid/x.yaml: no network")

    found = preload.image_list(sources=[("broken", broken), ("versions.env", preload.source_versions)])
    assert found.missing == ["broken: could not fetch https://example.invalid/x.yaml: no network"]
    assert len(found.images) == 2


def test_knative_release_files_are_read_from_level_6s_lab_script():
    files = preload.knative_release_files()
    assert ("serving", "serving-core.yaml") in files and ("net-kourier", "kourier.yaml") in files
    url = preload.lab_function(6, "release_url serving serving-core.yaml")
    assert url.endswith(f"knative-v{VERSIONS['KNATIVE_VERSION']}/serving-core.yaml")


def test_extraction_on_the_real_argocd_manifest_and_istio_addons():
    needs_go()
    from workshop.sim.gobuild import module_dir

    from workshop.sim.releases import argocd_url, release_file

    found = preload.ImageList()
    preload.source_argocd(found, VERSIONS)
    argocd = release_file(argocd_url(VERSIONS["ARGOCD_VERSION"]))
    assert argocd.is_file()
    text = argocd.read_text()
    images = preload.images_in_yaml(text)
    # Every `image:` line of the file is found, and nothing else.
    typed = {line.split("image:", 1)[1].strip().strip('"') for line in text.splitlines()
             if re.match(r"^\s*-?\s*image:\s*\S", line)}
    assert set(images) == typed and len(images) == len(set(images))

    addons = module_dir("istio.io/istio", VERSIONS["ISTIO_SOURCE_VERSION"]) / "samples" / "addons"
    prometheus = preload.images_in_yaml((addons / "prometheus.yaml").read_text())
    assert len(prometheus) == 2 and any("prometheus-config-reloader" in ref for ref in prometheus)


def test_extraction_reads_pods_workloads_and_configmap_images_and_skips_placeholders():
    documents = list(yaml.safe_load_all("""
kind: CronJob
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a, image: "example.org/a:1"}]}}}}}
---
kind: Deployment
spec: {template: {spec: {initContainers: [{name: i, image: example.org/i:2}],
                         containers: [{name: g, image: auto}, {name: k, image: "ko://knative.dev/serving/cmd/queue"}]}}}
---
kind: ConfigMap
data: {queue-sidecar-image: "example.org/queue@sha256:00", _example: "image: nope:1"}
---
kind: ConfigMap
data: {containers: "not a list"}
"""))
    assert preload.images_in_documents(documents) == ["example.org/a:1", "example.org/i:2", "example.org/queue@sha256:00"]
