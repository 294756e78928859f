"""Istio for the tests: istioctl built from source, ``analyze`` and ``inject``.

Level 5 runs on a real mesh (real-node sim, istiod's own webhook: workshop/sim/mesh.py and
istio_release.py), and so does level 7 (two of them: workshop/sim/multicluster.py). ``inject``
(``istioctl kube-inject``) renders what the webhook would, for tests that read a sidecar offline.

    >>> from workshop.sim import istio
    >>> istio.build_istioctl()            # minutes the first time, then instant (cached)
    >>> istio.analyze(["destination-rule-account.yaml", "virtual-service-account-v3.yaml"])
    [AnalysisMessage(code='IST0101', level='Error', ...)]     # [] when all is well
    >>> injected = istio.inject(Path("account.yaml").read_text())   # what the webhook would do

Every istioctl call gets the same inputs a real install would: the injector templates, the
values and the mesh config are rendered by this very istioctl (``istioctl manifest generate``)
and cached per version and input (a profile, or IstioOperator files like the labs').

Native sidecars, read in the pinned source (pilot/pkg/features/pilot.go,
pkg/kube/inject/webhook.go and inject.go):
- istiod reads ENABLE_NATIVE_SIDECARS, default "auto"; no profile sets it (only the
  compatibility profiles for 1.25/1.26 set "false"). In "auto" the webhook looks at the
  Nodes: native sidecars when every node's kubelet is 1.33 or newer (where the
  SidecarContainers feature went stable). On Kubernetes 1.36 or 1.37 that is always true,
  so a real install puts istio-proxy in initContainers with ``restartPolicy: Always``.
- ``istioctl kube-inject`` with --injectConfigFile has no cluster to look at: it uses native
  sidecars only when ENABLE_NATIVE_SIDECARS is "true" *in istioctl's own environment*, and
  "auto" means classic sidecars there. So ``inject()`` sets it to "true" to render what the
  webhook renders on our clusters; ``native_sidecars=False`` gives the pre-1.33 shape.
- A pod can still opt out with the annotation ``sidecar.istio.io/nativeSidecar: "false"``
  (injection-template.yaml reads it first), and that keeps working here.
"""
# Neither the demo profile nor the labs' IstioOperator files turn on Istio CNI, so Pods also
# get the istio-init init container (iptables; NET_ADMIN and NET_RAW) before istio-proxy.

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from workshop.sim.gobuild import GoBuild, build, build_tool_main, cache_dir, link
from workshop.versions import all_versions

ISTIO_MODULE = "istio.io/istio"
ISTIOCTL_PACKAGE = "istio.io/istio/istioctl/cmd/istioctl"
# The profile of istio.io's getting-started page and of Level 5 (whose IstioOperator file
# also drops the egress gateway: pass it as operator_files to get exactly that install).
PROFILE = "demo"
# Release images live there; a source build otherwise renders registry.istio.io/testing:latest.
RELEASE_HUB = "docker.io/istio"
ISTIO_NAMESPACE = "istio-system"

# What an install renders that a KWOK sim must not hold, and why (level 7's sim.py skips them).
SKIPPED_KINDS = {
    "CustomResourceDefinition":
        "the sim already has Istio's CRDs (installed from istio.io/api by the cluster fixture)",
    "MutatingWebhookConfiguration":
        "nothing answers istiod's injection webhook on the sim and its failurePolicy is Fail, so every "
        "Pod created in an injected namespace would be refused; inject() uses `istioctl kube-inject` instead",
    "ValidatingWebhookConfiguration":
        "nothing answers istiod's validation webhook on the sim (failurePolicy Ignore), so each write "
        "it matches would wait for the call to time out; analyze() validates instead",
}


class IstioError(Exception):
    """An istioctl step failed; the message says which and what to do."""


# --- Building istioctl -------------------------------------------------------------------

def _pseudo_version_revision(version: str) -> str:
    """The commit of a Go pseudo-version: its last 12 hex digits (v0.0.0-<date>-<commit>)."""
    match = re.search(r"-([0-9a-f]{12})$", version)
    return match.group(1) if match else "unknown"


def istioctl_ldflags(source_version: str, release: str | None = None) -> str:
    """The -X flags Istio's own release build sets (common/scripts/report_build_info.sh).

    ``buildVersion`` is the release (ISTIO_VERSION) the pinned release-branch commit ships as,
    and ``buildHub`` the release's hub: so `istioctl version` says what a downloaded istioctl
    says (lab.sh's find_istioctl looks for it), and `manifest generate` renders the release's
    images (hub/tag come from these two). The status stays "Modified" because we swap four
    dependencies (see istioctl_spec); buildTag names the exact source commit.
    """
    package = "istio.io/istio/pkg/version"
    values = {
        "buildVersion": release or all_versions()["ISTIO_VERSION"],
        "buildGitRevision": _pseudo_version_revision(source_version),
        "buildStatus": "Modified",
        "buildTag": source_version,
        "buildHub": RELEASE_HUB,
        "buildOS": "linux" if sys.platform.startswith("linux") else sys.platform,
        "buildArch": os.uname().machine.replace("x86_64", "amd64").replace("aarch64", "arm64"),
    }
    return " ".join(f"-X {package}.{key}={value}" for key, value in values.items())


def istioctl_spec(versions: dict[str, str] | None = None) -> GoBuild:
    """istioctl from the release branch commit pinned as ISTIO_SOURCE_VERSION.

    The module proxy answers 403 for four pre-release pseudo-versions that istio's go.mod
    pins, so the wrapper module replaces them with the nearest versions it does serve:
    istio.io/api and istio.io/client-go at the release tag (v$ISTIO_VERSION, same branch),
    and go-control-plane at the versions named in versions.env (the envoy module's
    ENVOY_GO_CONTROL_PLANE_MODULE tag is the very commit istio pins, same timestamp).
    """
    versions = versions or all_versions()
    source = versions["ISTIO_SOURCE_VERSION"]
    control_plane = "github.com/envoyproxy/go-control-plane"
    return GoBuild(
        # The release in the name: a cache folder of its own (builds stamped otherwise keep theirs).
        name=f"istioctl-{versions['ISTIO_VERSION']}",
        version=source,
        requires={ISTIO_MODULE: source},
        replaces={
            "istio.io/api": f"istio.io/api {versions['ISTIO_API_MODULE']}",
            "istio.io/client-go": f"istio.io/client-go {versions['ISTIO_API_MODULE']}",
            f"{control_plane}/envoy": f"{control_plane}/envoy {versions['ENVOY_GO_CONTROL_PLANE_MODULE']}",
            f"{control_plane}/contrib": f"{control_plane}/contrib {versions['ENVOY_GO_CONTROL_PLANE_CONTRIB_MODULE']}",
        },
        binaries={"istioctl": ISTIOCTL_PACKAGE},
        ldflags=istioctl_ldflags(source, versions['ISTIO_VERSION']),
        inherit_go_directive=ISTIO_MODULE,
    )


MESH_PACKAGES = {
    "pilot-discovery": "istio.io/istio/pilot/cmd/pilot-discovery",
    "pilot-agent": "istio.io/istio/pilot/cmd/pilot-agent",
}


def mesh_spec(versions: dict[str, str] | None = None) -> GoBuild:
    """istiod (pilot-discovery) and the sidecar's agent (pilot-agent) of the real-node mesh.

    The very module graph, replaces and flags of istioctl_spec, under its own name so
    istioctl's cache entry stays as it is (the Go build cache shares the compiled packages).
    """
    base = istioctl_spec(versions)
    return GoBuild(name=base.name.replace("istioctl", "istio-mesh"), version=base.version, requires=base.requires, replaces=base.replaces,
                   binaries=dict(MESH_PACKAGES), ldflags=base.ldflags,
                   inherit_go_directive=base.inherit_go_directive)


def build_istioctl(log=None) -> Path:
    """Build istioctl (or find it in the cache), link it as .bin/istioctl, return its path."""
    spec = istioctl_spec()
    path = build(spec, log=log)["istioctl"]
    link({"istioctl": path})
    return path


@functools.cache
def istioctl_binary() -> Path:
    """The cached istioctl, built first if needed (looked up once per process: it asks `go`)."""
    return build_istioctl(log=lambda message: print(message, file=sys.stderr, flush=True))


def run_istioctl(args: list[str], *, input: str | None = None, extra_env: dict[str, str] | None = None,
                 ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    """Run istioctl; IstioError (with its stderr) on an unexpected exit code."""
    env = dict(os.environ)
    # Files only: never let a developer's KUBECONFIG leak into an offline command.
    env.pop("KUBECONFIG", None)
    env.update(extra_env or {})
    command = [str(istioctl_binary()), *args]
    try:
        result = subprocess.run(command, input=input, capture_output=True, text=True, env=env, timeout=300)
    except subprocess.TimeoutExpired:
        raise IstioError(f"`istioctl {' '.join(args[:2])}` did not finish in 300 s (is it waiting for a cluster?)") from None
    if result.returncode not in ok_codes:
        detail = result.stderr.strip() or result.stdout.strip() or "no output"
        raise IstioError(f"`istioctl {' '.join(args[:2])}` failed (exit {result.returncode}): {detail}")
    return result


# --- istioctl analyze --------------------------------------------------------------------

@dataclass(frozen=True)
class AnalysisMessage:
    """One finding of ``istioctl analyze``: IST0101 Error "Referenced host not found ..."."""

    code: str
    level: str  # Error, Warning or Info
    message: str
    origin: str  # the resource, e.g. "VirtualService default/account"
    reference: str  # where, e.g. "virtual-service-account.yaml:18" (may be empty)

    def __str__(self) -> str:
        where = f" at {self.reference}" if self.reference else ""
        return f"{self.level} [{self.code}] {self.origin}{where}: {self.message}"


def analyze(paths: list[str | Path]) -> list[AnalysisMessage]:
    """``istioctl analyze --use-kube=false`` on files (or folders): every message, Info and up.

    The files are analyzed together (every namespace), so a VirtualService can find the
    DestinationRule of its subsets when both are given. A file analyze cannot parse raises IstioError (with JSON output,
    istioctl itself would only print it and exit 0).
    """
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise IstioError(f"istioctl analyze: no such file: {', '.join(missing)}")
    if not paths:
        raise IstioError("istioctl analyze: give at least one file or folder to analyze.")
    # --all-namespaces: otherwise analyze looks at namespace "default" only, and silently
    # passes a broken VirtualService of namespace "workshop".
    result = run_istioctl(["analyze", "--use-kube=false", "--all-namespaces", "--output=json", *map(str, paths)])
    if "Error(s) adding files" in result.stderr:
        # "* error processing broken.yaml[0]: failed converting YAML to JSON: ..." names the file.
        reasons = [line.strip(" \t*") for line in result.stderr.splitlines() if "error processing" in line]
        raise IstioError(f"istioctl analyze could not parse a file: {reasons[-1] if reasons else result.stderr.strip()}")
    return [
        AnalysisMessage(code=item.get("code", ""), level=item.get("level", ""), message=item.get("message", ""),
                        origin=item.get("origin", ""), reference=item.get("reference", ""))
        for item in json.loads(result.stdout or "[]")
    ]


# --- Rendering an install ----------------------------------------------------------------

def _install_flags(profile: str, operator_files: Sequence[Path], versions: dict[str, str]) -> list[str]:
    # IstioOperator files name their own profile; without files, --set profile chooses one.
    choice = [arg for path in operator_files for arg in ("-f", str(path))] or ["--set", f"profile={profile}"]
    # The images of the pinned release: what a released istioctl of ISTIO_VERSION renders.
    return [*choice, "--set", f"hub={RELEASE_HUB}", "--set", f"tag={versions['ISTIO_VERSION']}"]


def render_install(profile: str = PROFILE, operator_files: Sequence[Path] = ()) -> list[dict]:
    """Every object ``istioctl manifest generate`` renders (cached per version and input).

    For ``profile``, or for IstioOperator files (what ``istioctl install -f FILE`` installs);
    a file istioctl refuses (an unknown field, say) raises IstioError with its reason.
    """
    versions = all_versions()
    flags = _install_flags(profile, operator_files, versions)
    inputs = [versions["ISTIO_SOURCE_VERSION"], flags, *(Path(path).read_text() for path in operator_files)]
    key = hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:12]
    label = "-".join(Path(path).stem for path in operator_files) or profile
    folder = cache_dir() / "istio" / f"{label}-{key}"
    # manifest.yaml to read; manifest.json to load again fast (a megabyte of CRDs is slow YAML).
    cached = folder / "manifest.json"
    if not cached.is_file():
        text = run_istioctl(["manifest", "generate", *flags]).stdout
        objects = [item for item in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if item]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.yaml").write_text(text)
        temporary = cached.with_suffix(".partial")
        temporary.write_text(json.dumps(objects))
        temporary.replace(cached)
    return json.loads(cached.read_text())


def _config_map(objects: list[dict], name: str) -> dict[str, str]:
    for item in objects:
        if item.get("kind") == "ConfigMap" and item["metadata"]["name"] == name:
            return item["data"]
    raise IstioError(f"`istioctl manifest generate` rendered no ConfigMap {name!r}: is the profile missing istiod?")


def injector_files(profile: str = PROFILE, operator_files: Sequence[Path] = ()) -> dict[str, Path]:
    """The files kube-inject needs, as istiod would read them from its ConfigMaps.

    ``config`` and ``values`` of istio-sidecar-injector, ``mesh`` of istio: written next to
    the cached manifest, once.
    """
    objects = render_install(profile, operator_files)
    injector, mesh = _config_map(objects, "istio-sidecar-injector"), _config_map(objects, "istio")
    folder = cache_dir() / "istio" / "inject" / hashlib.sha256(
        json.dumps([injector, mesh], sort_keys=True).encode()).hexdigest()[:12]
    files = {"config": folder / "inject-config.yaml", "values": folder / "values.json", "mesh": folder / "mesh.yaml"}
    if not all(path.is_file() for path in files.values()):
        folder.mkdir(parents=True, exist_ok=True)
        files["config"].write_text(injector["config"])
        files["values"].write_text(injector["values"])
        files["mesh"].write_text(mesh["mesh"])
    return files


# --- Injection ---------------------------------------------------------------------------

def inject(manifest_yaml: str, *, native_sidecars: bool = True, profile: str = PROFILE,
           operator_files: Sequence[Path] = ()) -> str:
    """``istioctl kube-inject`` of ``manifest_yaml``: the Pods the pinned Istio's webhook would make.

    ``native_sidecars=True`` is what istiod does on Kubernetes 1.33 and newer (see the module
    docstring); False gives the classic shape (istio-proxy among ``containers``).
    """
    files = injector_files(profile, operator_files)
    result = run_istioctl(
        # Without --revision, this istioctl asks a cluster for the default revision and waits
        # forever when there is none; "default" is what it falls back to (rendered as rev "").
        ["kube-inject", "--revision=default", "--filename=-", f"--injectConfigFile={files['config']}",
         f"--valuesFile={files['values']}", f"--meshConfigFile={files['mesh']}"],
        input=manifest_yaml,
        extra_env={"ENABLE_NATIVE_SIDECARS": "true" if native_sidecars else "false"},
    )
    return result.stdout


# --- Command line: `python -m workshop.sim.istio build` ----------------------------------

def main(argv: list[str] | None = None) -> int:
    return build_tool_main("istioctl", build_istioctl, istioctl_spec(), "the Istio tool tests", argv)


if __name__ == "__main__":
    sys.exit(main())
