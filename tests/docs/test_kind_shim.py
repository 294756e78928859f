"""The page runner's stand-in for kind's CLI (workshop/doctest/kind_shim.py): `kind load
docker-image` puts a podman image into the real nodes' containerd as kind puts it into kind's
nodes, with kind's lines; everything else is refused, saying why."""

import os
import subprocess
import sys
import uuid

import pytest

from workshop import REPO_ROOT
from workshop.doctest import kind_shim


def _kind(tmp_path, *args, sim: int = 3):
    kind_shim.write(tmp_path, sim)
    return subprocess.run([str(tmp_path / "kind"), *args], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


@pytest.mark.parametrize("args", [("create", "cluster"), ("get", "clusters"), ("delete", "cluster"), ()])
def test_other_subcommands_are_refused_saying_why(tmp_path, args):
    result = _kind(tmp_path, *args)
    assert result.returncode == 2
    assert "is not available here: this `kind` is the page runner's stand-in on real-node sim 3" in result.stderr
    assert "kind load docker-image IMAGE... --name workshop" in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--name", "other", "localhost/workshop/gateway:dev"), 'no nodes found for cluster "other"'),
    (("localhost/workshop/gateway:dev",), 'no nodes found for cluster "kind"'),  # kind's default name
    (("--nodes", "x", "img"), "option --nodes is not supported by this stand-in"),
    (("--name", "workshop"), "needs at least one image name"),
])
def test_bad_load_arguments_get_a_clear_error(tmp_path, args, message):
    result = _kind(tmp_path, "load", "docker-image", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_without_a_real_node_sim_it_says_how_to_start_one(tmp_path):
    result = _kind(tmp_path, "load", "docker-image", "localhost/workshop/gateway:dev", "--name", "workshop", sim=29)
    assert result.returncode == 2
    assert "sim 29 runs no real nodes to load images into: `make sim-up NODES=real SIM=29`" in result.stderr


@pytest.fixture
def tiny_image(tmp_path):
    """A one-file image of this test's own, removed afterwards from podman and from the nodes."""
    from workshop.sim import images

    payload = tmp_path / "hello"
    payload.write_text(uuid.uuid4().hex)
    name = images.scratch_image(f"localhost/workshop/doctest-kind-shim:{uuid.uuid4().hex[:8]}",
                                {"/hello": payload}, ["/hello"])
    yield name
    subprocess.run(["podman", "rmi", "-f", name], capture_output=True, env=images.podman_env())


def test_load_puts_the_image_into_both_nodes_and_says_so_as_kind_does(tmp_path, real_kubeconfig, tiny_image):
    if os.environ.get("WORKSHOP_KUBECONFIG"):
        pytest.skip("a kind cluster has kind itself")
    from workshop.pytest_cluster import REAL_NODE_SIM
    from workshop.sim.cluster import Sim
    from workshop.sim.images import podman

    image_id = "sha256:" + podman("image", "inspect", "--format", "{{.Id}}", tiny_image, what="test").strip()
    nodes = Sim(REAL_NODE_SIM).real_nodes()
    try:
        first = _kind(tmp_path, "load", "docker-image", tiny_image, "--name", "workshop", sim=REAL_NODE_SIM)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines() == [
            f'Image: "{tiny_image}" with ID "{image_id}" not yet present on node "{node.name}", loading...'
            for node in nodes]
        for node in nodes:
            listed = subprocess.run(["ctr", f"--address={node.socket}", "-n", "k8s.io", "images", "ls", "-q"],
                                    capture_output=True, text=True, check=True).stdout.split()
            assert tiny_image in listed, (node.name, listed)
        again = _kind(tmp_path, "load", "docker-image", tiny_image, "--name", "workshop", sim=REAL_NODE_SIM)
        assert again.stdout.strip() == f'Image: "{tiny_image}" with ID "{image_id}" found to be already present on all nodes.'
        missing = _kind(tmp_path, "load", "docker-image", tiny_image + "-missing", "--name", "workshop", sim=REAL_NODE_SIM)
        assert missing.returncode == 2 and f'image: "{tiny_image}-missing" not present locally' in missing.stderr
    finally:
        for node in nodes:
            subprocess.run(["ctr", f"--address={node.socket}", "-n", "k8s.io", "images", "rm", tiny_image],
                           capture_output=True)


def test_the_shim_runs_this_python(tmp_path):
    kind_shim.write(tmp_path, 4)
    text = (tmp_path / "kind").read_text()
    assert f"{sys.executable} -m workshop.doctest.kind_shim --sim 4" in text
