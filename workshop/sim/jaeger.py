"""Jaeger, Istio's tracing add-on, really running on the real-node sim.

`make lab-5` applies ``samples/addons/jaeger.yaml`` of the Istio release, which runs the image
``docker.io/jaegertracing/jaeger:2.17.0``: Jaeger v2, an OpenTelemetry Collector distribution
that receives the sidecars' spans (OTLP on 4317, the ``jaeger`` provider of the demo profile),
keeps them in Badger and answers queries on 16686 under ``/jaeger``. Nothing can be pulled here,
so the sim builds Jaeger from its Go module and gives the image that name in the nodes.

**Not the same release.** Jaeger tags each v2 release beside a v1 tag of the same source, and
the module proxy serves only the v1 tags (the module path has no ``/v2``). The newest,
JAEGER_MODULE_VERSION, is Jaeger JAEGER_RELEASE: the sim runs it under the 2.17.0 name, with
the add-on's own configuration unchanged. And the web UI is a placeholder:
upstream builds its assets with npm into the binary; the API the check reads is complete.
docs/contributing/testing.md says both.

    >>> from workshop.sim import jaeger
    >>> jaeger.image()                      # built once (455 s cold here, niced), then cached
    'localhost/workshop-sim/jaeger:<JAEGER_RELEASE>'
"""

from __future__ import annotations

from pathlib import Path

import yaml

from workshop.sim.gobuild import GoBuild, build, module_dir
from workshop.versions import all_versions

MODULE = "github.com/jaegertracing/jaeger"
# Upstream's cmd/jaeger/Dockerfile: the binary, its default sampling file, user 10001.
BINARY_PATH = "/cmd/jaeger/jaeger-linux"
USER = "10001"


def spec(versions: dict[str, str] | None = None) -> GoBuild:
    version = (versions or all_versions())["JAEGER_MODULE_VERSION"]
    upstream_go_mod = module_dir(MODULE, version) / "go.mod"
    return GoBuild(name="jaeger", version=version, requires={MODULE: version},
                   binaries={"jaeger": f"{MODULE}/cmd/jaeger"}, replaces=_replaces(upstream_go_mod),
                   inherit_go_directive=MODULE)


def _replaces(go_mod: Path) -> dict[str, str]:
    """Upstream's one-line ``replace`` directives: a wrapper module must repeat them to build the same."""
    found = {}
    for line in go_mod.read_text().splitlines():
        if line.startswith("replace ") and "=>" in line:
            source, target = line.removeprefix("replace ").split("=>")
            found[source.split()[0]] = target.strip()
    return found


def image(log=None) -> str:
    """The Jaeger image (cached): upstream's layout on an empty base, as its Dockerfile builds it."""
    from workshop.sim.images import scratch_image

    release = all_versions()["JAEGER_RELEASE"]
    the_spec = spec()
    sampling = module_dir(MODULE, the_spec.version) / "cmd" / "jaeger" / "sampling-strategies.json"
    files = {BINARY_PATH: build(the_spec, log)["jaeger"], "/cmd/jaeger/sampling-strategies.json": sampling}
    return scratch_image(f"localhost/workshop-sim/jaeger:{release}", files, [BINARY_PATH], user=USER)


def manifest_image(addons_dir: Path) -> str:
    """The image the Istio release's ``samples/addons/jaeger.yaml`` runs (the nodes' name for ours)."""
    for document in yaml.safe_load_all((addons_dir / "jaeger.yaml").read_text()):
        if document and document.get("kind") == "Deployment":
            return document["spec"]["template"]["spec"]["containers"][0]["image"]
    raise ValueError(f"{addons_dir / 'jaeger.yaml'} has no Deployment")
