"""metrics-server for the real-node sim, built from its pinned Go module.

The learner applies the release's ``components.yaml`` (level 3). On kind, the kubelet pulls
the image that manifest names; here nothing is pulled, so the sim builds the same binary
from ``sigs.k8s.io/metrics-server@METRICS_SERVER_VERSION`` (the release's own ``go build``
and version flags) into an image carrying **exactly** the name the manifest references, and
every real node holds it from ``sim up`` on, as a kind node would after its first pull::

    >>> from workshop.sim import metrics_server
    >>> metrics_server.image()          # built once, then cached (podman's store)
    'localhost/workshop-sim/metrics-server:<METRICS_SERVER_VERSION>'
    >>> metrics_server.release_image()  # its name inside the nodes' containerd
    'registry.k8s.io/metrics-server/metrics-server:<METRICS_SERVER_VERSION>'

In podman's store the image keeps a local name: an upstream name there would pass for the
real, pulled image (``workshop preload`` counts such images as present). The nodes get it
under the release's name only (``images.load`` renames it). That name is read from the rendered
release manifest (``workshop.sim.releases``), never typed here: what runs is what the
learner's manifest asks for.
"""

from __future__ import annotations

from workshop.sim.gobuild import GoBuild, build
from workshop.versions import all_versions

MODULE = "sigs.k8s.io/metrics-server"
# The release's Makefile: version flags into client-go's version package (PKG).
VERSION_PACKAGE = "k8s.io/client-go/pkg/version"


def spec(versions: dict[str, str] | None = None) -> GoBuild:
    version = (versions or all_versions())["METRICS_SERVER_VERSION"]
    return GoBuild(
        name="metrics-server",
        version=version,
        requires={MODULE: version},
        binaries={"metrics-server": f"{MODULE}/cmd/metrics-server"},
        ldflags=f"-X {VERSION_PACKAGE}.gitVersion={version}",
        inherit_go_directive=MODULE,
    )


def binary():
    return build(spec())["metrics-server"]


def image() -> str:
    """The local podman image holding the binary built from the module (built once)."""
    from workshop.sim import images

    name = f"localhost/workshop-sim/metrics-server:{spec().version}"
    # As the release's Dockerfile (distroless static, USER 65534): the binary alone at /.
    return images.scratch_image(name, {"/metrics-server": binary()}, ["/metrics-server"])


def release_image() -> str:
    """The name the release manifest runs, which the nodes' containerd holds ``image()`` under."""
    from workshop.sim import releases

    return releases.metrics_server_image()
