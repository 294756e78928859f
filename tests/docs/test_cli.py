"""`python -m workshop.doctest e2e` refuses clearly when there is no kind cluster to rehearse on."""

import os
import subprocess
import sys

from workshop import REPO_ROOT

REMOTE_KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: prod
contexts: [{name: prod, context: {cluster: prod, user: admin}}]
clusters: [{name: prod, cluster: {server: "https://k8s.example.com:6443"}}]
users: [{name: admin, user: {}}]
"""


def e2e(tmp_path, path_dirs):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(REMOTE_KUBECONFIG)
    # PATH holds only the given folders, so a kind installed on this machine is not found.
    env = {**os.environ, "PATH": os.pathsep.join(map(str, path_dirs or [tmp_path])),
           "KUBECONFIG": str(kubeconfig)}
    env.pop("ALLOW_ANY_CONTEXT", None)
    return subprocess.run([sys.executable, "-m", "workshop.doctest", "e2e"], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=60)


def fake_kind(tmp_path, clusters):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "kind").write_text(f"#!/bin/sh\nprintf '{clusters}'\n")
    (folder / "kind").chmod(0o755)
    return folder


def test_without_kind_it_says_so_in_one_sentence(tmp_path):
    result = e2e(tmp_path, [])
    assert result.returncode == 2
    assert result.stderr.strip() == ("make e2e runs the pages against the kind cluster `workshop`, and kind is not "
                                     "installed here: follow Level 0 (labs/00-setup) on your laptop, then run "
                                     "`make cluster`.")


def test_without_the_workshop_cluster_it_says_so(tmp_path):
    result = e2e(tmp_path, [fake_kind(tmp_path, "other\\n")])
    assert result.returncode == 2
    assert "needs the kind cluster `workshop`, and there is none: run `make cluster` first." in result.stderr


def test_a_context_that_is_not_local_is_refused_by_the_guard(tmp_path):
    result = e2e(tmp_path, [fake_kind(tmp_path, "workshop\\n")])
    assert result.returncode == 3, result.stdout + result.stderr
    assert "→ kube context: prod" in result.stdout and "nothing was changed" in result.stdout
