"""Knative Serving for the real-node sim: its own components, built from the pinned module.

What a learner gets from ``serving-crds.yaml`` and ``serving-core.yaml`` of KNATIVE_VERSION is
made here from ``knative.dev/serving@KNATIVE_SERVING_MODULE`` the way Knative releases it
(``ko resolve`` of ``config/core``):

- binaries: ``cmd/controller``, ``webhook``, ``autoscaler``, ``activator`` and ``queue``
  (the queue-proxy), built by ``gobuild`` from the module graph serving's go.mod pins;
- images: ``FROM scratch`` as ko builds them (the binary at ``/ko-app/<name>``, user 65532),
  named ``localhost/knative-sim/<name>:<KNATIVE_VERSION>``;
- release files: every YAML of ``config/core``, plus what the repository holds there as
  symlinks into its dependencies (a module zip keeps no symlink): the networking CRDs
  (Certificate, Ingress, ServerlessService) and ConfigMap ``config-network`` from
  ``knative.dev/networking``, the Image CRD from ``knative.dev/caching``, each at the version
  serving's go.mod requires. **Test-only overlay** (docs/contributing/testing.md): the
  ``ko://knative.dev/serving/cmd/<name>`` references become the local images above, where the
  release has ``gcr.io/knative-releases/...@sha256:<digest>`` (no registry is reachable here).

The module proxy must serve every one of those dependencies: ``refused_dependencies()`` asks it
first, so a refusal is one sentence instead of a page of ``go build`` errors.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from workshop.sim.gobuild import BuildError, GoBuild, build, cache_dir_ready, go_binary, go_env, module_dir, module_info
from workshop.versions import all_versions

MODULE = "knative.dev/serving"
COMPONENTS = ("controller", "webhook", "autoscaler", "activator", "queue")
IMAGE_HUB = "localhost/knative-sim"
KO_APP = "/ko-app"
NONROOT = "65532:65532"  # ko's default base (distroless static:nonroot) runs as this user
# Symlinked into serving's config/core in its repository, from these modules' config/ folders.
LINKED_CRDS = {"knative.dev/networking": ("certificate.yaml", "domain-claim.yaml", "ingress.yaml", "serverlessservice.yaml"),
               "knative.dev/caching": ("image.yaml",)}
LINKED_CONFIGMAPS = {"knative.dev/networking": ("config-network.yaml",)}


def serving_version(versions: dict[str, str] | None = None) -> str:
    return (versions or all_versions())["KNATIVE_SERVING_MODULE"]


def spec(versions: dict[str, str] | None = None) -> GoBuild:
    version = serving_version(versions)
    return GoBuild(name="knative-serving", version=version, requires={MODULE: version},
                   binaries={name: f"{MODULE}/cmd/{name}" for name in COMPONENTS},
                   inherit_go_directive=MODULE)


def knative_requirements(versions: dict[str, str] | None = None) -> dict[str, str]:
    """{module: version} of the knative.dev modules serving's go.mod requires (networking, pkg, ...)."""
    go_mod = Path(module_info(MODULE, serving_version(versions))["GoMod"]).read_text()
    return dict(re.findall(r"^\s*(knative\.dev/[\w.-]+)\s+(v\S+)", go_mod, flags=re.MULTILINE))


def refused_dependencies(versions: dict[str, str] | None = None) -> list[str]:
    """``module@version (reason)`` for each knative.dev dependency the module proxy will not serve."""
    refused = []
    for module, version in sorted(knative_requirements(versions).items()):
        if module == "knative.dev/hack":  # scripts only: no package of it is compiled
            continue
        done = subprocess.run([go_binary(), "mod", "download", "-json", f"{module}@{version}"], capture_output=True,
                              text=True, env={**go_env(), "GOTOOLCHAIN": "local"}, cwd=cache_dir_ready(), timeout=300)
        try:
            info = json.loads(done.stdout or "{}")
        except ValueError:
            info = {}
        if done.returncode != 0 or "Dir" not in info:
            reason = " ".join(str(info.get("Error") or done.stderr or "no answer").split())
            refused.append(f"{module}@{version} ({'403 Forbidden' if '403' in reason else reason[-160:]})")
    return refused


def check_buildable(versions: dict[str, str] | None = None) -> None:
    """BuildError naming the refused modules, when the proxy will not serve serving's dependencies."""
    refused = refused_dependencies(versions)
    if refused:
        raise BuildError(f"Knative Serving {serving_version(versions)} cannot be built here: the Go module proxy "
                         f"refuses {', '.join(refused)}.")


def binaries(log=None) -> dict[str, Path]:
    """The five binaries (cached by gobuild; the dependencies are asked for first)."""
    built = spec()
    from workshop.sim.gobuild import is_built

    if not is_built(built):
        check_buildable()
    return build(built, log=log)


def image_name(component: str, versions: dict[str, str] | None = None) -> str:
    return f"{IMAGE_HUB}/{component}:{(versions or all_versions())['KNATIVE_VERSION']}"


def images(log=None) -> list[str]:
    """The five podman images (each rebuilt only when its binary changes)."""
    from workshop.sim import images as podman_images

    paths = binaries(log=log)
    return [podman_images.scratch_image(image_name(name), {f"{KO_APP}/{name}": paths[name]}, [f"{KO_APP}/{name}"],
                                        user=NONROOT)
            for name in COMPONENTS]


# --- Release files ---------------------------------------------------------------------------

def _linked_file(module: str, name: str, versions: dict[str, str] | None) -> Path:
    version = knative_requirements(versions)[module]
    return module_dir(module, version) / "config" / name


def _documents(paths: list[Path]) -> list[dict]:
    documents = []
    for path in paths:
        documents += [document for document in yaml.safe_load_all(path.read_text()) if document]
    return documents


def _resolve_images(text: str, release: str) -> str:
    """The test-only overlay: ko:// references to the local images; "devel" labels to the release."""
    text = re.sub(r"ko://knative\.dev/serving/cmd/([\w-]+)",
                  lambda match: f"{IMAGE_HUB}/{match.group(1)}:{release}", text)
    return re.sub(r"(app\.kubernetes\.io/version|serving\.knative\.dev/release): [\"']?devel[\"']?",
                  lambda match: f'{match.group(1)}: "{"v" if "release" in match.group(1) else ""}{release}"', text)


def crd_files(versions: dict[str, str] | None = None) -> list[Path]:
    """What ``serving-crds.yaml`` is made of: config/core/300-resources and its linked CRDs."""
    source = module_dir(MODULE, serving_version(versions)) / "config" / "core" / "300-resources"
    linked = [_linked_file(module, name, versions) for module, names in LINKED_CRDS.items() for name in names]
    return sorted(source.glob("*.yaml")) + linked


def core_files(versions: dict[str, str] | None = None) -> list[Path]:
    """What ``serving-core.yaml`` is made of: every YAML under config/core in ko's path order, the
    linked CRDs after 300-resources' own, config-network after the other ConfigMaps."""
    core = module_dir(MODULE, serving_version(versions)) / "config" / "core"
    files = sorted(core.rglob("*.yaml"), key=lambda path: str(path.relative_to(core)))
    linked = {"300-resources": crd_files(versions)[len(list(core.glob("300-resources/*.yaml"))):],
              "configmaps": [_linked_file(module, name, versions)
                             for module, names in LINKED_CONFIGMAPS.items() for name in names]}
    ordered: list[Path] = []
    for index, path in enumerate(files):
        ordered.append(path)
        folder = path.parent.name
        if folder in linked and (index + 1 == len(files) or files[index + 1].parent.name != folder):
            ordered += linked[folder]
    return ordered


def render(paths: list[Path], versions: dict[str, str] | None = None) -> str:
    versions = versions or all_versions()
    text = yaml.safe_dump_all(_documents(paths), sort_keys=False)
    return _resolve_images(text, versions["KNATIVE_VERSION"])


def serving_crds(version: str) -> str:
    return render(crd_files())


def serving_core(version: str) -> str:
    return render(core_files())


def main(argv: list[str] | None = None) -> int:
    """``python -m workshop.sim.knative images``: binaries and images, or one sentence saying why not."""
    import argparse
    import sys
    import time

    parser = argparse.ArgumentParser(prog="python -m workshop.sim.knative",
                                     description="Build Knative Serving's components from the pinned module.")
    parser.add_argument("action", choices=["check", "images"],
                        help="check: can the module proxy serve what the build needs; images: build the images")
    args = parser.parse_args(argv)
    from workshop.sim.images import ImageError

    started = time.monotonic()
    try:
        if args.action == "check":
            check_buildable()
            print(f"knative: Knative Serving {serving_version()} can be built here.")
            return 0
        built = images(log=lambda message: print(message, file=sys.stderr, flush=True))
    except (BuildError, ImageError) as error:
        print(f"knative: {error}", file=sys.stderr)
        return 1
    print("\n".join(built))
    print(f"knative: images ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
