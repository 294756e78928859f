"""`workshop preload` pulling: progress, present images skipped, failures named, bounded, one summary line.

With podman on a machine where no registry answers, every pull fails with its own message,
an image already present counts as present, and the exit status is non-zero. A fake engine
shows that a pull that never answers is cut off, and that --dry-run runs nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workshop import REPO_ROOT
from workshop.versions import all_versions

VERSIONS = all_versions()
LOCAL_IMAGE = "localhost/workshop/base-python:bookworm"   # built by scripts/containers/setup.sh
SUMMARY = re.compile(r"^preload: images=(\d+) pulled=(\d+) present=(\d+) failed=(\d+) loaded=(\d+) seconds=[\d.]+$",
                     re.MULTILINE)


def workshop_preload(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "workshop.preload", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=timeout, env={**os.environ, **(env or {})})


def summary(output: str) -> dict[str, int]:
    match = SUMMARY.search(output)
    assert match, f"no summary line in:\n{output}"
    return dict(zip(("images", "pulled", "present", "failed", "loaded"), map(int, match.groups())))


def podman_ready() -> None:
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (make containers-setup)")
    conf = REPO_ROOT / ".cache" / "containers" / "containers.conf"
    env = {**os.environ, **({"CONTAINERS_CONF": str(conf)} if conf.is_file() else {})}
    if subprocess.run(["podman", "image", "exists", LOCAL_IMAGE], env=env, timeout=60).returncode != 0:
        pytest.skip(f"{LOCAL_IMAGE} is not built (make containers-setup)")


@pytest.mark.containers
def test_podman_without_a_registry_fails_each_pull_and_counts_the_present_image():
    podman_ready()
    started = time.monotonic()
    done = workshop_preload("--engine", "podman", "--image", LOCAL_IMAGE, "--pull-timeout", "120")
    output = done.stdout + done.stderr
    counts = summary(output)
    assert done.returncode == 1, output
    assert counts["present"] == 1 and counts["pulled"] == 0 and counts["loaded"] == 0
    assert counts["failed"] == counts["images"] - 1 >= 10
    # Progress for each image, a reason for each failure, the present image skipped.
    total = counts["images"]
    assert re.search(rf"^\[{total}/{total}\] present {re.escape(LOCAL_IMAGE)}$", output, re.MULTILINE)
    kind_node = f"docker.io/{VERSIONS['KIND_NODE_IMAGE']}"
    assert f"[1/{total}] pulling {kind_node}" in output
    failures = re.findall(r"^\[\d+/\d+\] FAILED (\S+): (.+)$", output, re.MULTILINE)
    assert len(failures) == counts["failed"] and all(reason.strip() for _, reason in failures)
    assert f"docker.io/istio/pilot:{VERSIONS['ISTIO_VERSION']}" in dict(failures)
    assert "run `make preload` again" in output
    assert time.monotonic() - started < 240


def fake_engine(tmp_path: Path, pull: str, version: str = "Docker version 28.3.2, build 578ccf6",
                info: str = '{"NCPU": 4, "MemTotal": 8217473024, "Architecture": "aarch64", "ServerVersion": "28.3.2"}',
                name: str = "fake-engine") -> Path:
    """An engine that says ``version`` to ``-v`` and ``info`` to ``info``, whose `image inspect`
    finds nothing, whose `pull` runs ``pull`` and whose `image save -o FILE` writes FILE; it logs each call."""
    script = tmp_path / name
    script.write_text(f"""#!/usr/bin/env bash
echo "$*" >> {tmp_path / 'calls'}
case "$1 $2" in
  "-v ") echo '{version}'; exit 0 ;;
  "info --format") echo '{info}'; exit 0 ;;
  "image inspect") exit 1 ;;
  "image save") echo saved > "$4"; exit 0 ;;
esac
[[ "$1" == pull ]] && {{ {pull}; }}
exit 0
""")
    script.chmod(0o755)
    return script


def test_a_pull_that_never_answers_is_cut_off(tmp_path):
    engine = fake_engine(tmp_path, "sleep 60")
    started = time.monotonic()
    done = workshop_preload("--engine", str(engine), "--only", "example.org/slow:1", "--no-load", "--pull-timeout", "1",
                            timeout=30)
    assert time.monotonic() - started < 15
    assert done.returncode == 1
    assert "[1/1] FAILED example.org/slow:1: no answer after 1 s (timed out)" in done.stdout
    assert summary(done.stdout) == {"images": 1, "pulled": 0, "present": 0, "failed": 1, "loaded": 0}


def test_a_pull_that_works_counts_as_pulled_and_exits_0(tmp_path):
    engine = fake_engine(tmp_path, "exit 0")
    done = workshop_preload("--engine", str(engine), "--only", "example.org/a:1", "--only", "b:2", "--no-load")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[2/2] pulling docker.io/library/b:2" in done.stdout
    assert summary(done.stdout) == {"images": 2, "pulled": 2, "present": 0, "failed": 0, "loaded": 0}


def test_dry_run_prints_the_commands_and_runs_none(tmp_path):
    engine = fake_engine(tmp_path, "exit 0")
    done = workshop_preload("--engine", str(engine), "--only", "example.org/a:1", "--dry-run", "--platform", "linux/amd64")
    assert done.returncode == 0, done.stderr
    assert f"[1/1] {engine} pull --platform linux/amd64 example.org/a:1" in done.stdout
    assert not (tmp_path / "calls").exists()


def test_the_list_names_where_each_image_comes_from_without_go(tmp_path):
    # The learner's path: no Go, no Istio download on PATH; the committed list answers.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash"))
    done = workshop_preload("--list", env={"PATH": str(bin_dir), "ISTIO_DIR": ""})
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("docker.io/istio/pilot:"))
    assert line.split()[1:3] == ["Istio", "install"]
    assert not any(line.startswith("MISSING: Istio") for line in done.stdout.splitlines()), done.stdout
    assert re.search(r"^preload-list: images=\d+ missing_sources=\d+$", done.stdout, re.MULTILINE)


def test_the_list_from_the_pinned_sources_says_how_each_was_read():
    if not shutil.which("go"):
        pytest.skip("no Go toolchain: the pinned sources come from the Go module cache")
    done = workshop_preload("--list", "--from-sources")
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("docker.io/istio/pilot:"))
    assert "istioctl manifest generate" in line
