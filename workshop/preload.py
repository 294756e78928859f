"""`workshop preload`: pull every image the workshop needs once, then load them into kind.

Venues have slow networks and registries rate-limit a room full of laptops pulling the same
images: pulling everything once, at home, makes the day work offline. The list is never typed
by hand; it is read from the pinned sources each level really uses:

- the kind node image and the Python base image: versions.env;
- Istio's control plane and gateway (pilot, proxyv2): ``istioctl manifest generate`` of the
  operator file level 5 installs, at ISTIO_VERSION;
- Istio's add-ons: the ``samples/addons`` manifests level 5 applies (the ADDONS of its lab.sh);
- metrics-server, Argo CD, Knative Serving and Kourier: the very manifests levels 3, 4 and 6
  apply, their URLs asked from the levels' own lab.sh.

Manifests come from, in order: a copy already fetched (``.cache/preload/``, gitignored), a local
copy (the Istio release folder you downloaded, the Go module cache, level 4's own cache), then
their pinned URL. One that cannot be had is named, and the others go on.

The learner's `make preload` needs none of that: it reads labs/00-setup/images.txt, which
`make preload-images` writes from these sources (workshop/images_file.py). Images are pulled
and loaded for the kind nodes' platform only (workshop/engine.py says which).

    $ workshop preload --list        # the images and where each one comes from
    $ workshop preload --dry-run     # the commands, without running them
    $ workshop preload               # pull (Docker, else Podman), then `kind load` into `workshop`
    $ workshop preload --write-list labs/00-setup/images.txt    # from the pinned sources (Go)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import yaml

from workshop import REPO_ROOT
from workshop.engine import EngineError, EngineInfo, choose_engine, engine_info, run
from workshop.versions import all_versions

CACHE = REPO_ROOT / ".cache" / "preload"
KIND_CLUSTER = "workshop"
KIND_CONTEXT = f"kind-{KIND_CLUSTER}"
FETCH_TIMEOUT = 30.0          # seconds for one manifest download
PULL_TIMEOUT = 900.0          # seconds for one `pull` (a big image on a slow line)
COMMAND_TIMEOUT = 60.0        # seconds for the quick commands (inspect, version, kind get)
LAB = {number: path for number, path in ((int(p.name[:2]), p) for p in (REPO_ROOT / "labs").glob("[0-9][0-9]-*"))}
ISTIO_OPERATOR_FILE = LAB[5] / "install" / "istio-operator-demo.yaml"
ISTIO_ADDONS_URL = "https://raw.githubusercontent.com/istio/istio/{version}/samples/addons/{addon}.yaml"
POD_LIST_KEYS = ("containers", "initContainers", "ephemeralContainers")


@dataclass
class Image:
    ref: str                   # fully qualified: docker.io/library/python:..., quay.io/...
    sources: list[str]         # where it was read, first one first
    load: bool = True          # loaded into the kind cluster (False: kind's own node, a build base)


@dataclass
class Manifest:
    """A manifest read at preload time, on the learner's laptop: its images are not in the committed list."""

    url: str
    label: str                 # what needs it: "Knative (level 6)"


@dataclass
class ImageList:
    images: list[Image] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # where a local manifest was used, etc.
    missing: list[str] = field(default_factory=list)     # sources that could not be read: say which
    manifests: list[Manifest] = field(default_factory=list)
    # Writing the committed list: manifests only a URL serves are named (manifests), not read.
    defer_urls: bool = False

    def add(self, ref: str, source: str, load: bool = True) -> None:
        ref = qualify(ref)
        for image in self.images:
            if image.ref == ref:
                if source not in image.sources:
                    image.sources.append(source)
                image.load = image.load or load
                return
        self.images.append(Image(ref, [source], load))


class SourceError(Exception):
    """A manifest could not be had; the message says which and why."""


# --- Image references --------------------------------------------------------------------

def qualify(ref: str) -> str:
    """The fully qualified name of ``ref`` (what Podman needs without a TTY, Docker accepts).

    >>> qualify("python:3-slim"), qualify("grafana/grafana:1"), qualify("quay.io/kiali/kiali:v2")
    ('docker.io/library/python:3-slim', 'docker.io/grafana/grafana:1', 'quay.io/kiali/kiali:v2')
    """
    first, _, rest = ref.partition("/")
    if not rest:
        return f"docker.io/library/{ref}"
    if "." in first or ":" in first or first == "localhost":
        return ref
    return f"docker.io/{ref}"


def images_in_documents(documents: Iterable[dict]) -> list[str]:
    """Every container image of the workloads in ``documents``, in order, once each.

    Containers of any workload (Pods, Deployments, StatefulSets, DaemonSets, Jobs, ...: every
    ``containers``/``initContainers`` list, wherever it is nested), and images a ConfigMap
    names for the pods a controller creates (Knative's ``queue-sidecar-image``). Skipped:
    Istio's ``image: auto`` (filled in by injection) and unresolved ``ko://`` references.
    """
    found: list[str] = []

    def keep(value) -> None:
        if isinstance(value, str) and value and value != "auto" and not value.startswith("ko://") \
                and "{{" not in value and value not in found:
            found.append(value)

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in POD_LIST_KEYS and isinstance(value, list):
                    for container in value:
                        if isinstance(container, dict):
                            keep(container.get("image"))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for document in documents:
        if not isinstance(document, dict):
            continue
        if document.get("kind") == "ConfigMap":
            for key, value in (document.get("data") or {}).items():
                if key.endswith("-image"):
                    keep(value)
            continue
        walk(document)
    return found


def images_in_yaml(text: str) -> list[str]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return images_in_documents(item for item in yaml.load_all(text, Loader=loader) if item)


# --- Where manifests come from -----------------------------------------------------------

def lab_function(level: int, script: str) -> str:
    """Run bash ``script`` with level ``level``'s lab.sh sourced; its stdout, stripped.

    The URLs a level applies live in its lab.sh: asking the script keeps them in one place.
    ``on_sim``/``on_sim_cluster`` are redefined to false first, so nothing asks a cluster.
    """
    program = (f'source "$LAB_DIR/lab.sh"; on_sim() {{ false; }}; on_sim_cluster() {{ false; }}; {script}')
    env = {**os.environ, "REPO_ROOT": str(REPO_ROOT), "LAB_DIR": str(LAB[level]),
           "WORKSHOP": os.environ.get("WORKSHOP") or str(REPO_ROOT / ".venv" / "bin" / "workshop"),
           "METRICS_SERVER_MANIFEST": "", "ARGOCD_MANIFEST": ""}
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env,
                          timeout=COMMAND_TIMEOUT, cwd=REPO_ROOT)
    if done.returncode != 0 or not done.stdout.strip():
        raise SourceError(f"labs/{LAB[level].name}/lab.sh could not say ({done.stderr.strip() or 'no output'})")
    return done.stdout.strip()


def cached_path(url: str) -> Path:
    return CACHE / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{url.rstrip('/').rsplit('/', 1)[-1]}"


def fetch(url: str, timeout: float = FETCH_TIMEOUT) -> tuple[str, str]:
    """The text at ``url`` and where it came from: the cached copy, else a download (then cached)."""
    path = cached_path(url)
    if path.is_file() and path.stat().st_size:
        return path.read_text(), f"{url} (cached in {path.relative_to(REPO_ROOT)})"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            text = answer.read().decode()
    except Exception as error:  # URLError, a timeout, an HTTP error: all say the same to the learner
        raise SourceError(f"could not fetch {url}: {getattr(error, 'reason', None) or error}") from None
    if urllib.request.getproxies().get("https"):
        # Through a proxy (the test sim's release mirror serves stand-ins): used, never cached as upstream's.
        return text, f"{url} (through a proxy)"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
    return text, url


def go_module_dir(module: str, version: str) -> Path | None:
    """The module's source in the Go module cache (fetched through the module proxy), or None without Go."""
    try:
        from workshop.sim.gobuild import BuildError, module_dir
    except ImportError:
        return None
    try:
        return module_dir(module, version)
    except (BuildError, OSError, subprocess.SubprocessError):
        return None


def istio_release_dir(version: str) -> Path | None:
    """The Istio release folder level 5 uses (ISTIO_DIR, ./istio-V, ~/istio-V), as its lab.sh looks."""
    for candidate in (os.environ.get("ISTIO_DIR"), REPO_ROOT / f"istio-{version}", Path.home() / f"istio-{version}"):
        if candidate and (Path(candidate) / "samples" / "addons").is_dir():
            return Path(candidate)
    return None


# --- The sources, one function each ------------------------------------------------------

def source_versions(found: ImageList, versions: dict[str, str]) -> None:
    found.add(versions["KIND_NODE_IMAGE"], "versions.env KIND_NODE_IMAGE: kind's node, `make cluster` uses it", load=False)
    found.add(versions["PYTHON_BASE_IMAGE"], "versions.env PYTHON_BASE_IMAGE: base of every service Dockerfile",
              load=False)


def source_istio_install(found: ImageList, versions: dict[str, str]) -> None:
    """pilot and proxyv2: what `istioctl install -f install/istio-operator-demo.yaml` installs."""
    operator = ISTIO_OPERATOR_FILE.relative_to(REPO_ROOT)
    try:
        from workshop.sim import istio

        objects = istio.render_install(operator_files=[ISTIO_OPERATOR_FILE])
        how = f"istioctl manifest generate -f {operator} (istioctl built from the pinned source)"
    except Exception as built_error:  # no Go, no build: a released istioctl of the pinned version will do
        istioctl = shutil.which("istioctl")
        release = istio_release_dir(versions["ISTIO_VERSION"])
        if not istioctl and release and (release / "bin" / "istioctl").is_file():
            istioctl = str(release / "bin" / "istioctl")
        if not istioctl:
            raise SourceError(f"Istio's install (pilot, proxyv2): istioctl {versions['ISTIO_VERSION']} is not installed "
                              f"and could not be built ({built_error}); level 5's page says how to download it") from None
        done = subprocess.run([istioctl, "manifest", "generate", "-f", str(ISTIO_OPERATOR_FILE)],
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT * 5)
        if done.returncode != 0:
            raise SourceError(f"`istioctl manifest generate` failed: {done.stderr.strip()[-300:]}") from None
        if versions["ISTIO_VERSION"] not in done.stdout:
            raise SourceError(f"{istioctl} is not istioctl {versions['ISTIO_VERSION']}: install the pinned version")
        objects = [item for item in yaml.safe_load_all(done.stdout) if item]
        how = f"{istioctl} manifest generate -f {operator}"
    images = images_in_documents(objects)
    if not images:
        raise SourceError(f"{how} rendered no image")
    for ref in images:
        found.add(ref, f"Istio install: {how}")


def level5_addons() -> list[str]:
    """The add-ons level 5 installs: the ADDONS=(...) array of its lab.sh."""
    match = re.search(r"^ADDONS=\(([^)]*)\)", (LAB[5] / "lab.sh").read_text(), re.MULTILINE)
    if not match:
        raise SourceError(f"labs/{LAB[5].name}/lab.sh has no ADDONS=(...) line")
    return match.group(1).split()


def source_istio_addons(found: ImageList, versions: dict[str, str]) -> None:
    version = versions["ISTIO_VERSION"]
    release = istio_release_dir(version)
    module = None if release else go_module_dir("istio.io/istio", versions["ISTIO_SOURCE_VERSION"])
    for addon in level5_addons():
        url = ISTIO_ADDONS_URL.format(version=version, addon=addon)
        if release:
            text, origin = (release / "samples" / "addons" / f"{addon}.yaml").read_text(), \
                f"{release}/samples/addons/{addon}.yaml (your Istio release folder)"
        elif cached_path(url).is_file() or module is None:
            try:
                text, origin = fetch(url)
            except SourceError as error:
                found.missing.append(f"Istio add-on {addon}: {error}")
                continue
        else:
            path = module / "samples" / "addons" / f"{addon}.yaml"
            text = path.read_text()
            origin = f"Go module cache: istio.io/istio@ISTIO_SOURCE_VERSION samples/addons/{addon}.yaml"
            note = ("Istio add-ons: read from the Go module cache (istio.io/istio at ISTIO_SOURCE_VERSION, "
                    "the release branch) instead of the release download")
            if note not in found.notes:
                found.notes.append(note)
        for ref in images_in_yaml(text):
            found.add(ref, f"Istio add-on {addon}: {origin}")


def source_metrics_server(found: ImageList, versions: dict[str, str]) -> None:
    url = lab_function(3, "metrics_server_manifest")
    try:
        text, origin = fetch(url)
    except SourceError as error:
        # The release's components.yaml is kustomize's render of the module's release overlay.
        local = _release_file(url)
        if local is None:
            raise error
        text = local.read_text()
        origin = "Go module sigs.k8s.io/metrics-server@METRICS_SERVER_VERSION, kubectl kustomize manifests/overlays/release"
        found.notes.append(f"metrics-server: {url} could not be fetched; rendered its release overlay from the Go module")
    for ref in images_in_yaml(text):
        found.add(ref, f"metrics-server (level 3): {origin}")


def _release_file(url: str) -> Path | None:
    """The file ``url`` serves, made from its pinned Go module (workshop/sim/releases.py), or None."""
    try:
        from workshop.sim.releases import ReleaseError, release_file

        return release_file(url)
    except (ImportError, ReleaseError):
        return None


def source_argocd(found: ImageList, versions: dict[str, str]) -> None:
    url = lab_function(4, "argocd_manifest")
    local = None if cached_path(url).is_file() else _release_file(url)
    if local is None:
        text, origin = fetch(url)
    else:
        text = local.read_text()
        origin = f"{local} (from the Go module github.com/argoproj/argo-cd/v3, the same install.yaml)"
        found.notes.append("Argo CD: install.yaml read from the Go module's copy (workshop/sim/releases.py), not downloaded")
    for ref in images_in_yaml(text):
        found.add(ref, f"Argo CD (level 4): {origin}")


def knative_release_files() -> list[tuple[str, str]]:
    """(repository, file) of every `release_url` install_knative applies, from level 6's lab.sh."""
    text = (LAB[6] / "lab.sh").read_text()
    body = re.search(r"^install_knative\(\) \{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    if not body:
        raise SourceError(f"labs/{LAB[6].name}/lab.sh has no install_knative function")
    return re.findall(r"release_url (\S+) (\S+)\)", body.group(1))


KNATIVE_LABEL = "Knative (level 6)"


def source_knative(found: ImageList, versions: dict[str, str]) -> None:
    """Knative's release manifests name images by digest (ko builds them): no source here holds
    them, only the release URL. Writing the committed list, the URL is named instead."""
    for repository, name in knative_release_files():
        url = lab_function(6, f"release_url {repository} {name}")
        if found.defer_urls:
            found.manifests.append(Manifest(url, KNATIVE_LABEL))
            continue
        try:
            text, origin = fetch(url)
        except SourceError as error:
            found.missing.append(f"Knative {name}: {error}")
            continue
        for ref in images_in_yaml(text):
            found.add(ref, f"{KNATIVE_LABEL}: {origin}")


SOURCES: list[tuple[str, Callable[[ImageList, dict[str, str]], None]]] = [
    ("versions.env", source_versions),
    ("Istio install", source_istio_install),
    ("Istio add-ons", source_istio_addons),
    ("metrics-server", source_metrics_server),
    ("Argo CD", source_argocd),
    ("Knative", source_knative),
]


def image_list(sources=None, versions: dict[str, str] | None = None, defer_urls: bool = False) -> ImageList:
    """The images read from the pinned sources (needs Go or the downloads: what `make preload-images` runs)."""
    versions = versions or all_versions()
    found = ImageList(defer_urls=defer_urls)
    for label, source in sources or SOURCES:
        try:
            source(found, versions)
        except SourceError as error:
            found.missing.append(f"{label}: {error}")
        except (OSError, subprocess.SubprocessError) as error:
            found.missing.append(f"{label}: {error}")
    return found


# --- The container engine ----------------------------------------------------------------

def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def kind_cluster_exists() -> bool:
    """Is there a kind cluster `workshop`? Asks kind (which reads its node containers), changes nothing."""
    if not shutil.which("kind"):
        return False
    status, output = run(["kind", "get", "clusters"], COMMAND_TIMEOUT)
    return status == 0 and KIND_CLUSTER in output.split()


def pull_command(engine: EngineInfo, ref: str) -> list[str]:
    """Pull the kind nodes' platform only: a multi-platform index pulled whole is what
    Docker's containerd image store then saves with missing layers (kind issue 3795)."""
    return [engine.name, "pull", "--platform", engine.platform, ref]


def load_commands(engine: EngineInfo, ref: str, archive: Path) -> list[list[str]]:
    """Save the nodes' platform to an archive, then `kind load image-archive` it.

    Never `kind load docker-image`: it saves every platform of the index and imports them with
    `ctr import --all-platforms`, which fails `content digest … not found` with Docker's
    containerd image store (the Docker Desktop default; kind issue 3795). Saving one platform
    (`docker image save --platform`, Docker 28+) is the workaround kind's own docs give. Podman
    and older Docker (no containerd store) hold only the platform pulled: a plain save is that.
    """
    save = [engine.name, "image", "save", "-o", str(archive)]
    if engine.can_save_one_platform():
        save += ["--platform", engine.platform]
    return [save + [ref], ["kind", "load", "image-archive", str(archive), "--name", KIND_CLUSTER]]


# --- The command -------------------------------------------------------------------------

def print_list(found: ImageList, out=sys.stdout) -> None:
    width = max((len(image.ref) for image in found.images), default=0)
    for image in found.images:
        mark = "" if image.load else "  (not loaded into kind)"
        print(f"{image.ref:<{width}}  {image.sources[0]}{mark}", file=out)
        for source in image.sources[1:]:
            print(f"{'':<{width}}  also: {source}", file=out)
    for note in found.notes:
        print(f"note: {note}", file=out)
    for missing in found.missing:
        print(f"MISSING: {missing}", file=out)
    print(f"preload-list: images={len(found.images)} missing_sources={len(found.missing)}", file=out)


def preload(found: ImageList, engine: EngineInfo, dry_run: bool = False, load: bool | None = None,
            pull_timeout: float = PULL_TIMEOUT, out=sys.stdout) -> int:
    """Pull each image (skipping those present), then `kind load` them; one summary line; 0 if all went well."""
    started = time.monotonic()
    total = len(found.images)
    counts = {"pulled": 0, "present": 0, "failed": 0, "loaded": 0}
    failed: list[str] = []
    print(f"preload: engine {engine.name}, platform {engine.platform} (the kind nodes')", file=out)
    for note in found.notes:
        print(f"note: {note}", file=out)
    for missing in found.missing:
        print(f"MISSING: {missing} (its images are not in the list)", file=out)
    for number, image in enumerate(found.images, start=1):
        step = f"[{number}/{total}]"
        if dry_run:
            print(f"{step} {' '.join(pull_command(engine, image.ref))}", file=out)
            continue
        if run([engine.name, "image", "inspect", image.ref], COMMAND_TIMEOUT)[0] == 0:
            counts["present"] += 1
            print(f"{step} present {image.ref}", file=out, flush=True)
            continue
        print(f"{step} pulling {image.ref}", file=out, flush=True)
        status, output = run(pull_command(engine, image.ref), pull_timeout)
        if status == 0:
            counts["pulled"] += 1
        else:
            counts["failed"] += 1
            failed.append(image.ref)
            print(f"{step} FAILED {image.ref}: {last_line(output)}", file=out, flush=True)

    to_load = [image for image in found.images if image.load and image.ref not in failed]
    if load is None:
        load = kind_cluster_exists()
        if not load:
            print(f"kind cluster `{KIND_CLUSTER}` not found: nothing loaded into it (run `make cluster`, "
                  "then `make preload` again to load the images).", file=out)
    if load and to_load:
        from workshop.kubecontext import guard

        # `kind load` writes into the nodes of `workshop` only: the guard checks that its context is local.
        if not dry_run and guard(KIND_CONTEXT, out=out) != 0:
            load = False
    if load:
        with tempfile.TemporaryDirectory(prefix="preload-") as folder:
            archive = Path(folder) / "image.tar"
            for number, image in enumerate(to_load, start=1):
                commands = load_commands(engine, image.ref, archive)
                if dry_run:
                    for command in commands:
                        print(f"[load {number}/{len(to_load)}] {' '.join(command)}", file=out)
                    continue
                print(f"[load {number}/{len(to_load)}] kind load {image.ref}", file=out, flush=True)
                for command in commands:
                    status, output = run(command, pull_timeout)
                    if status != 0:
                        counts["failed"] += 1
                        failed.append(f"{image.ref} (kind load)")
                        print(f"[load {number}/{len(to_load)}] FAILED {image.ref}: {last_line(output)}", file=out)
                        break
                else:
                    counts["loaded"] += 1
                archive.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    if dry_run:
        print(f"preload: dry run, images={total} nothing was run", file=out)
        return 0
    print(f"preload: images={total} pulled={counts['pulled']} present={counts['present']} "
          f"failed={counts['failed']} loaded={counts['loaded']} seconds={seconds:.1f}", file=out)
    if failed or found.missing:
        print("preload: not everything is here. Check your network (or `" + engine.name + " login` when a registry "
              "limits anonymous pulls), then run `make preload` again: what is present is skipped.", file=out)
        return 1
    return 0


def read_engine(name: str | None, platform: str | None) -> EngineInfo | str:
    """The engine to pull with and the nodes' platform; a one-line error when there is none."""
    if name is None:
        choice = choose_engine()
        if choice.name is None:
            return (f"no container engine answers ({choice.why}): start Docker (or install Podman) as level 0 "
                    "shows, then run `make preload` again.")
        name = choice.name
    if platform:
        os_name, _, arch = platform.partition("/")
        if os_name != "linux" or not arch:
            return f"--platform {platform}: expected linux/<arch>, e.g. linux/arm64"
        return EngineInfo(name, None, None, arch, "")
    try:
        return engine_info(name)
    except EngineError as error:
        return f"{name} does not say which platform its machine runs: {error}"


def write_list(path: Path) -> int:
    """`make preload-images`: read the pinned sources, write the committed list. Fails, writing
    nothing, when a source other than a preload-time URL could not be read."""
    from workshop import images_file

    found = image_list(defer_urls=True)
    for missing in found.missing:
        print(f"MISSING: {missing}", file=sys.stderr)
    if found.missing:
        print(f"preload-images: {path} not written: every source must be read (Go builds istioctl and "
              "fetches the modules: `make sim-build istioctl`).", file=sys.stderr)
        return 1
    path.write_text(images_file.render(found))
    print(f"preload-images: wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path} "
          f"images={len(found.images)} read_at_preload_time={len(found.manifests)}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    from workshop import images_file

    parser = argparse.ArgumentParser(prog="workshop preload", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the images and where each comes from; pull nothing")
    parser.add_argument("--dry-run", action="store_true", help="print the commands without running them")
    parser.add_argument("--engine", help="docker or podman (default: WORKSHOP_ENGINE, KIND_EXPERIMENTAL_PROVIDER, "
                                         "else Docker when its daemon answers, else Podman)")
    parser.add_argument("--platform", help="linux/<arch> to pull and load (default: the engine's, as kind's nodes run)")
    parser.add_argument("--no-load", action="store_true", help="pull only, even when kind cluster `workshop` exists")
    parser.add_argument("--image", action="append", default=[], metavar="REF",
                        help="also preload this image (repeatable)")
    parser.add_argument("--only", action="append", default=[], metavar="REF",
                        help="preload only this image (repeatable): skips reading the list")
    parser.add_argument("--from-sources", action="store_true",
                        help="read the pinned sources (needs Go) instead of the committed list "
                             f"{images_file.IMAGES_FILE.relative_to(REPO_ROOT)}")
    parser.add_argument("--write-list", type=Path, metavar="FILE",
                        help="read the pinned sources and write the list FILE (what `make preload-images` does)")
    parser.add_argument("--pull-timeout", type=float, default=PULL_TIMEOUT, help="seconds for one pull (default %(default)s)")
    args = parser.parse_args(argv)

    if args.write_list:
        return write_list(args.write_list)
    if args.only:
        found = ImageList()
        for ref in args.only:
            found.add(ref, "--only")
    elif args.from_sources:
        found = image_list()
    else:
        try:
            found = images_file.read()
        except images_file.ListFileError as error:
            print(f"preload: {error}", file=sys.stderr)
            return 2
    for ref in args.image:
        found.add(ref, "--image")
    if args.list:
        print_list(found)  # a source that could not be read is named (MISSING:); the list is still the answer
        return 0
    engine = read_engine(args.engine, args.platform)
    if isinstance(engine, str):
        print(f"preload: {engine}", file=sys.stderr)
        return 2
    return preload(found, engine, dry_run=args.dry_run, load=False if args.no_load else None,
                   pull_timeout=args.pull_timeout)


if __name__ == "__main__":
    sys.exit(main())
