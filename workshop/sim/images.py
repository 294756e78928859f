"""Images of the real-node sim: built locally with podman, imported into each node's containerd.

Nothing is pulled: the nodes have no route out. What the nodes need is built from source:

- the pause image (every pod's sandbox): Kubernetes' own ``build/pause/linux/pause.c``, from
  the pinned ``k8s.io/kubernetes`` module, compiled with ``gcc -Os -static`` into a scratch image;
- CoreDNS: the binary ``workshop.sim.build.coredns_spec`` builds, in a scratch image;
- metrics-server: ``workshop.sim.metrics_server``, under the name its release manifest runs.

``load(sim, images)`` is ``kind load docker-image IMAGE...`` for the sim: a podman image goes
into every real node's containerd under its exact name (``localhost/workshop/<svc>:dev``)::

    $ workshop sim load --sim 3 localhost/workshop/gateway:dev
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from workshop import REPO_ROOT
from workshop.sim.gobuild import build, cache_dir, module_dir
from workshop.versions import all_versions

# The same containers.conf as scripts/containers/lib.sh (runc + cgroupfs work in this sandbox).
CONTAINERS_CONF = REPO_ROOT / ".cache" / "containers" / "containers.conf"
DIGEST_LABEL = "workshop.inputs"


class ImageError(Exception):
    """An image could not be built, saved or imported; the message says which and why."""


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and CONTAINERS_CONF.is_file():
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def _run(command: list[str], what: str, env: dict | None = None) -> str:
    if shutil.which(command[0]) is None:
        raise ImageError(f"{what}: `{command[0]}` is not installed; run `make sim-node-setup` (as root).")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ImageError(f"{what}: `{' '.join(command[:4])} ...` failed: {(result.stderr or result.stdout).strip()[-800:]}")
    return result.stdout


def podman(*args: str, what: str) -> str:
    return _run(["podman", *args], what, podman_env())


def _label(image: str) -> str | None:
    result = subprocess.run(["podman", "image", "inspect", "--format", f'{{{{index .Labels "{DIGEST_LABEL}"}}}}', image],
                            capture_output=True, text=True, env=podman_env())
    return result.stdout.strip() if result.returncode == 0 else None


def scratch_image(name: str, files: dict[str, Path], entrypoint: list[str], user: str = "65534:65534") -> str:
    """A ``FROM scratch`` image of ``files`` ({path in image: file}); rebuilt only when a file changes."""
    digest = hashlib.sha256()
    for target, source in sorted(files.items()):
        digest.update(target.encode() + source.read_bytes())
    digest.update(repr((entrypoint, user)).encode())
    inputs = digest.hexdigest()[:16]
    if _label(name) == inputs:
        return name
    with tempfile.TemporaryDirectory(prefix="workshop-image-") as context:
        lines = ["FROM scratch"]
        for number, (target, source) in enumerate(sorted(files.items())):
            shutil.copy2(source, Path(context) / f"file{number}")
            lines.append(f"COPY file{number} {target}")
        lines += [f"USER {user}", f"ENTRYPOINT {_json_list(entrypoint)}", f"LABEL {DIGEST_LABEL}={inputs}"]
        (Path(context) / "Containerfile").write_text("\n".join(lines) + "\n")
        podman("build", "-q", "--format", "oci", "--network=none", "-t", name, context, what=f"building {name}")
    return name


def _json_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def pause_image() -> str:
    version = all_versions()["SIM_KUBERNETES_VERSION"]
    name = f"localhost/workshop/pause:{version}"
    source = module_dir("k8s.io/kubernetes", version) / "build" / "pause" / "linux" / "pause.c"
    out = cache_dir() / "bin" / f"pause@{version}"
    out.mkdir(parents=True, exist_ok=True)
    binary = out / "pause"
    if not binary.is_file():
        _run(["gcc", "-Os", "-static", f"-DVERSION={version}", "-o", str(binary), str(source)], "compiling pause.c")
    return scratch_image(name, {"/pause": binary}, ["/pause"])


def coredns_image() -> str:
    from workshop.sim.build import coredns_spec

    spec = coredns_spec()
    binary = build(spec)["coredns"]
    return scratch_image(f"localhost/workshop/coredns:{spec.version}", {"/coredns": binary}, ["/coredns"])


def node_images() -> dict[str, str]:
    """What every real node holds from the start, {podman image: name in the nodes}: sandbox,
    cluster DNS, and metrics-server under the name its release manifest runs (what a kind node
    pulls at level 3)."""
    from workshop.sim import metrics_server

    return {pause_image(): "", coredns_image(): "", metrics_server.image(): metrics_server.release_image()}


def archive(image: str) -> Path:
    """The image as an OCI archive in the cache, named by image ID (saved once per image build)."""
    image_id = podman("image", "inspect", "--format", "{{.Id}}", image, what=f"looking up {image}").strip()
    if not image_id:
        raise ImageError(f"image {image} is not in podman's store: build it first")
    folder = cache_dir() / "images"
    folder.mkdir(parents=True, exist_ok=True)
    # The name is in the archive (ctr imports it under that name): one image tagged twice
    # (localhost/workshop/x and IMAGE_REPO's localhost/other/x) needs an archive per name.
    name = hashlib.sha256(image.encode()).hexdigest()[:8]
    path = folder / f"{image_id[:20]}-{name}.oci.tar"
    if not path.is_file():
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        podman("save", "--format", "oci-archive", "-o", str(partial), image, what=f"saving {image}")
        os.replace(partial, path)
    return path


def import_into(socket: Path, image: str, path: Path) -> None:
    """``ctr -n k8s.io images import``: the namespace the kubelet's CRI reads."""
    # podman writes the full name into the archive (org.opencontainers.image.ref.name): ctr keeps it.
    _run(["ctr", f"--address={socket}", "-n", "k8s.io", "images", "import", str(path)],
         f"importing {image} into the node's containerd ({socket})")


def rename_in(socket: Path, image: str, name: str) -> None:
    """The imported image under ``name`` only, as a pull of ``name`` would have left it (the
    kubelet reports an image by its first name: a local one would show in pod statuses)."""
    ctr = ["ctr", f"--address={socket}", "-n", "k8s.io", "images"]
    _run([*ctr, "tag", "--force", image, name], f"naming {image} {name} in the node's containerd ({socket})")
    _run([*ctr, "rm", image], f"dropping the local name {image} in the node's containerd ({socket})")


def load(sockets: list[Path], images: list[str], names: dict[str, str] | None = None) -> None:
    """Import podman images into each containerd, keeping their exact names, or under the name
    ``names`` gives ({podman image: its name in the nodes})."""
    for image in images:
        path = archive(image)
        for socket in sockets:
            import_into(socket, image, path)
            if (names or {}).get(image):
                rename_in(socket, image, names[image])
