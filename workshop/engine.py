"""The container engine kind runs on: which one, and what its machine has.

`make preload` and `make doctor` ask the same questions and must get the same answers:

- **which engine**: ``WORKSHOP_ENGINE`` when set, else kind's own ``KIND_EXPERIMENTAL_PROVIDER``,
  else Docker when its daemon answers, else Podman when it answers;
- **what kind will use**: kind v0.33 itself takes ``KIND_EXPERIMENTAL_PROVIDER``, else Docker
  whenever ``docker -v`` says "Docker version" (answering or not), else Podman
  (sigs.k8s.io/kind pkg/cluster/provider.go ``DetectNodeProvider``). When the two differ,
  ``make cluster`` would run on an engine that does not answer: doctor says so;
- **what the engine's machine has**: CPUs, memory and architecture as the engine reports them
  (``docker info``: ``NCPU``, ``MemTotal``, ``Architecture``; ``podman info``: ``host.cpus``,
  ``host.memTotal``, ``host.arch``). On macOS and Windows that is Docker Desktop's or the
  Podman machine's VM, where the kind nodes run, not the laptop.

    >>> normalise_arch("aarch64"), normalise_arch("x86_64"), normalise_arch("arm64")
    ('arm64', 'amd64', 'arm64')
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, replace
from typing import Callable, Mapping

from workshop import REPO_ROOT

ENGINES = ("docker", "podman")
COMMAND_TIMEOUT = 20.0   # seconds: an engine that hangs (a stopped VM) must not hang preload or doctor
# Docker's `image save --platform` needs API 1.48, Docker Engine 28.0 (docs.docker.com: docker image save).
DOCKER_SAVE_PLATFORM_SINCE = 28
ARCH_NAMES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

Runner = Callable[[list[str], float], tuple[int, str]]


def run(command: list[str], timeout: float = COMMAND_TIMEOUT, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """Run ``command``; (exit status, stdout+stderr). 127 missing, 124 timed out (its process group killed)."""
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env=dict(env) if env is not None else engine_env())
    except OSError as error:
        return 127, str(error)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return 124, f"no answer after {timeout:.0f} s (timed out)"
    return process.returncode, output


def engine_env() -> dict[str, str]:
    """Podman in this repository's sandbox needs its containers.conf (scripts/containers/lib.sh)."""
    env = dict(os.environ)
    conf = REPO_ROOT / ".cache" / "containers" / "containers.conf"
    if "CONTAINERS_CONF" not in env and conf.is_file():
        env["CONTAINERS_CONF"] = str(conf)
    return env


def normalise_arch(arch: str) -> str:
    """The architecture as image platforms name it (``linux/<arch>``)."""
    return ARCH_NAMES.get(arch.strip().lower(), arch.strip().lower())


# --- Which engine ------------------------------------------------------------------------

def identify(name: str, runner: Runner = run) -> str | None:
    """Which engine the command ``name`` really is, asked as kind asks (``-v``): podman-docker's
    ``docker`` is Podman. None when it is not installed or says something else."""
    if not shutil.which(name) and os.sep not in name:
        return None
    status, output = runner([name, "-v"], COMMAND_TIMEOUT)
    first = output.strip().splitlines()[0] if output.strip() else ""
    if status != 0:
        return None
    if first.startswith("Docker version"):
        return "docker"
    if first.lower().startswith("podman version"):
        return "podman"
    return None


def answers(name: str, runner: Runner = run) -> bool:
    return runner([name, "info", "--format", "json"], COMMAND_TIMEOUT)[0] == 0


def kind_provider(env: Mapping[str, str] = os.environ, runner: Runner = run) -> str | None:
    """The engine kind will create the cluster on (kind v0.33's DetectNodeProvider)."""
    wanted = env.get("KIND_EXPERIMENTAL_PROVIDER", "")
    if wanted in ENGINES:
        return wanted
    for name in ENGINES:
        if identify(name, runner) == name:
            return name
    return None


@dataclass(frozen=True)
class Choice:
    name: str | None       # the engine to use, None when none answers
    why: str               # one phrase: how it was chosen, or why none was


def choose_engine(env: Mapping[str, str] = os.environ, runner: Runner = run) -> Choice:
    """WORKSHOP_ENGINE, else KIND_EXPERIMENTAL_PROVIDER, else Docker when its daemon answers, else Podman."""
    if env.get("WORKSHOP_ENGINE"):
        return Choice(env["WORKSHOP_ENGINE"], "WORKSHOP_ENGINE")
    if env.get("KIND_EXPERIMENTAL_PROVIDER") in ENGINES:
        return Choice(env["KIND_EXPERIMENTAL_PROVIDER"], "KIND_EXPERIMENTAL_PROVIDER")
    installed = [name for name in ENGINES if identify(name, runner) == name]
    for name in installed:
        if answers(name, runner):
            return Choice(name, "its daemon answers" if name == "docker" else "it answers")
    if installed:
        return Choice(None, f"{' and '.join(installed)} installed, but none answers")
    return Choice(None, "neither Docker nor Podman is installed")


# --- What the engine's machine has --------------------------------------------------------

@dataclass(frozen=True)
class EngineInfo:
    name: str                # the command run: docker, podman (or a path to one)
    cpus: int | None
    memory_bytes: int | None
    arch: str                # amd64, arm64, ...: the kind nodes' platform is linux/<arch>
    version: str             # the server's (Docker) or the engine's (Podman) version
    kind: str = ""           # docker or podman, whatever the command is called (default: name)

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", self.name)

    @property
    def platform(self) -> str:
        return f"linux/{self.arch}"

    def can_save_one_platform(self) -> bool:
        """Can ``<engine> image save --platform`` write one platform only? Podman saves the one it pulled."""
        if self.kind != "docker":
            return False
        try:
            return int(self.version.split(".")[0]) >= DOCKER_SAVE_PLATFORM_SINCE
        except ValueError:
            return False


class EngineError(Exception):
    """The engine could not be read; the message says why."""


def parse_docker_info(text: str) -> EngineInfo:
    """``docker info --format json``: NCPU, MemTotal (bytes), Architecture (``uname -m``), ServerVersion."""
    data = _json(text, "docker info")
    if not data.get("ServerVersion") or "NCPU" not in data:
        errors = "; ".join(data.get("ServerErrors") or []) or "no server section"
        raise EngineError(f"Docker's daemon did not answer ({errors})")
    return EngineInfo("docker", int(data["NCPU"]), int(data.get("MemTotal") or 0) or None,
                      normalise_arch(data.get("Architecture", "")), str(data["ServerVersion"]))


def parse_podman_info(text: str) -> EngineInfo:
    """``podman info --format json``: host.cpus, host.memTotal (bytes), host.arch, version.Version."""
    data = _json(text, "podman info")
    host = data.get("host") or {}
    if "cpus" not in host or "arch" not in host:
        raise EngineError("podman info has no host section")
    return EngineInfo("podman", int(host["cpus"]), int(host.get("memTotal") or 0) or None,
                      normalise_arch(host["arch"]), str((data.get("version") or {}).get("Version", "")))


def _json(text: str, what: str) -> dict:
    # Docker prints warnings (e.g. "WARNING: bridge-nf-call-iptables is disabled") after the JSON.
    start = text.find("{")
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:]) if start >= 0 else (None, 0)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise EngineError(f"`{what} --format json` did not print JSON: {text.strip()[:200] or 'no output'}")
    return data


def engine_info(name: str, runner: Runner = run) -> EngineInfo:
    """Ask engine ``name`` what its machine has (CPUs, memory, architecture)."""
    status, output = runner([name, "info", "--format", "json"], COMMAND_TIMEOUT)
    kind = identify(name, runner) or os.path.basename(name)
    if status != 0 and "{" not in output:
        raise EngineError(f"`{name} info` failed: {output.strip().splitlines()[-1] if output.strip() else status}")
    info = parse_podman_info(output) if kind == "podman" else parse_docker_info(output)
    return replace(info, name=name)
