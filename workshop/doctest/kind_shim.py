"""`kind` for pages run on a real-node sim: a stand-in for kind's CLI, named so on testing.md.

A page says ``kind load docker-image localhost/workshop/gateway:dev --name workshop``: kind
copies the image from the container engine into every node. The runner puts a ``kind``
script first on the page's PATH that runs this module with the sim's number; it does what kind
does with the real-node sim's nodes (``workshop sim load``: podman's image into each node's
containerd, names kept) and prints kind's lines. Any other subcommand is refused, saying why:
the sim is not made by kind (``kind create cluster`` and friends have nothing to act on).

    $ python -m workshop.doctest.kind_shim --sim 3 load docker-image localhost/workshop/gateway:dev --name workshop
    Image: "localhost/workshop/gateway:dev" with ID "sha256:413f..." not yet present on node "workshop-worker", loading...
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

CLUSTER_NAME = "workshop"  # labs/00-setup/kind-cluster.yaml
ID_LABEL = "workshop.podman-image-id"

KIND_SHIM = """#!/usr/bin/env bash
# doctest: kind here is a stand-in for kind's CLI on real-node sim {sim} (workshop/doctest/kind_shim.py).
exec {python} -m workshop.doctest.kind_shim --sim {sim} "$@"
"""


def write(folder: Path, sim: int, python: str = sys.executable) -> Path:
    """The ``kind`` script in ``folder`` (which goes first on the page's PATH)."""
    path = folder / "kind"
    path.write_text(KIND_SHIM.format(sim=sim, python=shlex.quote(python)))
    path.chmod(0o755)
    return path


def _refuse(message: str) -> int:
    print(f"ERROR: {message}", file=sys.stderr)
    return 2


def _parse_load(args: list[str]) -> tuple[list[str], str] | str:
    """(images, cluster name) of `kind load docker-image`, or what is wrong with the arguments."""
    images, name = [], "kind"
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-n", "--name"):
            if not rest:
                return f"{arg} needs a cluster name"
            name = rest.pop(0)
        elif arg.startswith("--name="):
            name = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            return f"option {arg} is not supported by this stand-in for kind (only --name)"
        else:
            images.append(arg)
    if not images:
        return "kind load docker-image needs at least one image name"
    return images, name


def _image_id(image: str) -> str | None:
    from workshop.sim.images import podman_env

    result = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True,
                            env=podman_env())
    return f"sha256:{result.stdout.strip()}" if result.returncode == 0 and result.stdout.strip() else None


def _ctr(socket: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ctr", f"--address={socket}", "-n", "k8s.io", *args], capture_output=True, text=True)


def _present(socket: Path, image: str, image_id: str) -> bool:
    """Does this node's containerd hold ``image`` as loaded from this podman image ID (kind compares IDs)?

    podman's OCI archive rewrites the config, so containerd's digests differ from podman's ID:
    each load labels the node's image with the ID it came from, and that label is compared."""
    listed = _ctr(socket, "images", "ls", f"name=={image}")
    return listed.returncode == 0 and f"{ID_LABEL}={image_id}" in listed.stdout


def _label(socket: Path, image: str, image_id: str) -> None:
    _ctr(socket, "images", "label", image, f"{ID_LABEL}={image_id}")


def load(sim_index: int, args: list[str]) -> int:
    from workshop.sim import images
    from workshop.sim.cluster import Sim

    parsed = _parse_load(args)
    if isinstance(parsed, str):
        return _refuse(parsed)
    names, cluster = parsed
    if cluster != CLUSTER_NAME:
        return _refuse(f'no nodes found for cluster "{cluster}" (this stand-in for kind knows only "{CLUSTER_NAME}")')
    sim = Sim(sim_index)
    nodes = sim.real_nodes() if sim.mode() == "real" and sim.is_up() else []
    if not nodes:
        return _refuse(f"sim {sim_index} runs no real nodes to load images into: `make sim-up NODES=real SIM={sim_index}`")
    for image in names:
        image_id = _image_id(image)
        if image_id is None:
            return _refuse(f'image: "{image}" not present locally')
        missing = [node for node in nodes if not _present(node.socket, image, image_id)]
        if not missing:
            print(f'Image: "{image}" with ID "{image_id}" found to be already present on all nodes.', flush=True)
            continue
        for node in missing:
            print(f'Image: "{image}" with ID "{image_id}" not yet present on node "{node.name}", loading...', flush=True)
        try:
            images.load([node.socket for node in missing], [image])
        except images.ImageError as error:
            return _refuse(str(error))
        for node in missing:
            _label(node.socket, image, image_id)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--sim" or not args[1].isdigit():
        return _refuse("usage: python -m workshop.doctest.kind_shim --sim N KIND-ARGS...")
    sim_index, rest = int(args[1]), args[2:]
    if rest[:2] == ["load", "docker-image"]:
        return load(sim_index, rest[2:])
    what = " ".join(rest[:2]) or "(nothing)"
    return _refuse(f"`kind {what}` is not available here: this `kind` is the page runner's stand-in on real-node "
                   f"sim {sim_index}, which kind did not create; it runs only `kind load docker-image IMAGE... "
                   f"--name {CLUSTER_NAME}` (see docs/contributing/testing.md).")


if __name__ == "__main__":
    sys.exit(main())
