"""Build Go binaries from upstream modules into a per-version cache, and link them into ``.bin/``.

Why a *wrapper module*: ``go install mod/cmd@version`` refuses a module whose go.mod has
``replace`` directives (etcd, Kubernetes and Istio all have some). Go ignores the replaces
of a *dependency*, so we generate a tiny main module that requires the upstream module,
adds the replaces it needs itself, and builds the upstream ``main`` packages by import path.
The wrapper's go.mod is generated in the cache, never committed: versions live only in
versions.env.

    >>> from workshop.sim.gobuild import GoBuild, build, link
    >>> spec = GoBuild(name="kwok", version=KWOK_VERSION,
    ...                requires={"sigs.k8s.io/kwok": KWOK_VERSION},
    ...                binaries={"kwok": "sigs.k8s.io/kwok/cmd/kwok"})
    >>> paths = build(spec)   # minutes the first time, instant once cached
    >>> link(paths)           # .bin/kwok -> $CACHE/bin/kwok@<version>/kwok

Cache layout (``$WORKSHOP_CACHE``, default ``~/.cache/microservices-workshop``)::

    src/<name>@<version>/go.mod      generated wrapper module
    bin/<name>@<version>/<binary>    built binaries, plus .complete (a stamp of the spec)
    locks/<name>@<version>.lock      so two builds of the same thing never race
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from workshop import REPO_ROOT

BIN_LINK_DIR = REPO_ROOT / ".bin"
# Other builds run beside ours on a 2-core machine: keep Go's parallelism modest.
GO_BUILD_PARALLELISM = os.environ.get("WORKSHOP_GO_PARALLELISM", "2")


class BuildError(Exception):
    """A build cannot run or failed; the message is one sentence saying what to do."""


def cache_dir() -> Path:
    """The cache outside the repo, shared by every checkout and kept between runs."""
    return Path(os.environ.get("WORKSHOP_CACHE") or Path.home() / ".cache" / "microservices-workshop")


@dataclass(frozen=True)
class GoBuild:
    """What to build: one wrapper module, one or more ``main`` packages.

    ``binaries`` maps each output name to the import path of its main package; the name
    must be the last element of that path (that is what ``go build -o DIR/`` writes).
    ``replaces`` maps a module path to ``"module version"`` (it applies to every version).
    ``files`` are extra source files for the wrapper itself (say, a ``main.go``).
    ``inherit_go_directive`` names a required module whose ``go`` and ``godebug`` lines
    the wrapper copies, so the binaries get the language and GODEBUG defaults upstream ships.
    """

    name: str
    version: str
    requires: dict[str, str]
    binaries: dict[str, str]
    replaces: dict[str, str] = field(default_factory=dict)
    ldflags: str = ""
    files: dict[str, str] = field(default_factory=dict)
    inherit_go_directive: str | None = None

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def fingerprint(self) -> str:
        """Changes whenever anything that shapes the binaries changes (then we rebuild)."""
        text = json.dumps(self.__dict__, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def go_binary() -> str:
    """Path of the ``go`` command, or a one-sentence BuildError saying how to get it."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "The Go toolchain (`go`) is not on PATH, and the sim cluster is built from source: "
            "install Go (https://go.dev/doc/install) and run `make sim-build` again."
        )
    return go


def go_env() -> dict[str, str]:
    """Environment of every go command: no workspace, no cgo (static binaries), no VCS stamping."""
    env = dict(os.environ)
    env.update(GOWORK="off", CGO_ENABLED="0", GOFLAGS="-mod=mod -buildvcs=false")
    return env


def module_info(module: str, version: str) -> dict:
    """``go mod download -json module@version``: Dir (unpacked source), GoMod, Version, ...

    Answers are remembered in ``$CACHE/modules.json`` while their folders exist: asking
    go costs a process start each time, and a warm `make sim-up` asks several.
    """
    memo_file = cache_dir() / "modules.json"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    known = memo.get(f"{module}@{version}")
    if known and Path(known.get("Dir", "")).is_dir() and Path(known.get("GoMod", "")).is_file():
        return known
    info = _download(module, version)
    memo[f"{module}@{version}"] = {key: info[key] for key in ("Path", "Version", "Dir", "GoMod") if key in info}
    temporary = memo_file.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(memo, indent=1, sort_keys=True))
    os.replace(temporary, memo_file)  # atomic: parallel builds never read half a file
    return info


def _download(module: str, version: str) -> dict:
    result = subprocess.run(
        [go_binary(), "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True, text=True, env=go_env(), cwd=cache_dir_ready(),
    )
    try:
        info = json.loads(result.stdout)
    except json.JSONDecodeError:
        info = {}
    if result.returncode != 0 or "Dir" not in info:
        detail = info.get("Error") or result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise BuildError(f"Could not download Go module {module}@{version}: {detail if isinstance(detail, str) else detail[0]}")
    return info


def module_dir(module: str, version: str) -> Path:
    """The read-only source folder of a module in the Go module cache (downloaded if needed)."""
    return Path(module_info(module, version)["Dir"])


def cache_dir_ready() -> Path:
    path = cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_built(spec: GoBuild) -> bool:
    out = cache_dir() / "bin" / spec.key
    stamp = out / ".complete"
    return (
        stamp.is_file()
        and json.loads(stamp.read_text()).get("fingerprint") == spec.fingerprint()
        and all((out / name).is_file() for name in spec.binaries)
    )


def built_paths(spec: GoBuild) -> dict[str, Path]:
    out = cache_dir() / "bin" / spec.key
    return {name: out / name for name in spec.binaries}


@contextmanager
def _lock(spec: GoBuild):
    locks = cache_dir_ready() / "locks"
    locks.mkdir(exist_ok=True)
    with open(locks / f"{spec.key}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def render_go_mod(spec: GoBuild) -> str:
    """The wrapper's go.mod: generated from the spec, so no version is ever typed in the repo."""
    lines = [
        "// Generated by workshop/sim/gobuild.py from versions.env: do not edit.",
        f"module workshop.local/{spec.name}",
        "",
    ]
    if spec.inherit_go_directive:
        upstream = Path(module_info(spec.inherit_go_directive, spec.requires[spec.inherit_go_directive])["GoMod"])
        for line in upstream.read_text().splitlines():
            if line.startswith(("go ", "godebug ")):
                lines.append(line)
        lines.append("")
    lines.append("require (")
    lines += [f"\t{module} {version}" for module, version in sorted(spec.requires.items())]
    lines.append(")")
    if spec.replaces:
        lines += ["", "replace ("]
        lines += [f"\t{module} => {target}" for module, target in sorted(spec.replaces.items())]
        lines.append(")")
    return "\n".join(lines) + "\n"


def build(spec: GoBuild, log=None) -> dict[str, Path]:
    """Build ``spec`` unless the cache already has it; return ``{binary name: path}``."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    if is_built(spec):
        return built_paths(spec)
    for name, package in spec.binaries.items():
        if package.rstrip("/").rsplit("/", 1)[-1] != name:
            raise ValueError(f"binary {name!r} must be the last element of its package path {package!r}")
    go = go_binary()
    with _lock(spec):
        if is_built(spec):  # another process built it while we waited for the lock
            return built_paths(spec)
        src = cache_dir() / "src" / spec.key
        if src.exists():
            shutil.rmtree(src)
        src.mkdir(parents=True)
        (src / "go.mod").write_text(render_go_mod(spec))
        for relative, text in spec.files.items():
            (src / relative).write_text(text)
        out = cache_dir() / "bin" / spec.key
        staging = out.with_name(out.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        command = [go, "build", "-p", GO_BUILD_PARALLELISM, "-trimpath", "-ldflags", f"-s -w {spec.ldflags}".strip(),
                   "-o", f"{staging}/", *spec.binaries.values()]
        log(f"sim-build: building {', '.join(spec.binaries)} ({spec.key}) in {src} ...")
        started = time.monotonic()
        # Go prints "go: downloading ..." lines to stderr: let them through, so a long cold build shows progress.
        result = subprocess.run(command, cwd=src, env=go_env())
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise BuildError(f"`go build` of {spec.key} failed (exit {result.returncode}) after {seconds:.0f} s: see the errors above.")
        (staging / ".complete").write_text(json.dumps({"fingerprint": spec.fingerprint(), "seconds": round(seconds, 1)}))
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        log(f"sim-build: built {spec.key} in {seconds:.0f} s")
    return built_paths(spec)


def build_seconds(spec: GoBuild) -> float | None:
    """How long the cached build took (recorded at build time), or None if not built."""
    stamp = cache_dir() / "bin" / spec.key / ".complete"
    return json.loads(stamp.read_text()).get("seconds") if stamp.is_file() else None


def link(paths: dict[str, Path], bin_dir: Path = BIN_LINK_DIR) -> None:
    """Point ``bin_dir/<name>`` at each built binary (atomically: a running shell never sees it missing)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, target in paths.items():
        link_path = bin_dir / name
        temporary = bin_dir / f".{name}.tmp-link"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target)
        os.replace(temporary, link_path)


def build_tool_main(tool: str, build_tool, spec: GoBuild, skipped: str, argv: list[str] | None = None) -> int:
    """`python -m workshop.sim.<tool> build [--for-tests]`: build ``tool`` (cached), link it into .bin/.

    With --for-tests a build that cannot run warns that ``skipped`` will be skipped and exits 0,
    unless CI=true (CI must not skip)."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m workshop.sim.{tool}",
                                     description=f"Build {tool} from its Go module (cached) and link it into .bin/.")
    parser.add_argument("action", choices=["build"])
    parser.add_argument("--for-tests", action="store_true",
                        help=f"when the build cannot run, warn and exit 0 unless CI=true ({skipped} then skip)")
    args = parser.parse_args(argv)
    try:
        path = build_tool()
    except BuildError as error:
        print(f"{tool} build: {error}", file=sys.stderr)
        if args.for_tests and os.environ.get("CI", "").lower() != "true":
            print(f"{tool} build: WARNING: no {tool}, so {skipped} will be SKIPPED.", file=sys.stderr)
            return 0
        return 2
    seconds = build_seconds(spec)
    print(f"{tool} ready: .bin/{tool} -> {path}" + (f" (first build took {seconds:.0f} s)" if seconds else ""))
    return 0
