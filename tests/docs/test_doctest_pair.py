"""Pages on two clusters: the kubeconfig the runner builds, which pages need it, and which contexts
the cleanup snapshot covers (no cluster: kubectl only reads the kubeconfig files here)."""

import subprocess
import sys
import textwrap

import pytest
import yaml

from workshop.doctest import pair, snapshot
from workshop.doctest.pages import lab_pages, read_page
from workshop.doctest.runner import page_env


def _kubeconfig(path, context, server):
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": "Q0E="}}],
        "users": [{"name": f"{context}-admin", "user": {"token": f"{context}-token"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-admin"}}],
    }))
    return path


def test_the_pair_names_the_two_clusters_as_kind_does(tmp_path):
    east = _kubeconfig(tmp_path / "a", "workshop-sim-3", "https://127.0.0.1:40001")
    west = _kubeconfig(tmp_path / "b", "workshop-sim-4", "https://127.0.0.1:40002")
    written = pair.write(east, west, tmp_path / "pair" / "kubeconfig")
    config = yaml.safe_load(written.read_text())
    assert config["current-context"] == "kind-east"
    assert config["contexts"] == [{"name": "kind-east", "context": {"cluster": "kind-east", "user": "kind-east"}},
                                  {"name": "kind-west", "context": {"cluster": "kind-west", "user": "kind-west"}}]
    assert [item["cluster"]["server"] for item in config["clusters"]] == ["https://127.0.0.1:40001",
                                                                          "https://127.0.0.1:40002"]
    assert [item["user"] for item in config["users"]] == [{"token": "workshop-sim-3-token"},
                                                          {"token": "workshop-sim-4-token"}]
    assert written.stat().st_mode & 0o777 == 0o600
    # kubectl reads it as two clusters under the page's own names
    names = subprocess.run(["kubectl", "config", "get-contexts", "-o", "name"], env=page_env(written, None),
                           capture_output=True, text=True, check=True).stdout.split()
    assert names == ["kind-east", "kind-west"]


def test_the_context_guard_accepts_the_pair(tmp_path, monkeypatch):
    east = _kubeconfig(tmp_path / "a", "workshop-sim-3", "https://127.0.0.1:40001")
    west = _kubeconfig(tmp_path / "b", "workshop-sim-4", "https://127.0.0.1:40002")
    monkeypatch.setenv("KUBECONFIG", str(pair.write(east, west, tmp_path / "kubeconfig")))
    from workshop.kubecontext import guard

    assert guard(out=sys.stderr) == 0
    assert guard("kind-west", out=sys.stderr) == 0


def test_one_cluster_twice_is_not_a_pair(tmp_path):
    east = _kubeconfig(tmp_path / "a", "workshop-sim-3", "https://127.0.0.1:40001")
    with pytest.raises(ValueError, match="are the same cluster"):
        pair.write(east, east, tmp_path / "kubeconfig")


def test_a_kubeconfig_without_current_context_is_refused(tmp_path):
    broken = tmp_path / "broken"
    broken.write_text("apiVersion: v1\nkind: Config\ncontexts: []\n")
    good = _kubeconfig(tmp_path / "b", "workshop-sim-4", "https://127.0.0.1:40002")
    with pytest.raises(ValueError, match="has no current context"):
        pair.write(broken, good, tmp_path / "kubeconfig")


def test_only_the_multicluster_page_needs_two_clusters(tmp_path):
    assert [page.level for page in lab_pages() if pair.needs_two_clusters(page)] == [7]
    page = tmp_path / "README.md"
    page.write_text(textwrap.dedent("""\
        ```console
        $ kubectl --context kind-east get pods
        ```
        """))
    assert not pair.needs_two_clusters(read_page(page, level=9))


def test_the_snapshot_covers_every_context_of_a_pair(tmp_path):
    east = _kubeconfig(tmp_path / "a", "workshop-sim-3", "https://127.0.0.1:40001")
    west = _kubeconfig(tmp_path / "b", "workshop-sim-4", "https://127.0.0.1:40002")
    assert snapshot.contexts(page_env(pair.write(east, west, tmp_path / "pair"), None)) == ["kind-east", "kind-west"]
    assert snapshot.contexts(page_env(east, None)) == [""]  # one context: the current one, as before


def test_the_snapshot_keeps_to_the_current_context_when_one_is_not_local(tmp_path):
    local = _kubeconfig(tmp_path / "a", "kind-workshop", "https://127.0.0.1:40001")
    remote = _kubeconfig(tmp_path / "b", "kind-production", "https://10.0.0.7:6443")
    merged = subprocess.run(["kubectl", "config", "view", "--flatten"], env=page_env(f"{local}:{remote}", None),
                            capture_output=True, text=True, check=True).stdout
    (tmp_path / "merged").write_text(merged)
    assert snapshot.contexts(page_env(tmp_path / "merged", None)) == [""]


def test_what_is_left_in_the_other_cluster_is_named_with_it():
    text = snapshot.describe({("kind-west", "v1", "Namespace", "<none>", "workshop"),
                              ("", "v1", "ConfigMap", "demo", "settings")})
    assert text == "ConfigMap settings -n demo (v1); [kind-west] Namespace workshop (v1)"


def _run_cli(*args, kubeconfig):
    return subprocess.run([sys.executable, "-m", "workshop.doctest", "run", "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=120)


def test_a_second_sim_that_is_down_is_named(tmp_path):
    east = _kubeconfig(tmp_path / "a", "kind-east", "https://127.0.0.1:40001")
    result = _run_cli("--sim-2", "99", "--levels", "7", kubeconfig=east)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "sim cluster workshop-sim-99 is not running: start it with `make sim-up SIM=99`." in result.stderr


def test_a_second_kubeconfig_must_be_a_file(tmp_path):
    east = _kubeconfig(tmp_path / "a", "kind-east", "https://127.0.0.1:40001")
    result = _run_cli("--kubeconfig-2", str(tmp_path / "missing"), "--levels", "7", kubeconfig=east)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "missing is not a file: point --kubeconfig-2 at a kubeconfig." in result.stderr
