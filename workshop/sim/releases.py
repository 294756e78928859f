"""Upstream release files the labs download, made here from the pinned Go modules.

The pages and lab scripts download release files from GitHub, as a learner does. This
machine kind reaches package registries only, so the sim makes each file from the source
it is released from, at the version pinned in versions.env, and caches it under the sim
cache (``$WORKSHOP_CACHE/releases/``). A local "release mirror" serves these files under
their upstream URLs; tests and instructors may also point a lab's override variable
(``METRICS_SERVER_MANIFEST``, ``ARGOCD_MANIFEST``) at the file.

Stable API (the release mirror calls it; keep both signatures)::

    >>> from workshop.sim import releases
    >>> releases.known_urls()                 # every URL we can serve, at the pinned versions
    ['https://github.com/kubernetes-sigs/metrics-server/releases/download/<METRICS_SERVER_VERSION>/components.yaml', ...]
    >>> releases.release_file(url)            # Path of the file that URL serves, or None if unknown
    PosixPath('/root/.cache/microservices-workshop/releases/metrics-server@<METRICS_SERVER_VERSION>/components.yaml')

``release_file`` builds on first use (a module download, a kustomize render: seconds) and
raises ``ReleaseError`` (one sentence) when a known file cannot be made.

How each file is made, the way its project releases it:

- metrics-server ``components.yaml``: ``kubectl kustomize manifests/overlays/release`` of the
  module ``sigs.k8s.io/metrics-server`` (its Makefile's ``release-manifests``), with the
  project's kubectl (built from Kubernetes' source with the sim);
- Argo CD ``manifests/install.yaml``: the file itself, in the module
  ``github.com/argoproj/argo-cd/v3`` (the raw GitHub URL serves the tagged tree's copy).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from workshop.sim.gobuild import BuildError, cache_dir, go_binary, go_env
from workshop.versions import all_versions

METRICS_SERVER_MODULE = "sigs.k8s.io/metrics-server"
ARGOCD_MODULE = "github.com/argoproj/argo-cd/v3"


class ReleaseError(Exception):
    """A known release file could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Release:
    name: str        # cache folder: <name>@<version>
    version: str
    url: str
    filename: str
    make: Callable[[str], str]  # version -> the file's text

    @property
    def path(self) -> Path:
        return cache_dir() / "releases" / f"{self.name}@{self.version}" / self.filename


def metrics_server_url(version: str) -> str:
    return f"https://github.com/kubernetes-sigs/metrics-server/releases/download/{version}/components.yaml"


def argocd_url(version: str) -> str:
    return f"https://raw.githubusercontent.com/argoproj/argo-cd/{version}/manifests/install.yaml"


def knative_url(repository: str, version: str, filename: str) -> str:
    return f"https://github.com/knative/{repository}/releases/download/knative-v{version}/{filename}"


def registry(versions: dict[str, str] | None = None) -> list[Release]:
    versions = versions or all_versions()
    metrics, argocd = versions["METRICS_SERVER_VERSION"], versions["ARGOCD_VERSION"]
    return [
        Release("metrics-server", metrics, metrics_server_url(metrics), "components.yaml", _render_metrics_server),
        Release("argocd", argocd, argocd_url(argocd), "install.yaml", _argocd_install),
        *_knative_releases(versions),
    ]


def _knative_releases(versions: dict[str, str]) -> list[Release]:
    """Knative Serving's two files (workshop/sim/knative.py) and the Kourier STAND-IN
    (workshop/sim/knative_kourier.py). The cache folder names what shapes each file: the
    serving module, and a digest of the stand-in's sources."""
    import hashlib

    from workshop.sim import knative, knative_kourier

    def digest(*paths: Path) -> str:
        return hashlib.sha256(b"".join(path.read_bytes() for path in paths)).hexdigest()[:12]

    release = versions["KNATIVE_VERSION"]
    serving = f"{release}-{versions['KNATIVE_SERVING_MODULE']}-{digest(Path(knative.__file__))}"
    standin = f"{release}-{digest(Path(knative_kourier.__file__), knative_kourier.PROGRAM)}"
    return [
        Release("knative-serving", serving, knative_url("serving", release, "serving-crds.yaml"), "serving-crds.yaml",
                _knative_maker(knative.serving_crds)),
        Release("knative-serving", serving, knative_url("serving", release, "serving-core.yaml"), "serving-core.yaml",
                _knative_maker(knative.serving_core)),
        Release("kourier-standin", standin, knative_url("net-kourier", release, "kourier.yaml"), "kourier.yaml",
                knative_kourier.kourier_yaml),
    ]


def _knative_maker(make: Callable[[str], str]) -> Callable[[str], str]:
    def made(version: str) -> str:
        try:
            return make(version)
        except (BuildError, OSError, KeyError) as error:
            raise ReleaseError(f"cannot make Knative Serving's release file from its module: {error}") from None
    return made


def known_urls() -> list[str]:
    """Every upstream URL ``release_file`` answers, at the versions of versions.env."""
    return [release.url for release in registry()]


def release_file(url: str) -> Path | None:
    """The local file with what ``url`` serves upstream (made and cached on first use), or
    None when ``url`` is not one of ``known_urls()``."""
    release = next((item for item in registry() if item.url == url), None)
    if release is None:
        return None
    if release.path.is_file():
        return release.path
    with _lock(release):
        if not release.path.is_file():
            text = release.make(release.version)
            release.path.parent.mkdir(parents=True, exist_ok=True)
            partial = release.path.with_name(f".{release.filename}.{os.getpid()}.partial")
            partial.write_text(text)
            os.replace(partial, release.path)  # never half a file for the next reader
    return release.path


def without_aggregated_api(path: Path) -> Path:
    """STAND-IN for KWOK sims only (docs/contributing/testing.md): the metrics-server manifest at
    ``path`` without its APIService. On KWOK no pod runs, so metrics.k8s.io would stay unavailable,
    and an unavailable aggregated API makes the namespace controller fail its discovery and never
    finish deleting a namespace; on kind and on real nodes metrics-server runs and the full file is
    used. Its checks read what KWOK cannot give anyway (l3-hpa-metrics is a data-plane check)."""
    import yaml

    kept = [document for document in yaml.safe_load_all(path.read_text())
            if document and document.get("kind") != "APIService"]
    out = path.with_name(f"kwok-{path.name}")
    if not out.is_file() or out.stat().st_mtime < path.stat().st_mtime:
        partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        partial.write_text(yaml.safe_dump_all(kept, sort_keys=False))
        os.replace(partial, out)
    return out


def metrics_server_image() -> str:
    """The image the metrics-server release manifest runs (what the sim must hold under that name)."""
    path = release_file(metrics_server_url(all_versions()["METRICS_SERVER_VERSION"]))
    for document in yaml.safe_load_all(path.read_text()):
        if document and document.get("kind") == "Deployment":
            return document["spec"]["template"]["spec"]["containers"][0]["image"]
    raise ReleaseError(f"{path} has no Deployment: cannot tell which image metrics-server runs.")


# ---------------------------------------------------------------------------------- makers

@contextmanager
def _lock(release: Release):
    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"release-{release.name}@{release.version}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _module_zip(module: str, version: str) -> Path:
    """The verified module zip from the Go module proxy. Outside any module and with the local
    toolchain: some go.mod files ask for a newer Go, and `go mod download` then reports an
    error after fetching, the verified zip being there all the same."""
    try:
        go = go_binary()
    except BuildError as error:
        raise ReleaseError(str(error)) from None
    work = cache_dir() / "releases"
    work.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True,
                          cwd=work, timeout=600, env={**go_env(), "GOTOOLCHAIN": "local"})
    try:
        info = json.loads(done.stdout or "{}")
    except ValueError:
        info = {}
    archive = info.get("Zip")
    if not archive or not Path(archive).is_file():
        detail = " ".join((info.get("Error") or done.stderr or "no answer").split()).rstrip(".")
        raise ReleaseError(f"could not download {module}@{version} through the Go module proxy ({detail}).")
    return Path(archive)


def _argocd_install(version: str) -> str:
    with zipfile.ZipFile(_module_zip(ARGOCD_MODULE, version)) as module:
        try:
            return module.read(f"{ARGOCD_MODULE}@{version}/manifests/install.yaml").decode()
        except KeyError:
            raise ReleaseError(f"{ARGOCD_MODULE}@{version} has no manifests/install.yaml.") from None


def _kubectl() -> Path:
    from workshop.sim.build import kubernetes_spec
    from workshop.sim.gobuild import build

    try:
        return build(kubernetes_spec())["kubectl"]
    except BuildError as error:
        raise ReleaseError(str(error)) from None


def _render_metrics_server(version: str) -> str:
    """The release's `make release-manifests`: kubectl kustomize manifests/overlays/release."""
    from workshop.sim.gobuild import module_dir

    try:
        overlay = module_dir(METRICS_SERVER_MODULE, version) / "manifests" / "overlays" / "release"
    except BuildError as error:
        raise ReleaseError(str(error)) from None
    done = subprocess.run([str(_kubectl()), "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or "kind: Deployment" not in done.stdout:
        raise ReleaseError(f"kubectl kustomize {overlay} failed: {done.stderr.strip()[-400:] or 'no Deployment'}")
    return done.stdout
