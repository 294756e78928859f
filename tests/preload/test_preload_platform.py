"""`make preload` pulls and loads the kind nodes' platform only (kind issue 3795).

`kind load docker-image` saves every platform of a pulled multi-platform index and imports
them all; with Docker's containerd image store (Docker Desktop's default) the platforms that
were not pulled have no layers, and the import fails `content digest … not found`. So preload
pulls `--platform linux/<arch>` (the arch the engine reports for its machine, where the kind
nodes run), saves that one platform (`docker image save --platform`, Docker 28+), and loads
the archive with `kind load image-archive`. Fake `docker`, `podman` and `kind` log each call.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the fake engine of test_preload_pull, beside this file

from test_preload_pull import fake_engine, summary, workshop_preload  # noqa: E402

DESKTOP_ARM64 = '{"NCPU": 8, "MemTotal": 8217473024, "Architecture": "aarch64", "ServerVersion": "28.3.2"}'
DOCKER_27 = '{"NCPU": 4, "MemTotal": 8217473024, "Architecture": "x86_64", "ServerVersion": "27.5.1"}'


def fake_kind(tmp_path: Path) -> Path:
    """A kind whose cluster `workshop` exists and which logs `kind load ...`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    kind = bin_dir / "kind"
    kind.write_text(f"""#!/usr/bin/env bash
echo "kind $*" >> {tmp_path / 'calls'}
[[ "$1 $2" == "get clusters" ]] && echo workshop
exit 0
""")
    kind.chmod(0o755)
    kubeconfig = tmp_path / "kubeconfig"     # `kind load` is guarded: the context must be a local one
    kubeconfig.write_text('{"apiVersion": "v1", "kind": "Config", "current-context": "kind-workshop",'
                          ' "clusters": [{"name": "kind-workshop", "cluster": {"server": "https://127.0.0.1:1"}}],'
                          ' "users": [{"name": "u", "user": {"token": "t"}}],'
                          ' "contexts": [{"name": "kind-workshop", "context": {"cluster": "kind-workshop", "user": "u"}}]}')
    return bin_dir


def preload_with(tmp_path: Path, engine: Path, *refs: str):
    bin_dir = fake_kind(tmp_path)
    args = ["--engine", str(engine)] + [arg for ref in refs for arg in ("--only", ref)]
    done = workshop_preload(*args, env={"PATH": f"{bin_dir}:{os.environ['PATH']}",
                                        "KUBECONFIG": str(tmp_path / "kubeconfig")})
    calls = (tmp_path / "calls").read_text().splitlines()
    return done, calls


def test_docker_desktop_on_apple_silicon_pulls_saves_and_loads_linux_arm64_only(tmp_path):
    engine = fake_engine(tmp_path, "exit 0", info=DESKTOP_ARM64, name="docker")
    done, calls = preload_with(tmp_path, engine, "docker.io/istio/pilot:1.0.0")
    assert not [call for call in calls if "docker-image" in call], "kind load docker-image imports every platform"
    assert "pull --platform linux/arm64 docker.io/istio/pilot:1.0.0" in calls
    assert done.returncode == 0, done.stdout + done.stderr
    assert "preload: engine" in done.stdout and "platform linux/arm64" in done.stdout
    saves = [call for call in calls if call.startswith("image save")]
    assert len(saves) == 1 and saves[0].endswith("--platform linux/arm64 docker.io/istio/pilot:1.0.0")
    archive = saves[0].split()[3]
    assert f"kind load image-archive {archive} --name workshop" in calls
    assert summary(done.stdout) == {"images": 1, "pulled": 1, "present": 0, "failed": 0, "loaded": 1}


def test_docker_before_28_saves_without_platform(tmp_path):
    # `image save --platform` needs API 1.48 (Docker 28); before it, the classic store holds the pulled platform only.
    engine = fake_engine(tmp_path, "exit 0", info=DOCKER_27, name="docker")
    done, calls = preload_with(tmp_path, engine, "example.org/a:1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pull --platform linux/amd64 example.org/a:1" in calls
    [save] = [call for call in calls if call.startswith("image save")]
    assert "--platform" not in save
    assert any(call.startswith("kind load image-archive") for call in calls)


def test_podman_pulls_its_machines_platform_and_loads_an_archive(tmp_path):
    podman_info = ('{"host": {"arch": "arm64", "cpus": 4, "memTotal": 4101234688}, "version": {"Version": "5.2.0"}}')
    engine = fake_engine(tmp_path, "exit 0", version="podman version 5.2.0", info=podman_info, name="podman")
    done, calls = preload_with(tmp_path, engine, "quay.io/kiali/kiali:v2.0.0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pull --platform linux/arm64 quay.io/kiali/kiali:v2.0.0" in calls
    [save] = [call for call in calls if call.startswith("image save")]
    assert save.endswith(" quay.io/kiali/kiali:v2.0.0") and "--platform" not in save
    assert any(call.startswith("kind load image-archive") for call in calls)


def test_an_engine_that_cannot_say_its_platform_stops_with_one_clear_line(tmp_path):
    engine = fake_engine(tmp_path, "exit 0", info="Cannot connect to the Docker daemon", name="docker")
    done, calls = preload_with(tmp_path, engine, "example.org/a:1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "does not say which platform its machine runs" in done.stderr
    assert not [call for call in calls if call.startswith("pull")]
