"""labs/00-setup/images.txt: the committed list `make preload` reads is what the pinned sources give.

The learner's laptop has no Go and no Istio download at level 0, so the list is generated
(`make preload-images`) and committed. This test generates it again from the pinned sources
and fails when a line differs (comments, which say how this run read each source, aside).
A manifest only its URL serves (Knative's) is a `manifest` line, fetched at preload time.
"""

from __future__ import annotations

import shutil

import pytest

from workshop import images_file, preload

MAKE_TARGET = "make preload-images"


def entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def generated() -> preload.ImageList:
    if not shutil.which("go"):
        pytest.skip("no Go toolchain: the pinned Istio and Argo CD sources come from the Go module cache")
    return preload.image_list(defer_urls=True)


def test_the_committed_list_is_what_the_pinned_sources_give(generated):
    assert generated.missing == [], "a pinned source could not be read: " + "; ".join(generated.missing)
    committed = entries(images_file.IMAGES_FILE.read_text())
    fresh = entries(images_file.render(generated))
    assert committed == fresh, (f"labs/00-setup/images.txt is stale: run `{MAKE_TARGET}` and commit it.\n"
                                f"only committed: {sorted(set(committed) - set(fresh))}\n"
                                f"only generated: {sorted(set(fresh) - set(committed))}")


def test_every_source_of_every_level_is_in_the_list_as_an_image_or_a_manifest():
    committed = images_file.parse(images_file.IMAGES_FILE.read_text())
    needs = {image.sources[0] for image in committed.images}
    for label in ("versions.env KIND_NODE_IMAGE", "versions.env PYTHON_BASE_IMAGE", "Istio install",
                  "metrics-server (level 3)", "Argo CD (level 4)"):
        assert label in needs, label
    for addon in preload.level5_addons():
        assert f"Istio add-on {addon}" in needs, addon
    # Knative names its images by digest in release manifests only: each one level 6 applies is named, by URL.
    urls = [preload.lab_function(6, f"release_url {repository} {name}") for repository, name in preload.knative_release_files()]
    assert [manifest.url for manifest in committed.manifests] == urls
    assert {manifest.label for manifest in committed.manifests} == {preload.KNATIVE_LABEL}


def test_a_manifest_line_is_read_at_preload_time_and_one_that_cannot_be_had_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(preload, "CACHE", tmp_path / "cache")
    release = tmp_path / "serving-core.yaml"
    release.write_text("kind: Deployment\nspec: {template: {spec: {containers: [{name: c, image: "
                       "'gcr.io/knative-releases/controller@sha256:0123'}]}}}\n")
    listed = tmp_path / "images.txt"
    listed.write_text("# a comment\n"
                      "image docker.io/library/a:1 no-load versions.env X\n"
                      f"manifest {release.as_uri()} Knative (level 6)\n"
                      f"manifest {(tmp_path / 'gone.yaml').as_uri()} Knative (level 6)\n")
    found = images_file.read(listed)
    assert [(image.ref, image.load) for image in found.images] == [
        ("docker.io/library/a:1", False), ("gcr.io/knative-releases/controller@sha256:0123", True)]
    assert found.images[1].sources[0].endswith("(read at preload time)")
    assert len(found.missing) == 1 and found.missing[0].startswith("Knative (level 6): could not fetch file://")


def test_a_malformed_line_is_a_clear_error():
    with pytest.raises(images_file.ListFileError, match=r"images.txt:2: expected `image <ref> <load\|no-load>"):
        images_file.parse("# header\nimage docker.io/library/a:1 sometimes why\n")
