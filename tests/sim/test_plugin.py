"""The pytest plugin's rules that need no cluster: loud skips, failures in CI, markers."""

import pytest

from workshop import pytest_cluster


def test_unavailable_sim_skips_loudly_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(pytest_cluster, "_unavailable_reasons", [])
    with pytest.raises(pytest.skip.Exception, match="SIM CLUSTER UNAVAILABLE, cluster tests NOT RUN: no Go"):
        pytest_cluster._unavailable("no Go")
    assert pytest_cluster._unavailable_reasons == ["SIM CLUSTER UNAVAILABLE, cluster tests NOT RUN: no Go"]


def test_unavailable_sim_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"required in CI \(CI=true\): no Go"):
        pytest_cluster._unavailable("no Go")


def test_a_missing_external_kubeconfig_is_a_clear_failure(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(pytest.fail.Exception, match="is not a file: point it at a kubeconfig"):
        pytest_cluster._external("WORKSHOP_KUBECONFIG")


def test_tests_using_cluster_fixtures_get_the_cluster_marker(request):
    class Item:
        fixturenames = ["tmp_path", "api_client"]
        markers: list = []

        def add_marker(self, marker):
            self.markers.append(marker.name)

    item = Item()
    pytest_cluster.pytest_collection_modifyitems(request.config, [item])
    assert item.markers == ["cluster"]
