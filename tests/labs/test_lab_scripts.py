"""The lab scripts' own functions, run against a real API server as a learner's `make` runs them.

These are the learner's branches that no sim fork may hide: level 5's `apply` of several files
(what `make lab-5` runs on every kind cluster), and `make solve-4` in a clone that is not a fork.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from labrun import REPO_ROOT, env_for, kubectl

pytestmark = pytest.mark.cluster


def lab_function(level: str, script: str, kubeconfig: Path, **env: str) -> subprocess.CompletedProcess:
    """Run ``script`` in bash with level ``level``'s lab.sh sourced, as scripts/lab.sh sources it."""
    folder = REPO_ROOT / "labs" / level
    program = f'source "{REPO_ROOT / "scripts" / "lib" / "say.sh"}"; source "{folder / "lab.sh"}"; {script}'
    return subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          env={**env_for(kubeconfig), "REPO_ROOT": str(REPO_ROOT), "LAB_DIR": str(folder), **env})


def test_level5_apply_takes_several_files(kubeconfig, tmp_path):
    """`kubectl apply -f a.yaml b.yaml` is "error: Unexpected args": each file needs its own -f."""
    files = []
    for number in (1, 2):
        path = tmp_path / f"config-map-{number}.yaml"
        path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lab5-apply-{number}\n"
                        "  namespace: default\ndata:\n  a: b\n")
        files.append(str(path))
    try:
        done = lab_function("05-istio", f'apply "{files[0]}" "{files[1]}"', kubeconfig)
        assert done.returncode == 0, done.stderr
        for number in (1, 2):
            kubectl(kubeconfig, "-n", "default", "get", "configmap", f"lab5-apply-{number}")
    finally:
        kubectl(kubeconfig, "-n", "default", "delete", "configmap", "lab5-apply-1", "lab5-apply-2",
                "--ignore-not-found", check=False)


def test_solve4_without_a_fork_url_stops_at_once_saying_what_it_needs(kubeconfig):
    """A clone's origin is upstream for anyone who did not fork: solve-4 must ask, not guess or apply a placeholder."""
    started = time.monotonic()
    done = subprocess.run([str(REPO_ROOT / "scripts" / "lab.sh"), "solve", "4"], capture_output=True, text=True,
                          timeout=60, cwd=REPO_ROOT, env={**env_for(kubeconfig), "REPO_URL": ""})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "make solve-4 REPO_URL=https://github.com/<you>/<fork>.git" in done.stderr
    assert time.monotonic() - started < 30, "solve-4 did work before saying what it needs"
    applications = kubectl(kubeconfig, "get", "applications.argoproj.io", "-A", "-o", "name", check=False)
    assert "workshop-dev" not in applications.stdout
