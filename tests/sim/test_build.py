"""The sim's build and process helpers, without a cluster (fast)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workshop.sim import gobuild
from workshop.sim.build import kubernetes_ldflags, staging_version
from workshop.sim.gobuild import GoBuild, render_go_mod
from workshop.sim.processes import free_ports, is_ours, tail


def test_staging_modules_are_tagged_v0_for_kubernetes_v1():
    assert staging_version("v1.99.7") == "v0.99.7"
    with pytest.raises(ValueError, match="expected a Kubernetes version"):
        staging_version("1.99.7")


def test_version_ldflags_set_both_version_packages():
    flags = kubernetes_ldflags("v1.99.7").split()
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        assert f"{package}.gitVersion=v1.99.7" in flags
        assert f"{package}.gitMajor=1" in flags
        assert f"{package}.gitMinor=99" in flags


def test_wrapper_go_mod_requires_and_replaces():
    spec = GoBuild(name="demo", version="v9.9.9", requires={"example.com/up": "v9.9.9"},
                   binaries={"up": "example.com/up/cmd/up"},
                   replaces={"example.com/staged": "example.com/staged v0.9.9"})
    text = render_go_mod(spec)
    assert "module workshop.local/demo" in text
    assert "\texample.com/up v9.9.9" in text
    assert "\texample.com/staged => example.com/staged v0.9.9" in text


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")
def test_build_caches_and_links_a_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_CACHE", str(tmp_path / "cache"))
    main = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from the cache") }\n'
    spec = GoBuild(name="hello", version="v0.0.1", requires={}, binaries={"hello": "workshop.local/hello"},
                   files={"main.go": main})
    messages = []
    paths = gobuild.build(spec, log=messages.append)
    assert subprocess.run([paths["hello"]], capture_output=True, text=True).stdout == "hello from the cache\n"
    assert any("built hello@v0.0.1" in message for message in messages)

    messages.clear()
    assert gobuild.build(spec, log=messages.append) == paths
    assert messages == [], "a cached build must not run go again"

    gobuild.link(paths, bin_dir=tmp_path / "bin")
    gobuild.link(paths, bin_dir=tmp_path / "bin")  # relinking over an existing link works
    assert os.readlink(tmp_path / "bin" / "hello") == str(paths["hello"])


def test_binary_name_must_match_its_package():
    spec = GoBuild(name="x", version="v1", requires={}, binaries={"other": "example.com/cmd/real"})
    with pytest.raises(ValueError, match="last element"):
        gobuild.build(spec, log=lambda message: None)


def test_free_ports_are_distinct_and_bindable_on_loopback():
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_pid_is_ours_only_with_our_binary_and_our_marker(tmp_path):
    marker = f"{tmp_path}/pki/"
    python = Path(sys.executable)
    sleeper = subprocess.Popen([python, "-c", "import time; time.sleep(30)", f"--kubeconfig={marker}x"])
    try:
        # Right after exec the kernel may not have filled /proc/<pid>/cmdline yet: give it a moment.
        deadline = time.monotonic() + 5
        while not is_ours(sleeper.pid, python.name, marker) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert is_ours(sleeper.pid, python.name, marker)
        assert not is_ours(sleeper.pid, "etcd", marker), "another binary"
        assert not is_ours(sleeper.pid, python.name, f"{tmp_path}/2/pki/"), "another cluster"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not is_ours(sleeper.pid, python.name, marker), "an exited process is never ours"


def test_tail_reads_the_last_lines(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert tail(log, 2) == "line 98\nline 99"
    assert tail(tmp_path / "missing.log") == "(no log)"
