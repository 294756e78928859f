"""The context guard: local kind and sim contexts pass, anything else is refused."""

import io

import pytest
import yaml

from workshop.kubecontext import guard


def write_kubeconfig(path, context, server):
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "contexts": [{"name": context, "context": {"cluster": context, "user": "me"}}],
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": "me", "user": {}}],
    }))


@pytest.mark.parametrize("context, server, allowed", [
    ("kind-workshop", "https://127.0.0.1:40123", True),
    ("workshop-sim", "https://127.0.0.1:6443", True),
    ("workshop-sim-2", "https://localhost:6444", True),
    ("gke_prod_europe-west1_main", "https://34.76.1.2", False),
    ("kind-workshop", "https://10.0.0.5:6443", False),  # named like kind, but not on this laptop
    ("minikube", "https://127.0.0.1:8443", False),
])
def test_guard_allows_only_local_clusters(tmp_path, monkeypatch, context, server, allowed):
    config = tmp_path / "config"
    write_kubeconfig(config, context, server)
    monkeypatch.setenv("KUBECONFIG", str(config))
    out = io.StringIO()
    status = guard(allow_any=False, out=out)
    assert (status == 0) is allowed
    assert context in out.getvalue(), "the guard must always print the context it looked at"
    if not allowed:
        assert "ALLOW_ANY_CONTEXT=1" in out.getvalue()


def test_allow_any_context_lets_a_remote_cluster_through(tmp_path, monkeypatch):
    config = tmp_path / "config"
    write_kubeconfig(config, "prod", "https://34.76.1.2")
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert guard(allow_any=True, out=io.StringIO()) == 0


def test_no_kubeconfig_is_a_clear_refusal(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    out = io.StringIO()
    assert guard(allow_any=False, out=out) == 3
    assert "make cluster" in out.getvalue()


def test_unknown_context_is_a_clear_refusal(tmp_path, monkeypatch):
    config = tmp_path / "config"
    write_kubeconfig(config, "kind-workshop", "https://127.0.0.1:1")
    monkeypatch.setenv("KUBECONFIG", str(config))
    out = io.StringIO()
    assert guard(context="kind-other", allow_any=False, out=out) == 3
    assert "kind-other" in out.getvalue()
