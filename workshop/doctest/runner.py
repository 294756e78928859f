"""Run lab pages: every command block, in page order, against a cluster.

    >>> from workshop.doctest.pages import lab_pages
    >>> from workshop.doctest.runner import run_page
    >>> result = run_page(lab_pages([2])[0], mode="sim", kubeconfig=Path(".sim/kubeconfig"))  # doctest: +SKIP
    >>> result.ok, result.summary()                                                            # doctest: +SKIP

For each block of a page:

- a block with a marker the mode does not run is counted as ``marked`` (never run here),
- a block that cannot run and has no marker FAILS (``not-runnable``): never silently skipped;
  so does a block, marked or not, whose commands bash cannot even parse (``bash -n``),
- otherwise each command runs in the page's one bash session (cwd the repo root to start
  with; PATH with .bin and .venv/bin first; KUBECONFIG the cluster's), and the block's output
  (every command's, in order) must match the expected ``text`` block under it. A command
  that exits non-zero fails the block, unless the page shows the outcome: an expected block
  with at least one concrete line that matches (a page may show a refusal on purpose).

On a real-node sim (``real_sim=N``), the page's `kind` is a stand-in for kind's CLI
(kind_shim: `kind load docker-image` into the nodes) and its HTTPS requests go through the
local release mirror (workshop/sim/mirror.py), which serves known release URLs and nothing else.
With ``mesh=True`` (level 5, on a sim prepared by workshop/sim/mesh.py ``prepare_for_lab``) the
page's shell has what a learner has after Istio's download: ISTIO_DIR and its bin/ first on PATH.

After a failure the remaining steps are skipped but the Cleanup section still runs, and the
cluster must be left exactly as found (``snapshot``), failure or not; for a page with no
cluster (level 1), what compose made on the container engine (``engine_snapshot``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workshop import REPO_ROOT
from workshop.doctest import engine_snapshot, snapshot
from workshop.doctest import markers as marker_labels
from workshop.doctest.matcher import ELLIPSIS, equivalents, mismatch
from workshop.doctest.pages import Block, Page
from workshop.doctest.shell import DEFAULT_TIMEOUT, Shell

MODES = ("sim", "e2e")
# Seconds one command may take. A real cluster pulls images and starts Istio: more time.
COMMAND_TIMEOUT = {"sim": DEFAULT_TIMEOUT, "e2e": max(DEFAULT_TIMEOUT, 900.0)}
# make variables that would leak from an outer `make e2e` into a page's own `make` commands.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")


@dataclass
class BlockResult:
    block: Block
    status: str  # passed | failed | marked | not-runnable | skipped
    seconds: float = 0.0
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "not-runnable")


@dataclass
class PageResult:
    page: Page
    results: list[BlockResult] = field(default_factory=list)
    cleanup_problem: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.cleanup_problem and not any(result.failed for result in self.results)

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    def summary(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        return (f"{self.page.name}: {verdict} — {self.count('passed')} passed, {self.count('failed')} failed, "
                f"{self.count('not-runnable')} not runnable, {self.count('marked')} marked, "
                f"{self.count('skipped')} skipped, in {self.seconds:.1f} s")

    def report(self) -> str:
        lines = [self.summary()]
        for result in self.results:
            if result.failed or result.status == "skipped":
                lines.append(f"  {result.block.where} [{result.status}] {result.detail}".rstrip())
        if self.cleanup_problem:
            lines.append(f"  {self.page.name}: {self.cleanup_problem}")
        return "\n".join(lines)


def page_env(kubeconfig: Path | None, shim_dir: Path | None) -> dict[str, str]:
    """The environment a learner's terminal would have after Level 0, for this cluster."""
    env = {key: value for key, value in os.environ.items() if key not in MAKE_VARIABLES}
    front = ([str(shim_dir)] if shim_dir else []) + [str(REPO_ROOT / ".bin"), str(REPO_ROOT / ".venv" / "bin")]
    env["PATH"] = os.pathsep.join(front + [env.get("PATH", "/usr/bin:/bin")])
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    env.update({"NO_COLOR": "1", "TERM": "dumb", "PAGER": "cat"})
    return env


def docker_engine_reachable() -> bool:
    """A Docker engine answers here: DOCKER_HOST is set or its socket exists (a docker CLI alone is not enough)."""
    return bool(os.environ.get("DOCKER_HOST")) or Path("/var/run/docker.sock").exists()


CONTAINERS_LIB = REPO_ROOT / "scripts" / "containers" / "lib.sh"

# `docker` of the shim: podman, and `docker compose` is podman-compose (podman 4.3 has no
# `podman compose`; podman-compose is pinned in requirements/doctest.txt, so in .venv/bin).
# `docker compose up --wait` returns once every container is healthy; podman-compose ignores
# --wait before podman 4.6, and podman without systemd never runs a health check by itself:
# so the shim runs each container's check (`podman healthcheck run`) until it passes.
DOCKER_SHIM = """#!/usr/bin/env bash
# doctest: docker here is podman (no Docker engine on this machine); see workshop/doctest/runner.py.
shim="$(dirname "$0")"
[[ "${1:-}" == compose ]] || exec "$shim/podman" "$@"
shift
podman-compose "$@" || exit
global=()
for arg in "$@"; do [[ "$arg" == up ]] && break; global+=("$arg"); done
[[ " $* " == *" up "* && " $* " == *" --wait "* ]] || exit 0
deadline=$((SECONDS + ${DOCTEST_WAIT_SECONDS:-60}))
for id in $(podman-compose "${global[@]}" ps -q); do
  [[ -n "$("$shim/podman" container inspect --format '{{if .Config.Healthcheck}}yes{{end}}' "$id")" ]] || continue
  until "$shim/podman" healthcheck run "$id" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "docker compose up --wait: container $id is not healthy" >&2; exit 1; }
    sleep 1
  done
done
"""

# `podman` of the shim: the real one, with this machine's build options added to `build`.
# Why: no container registry answers here, so the Dockerfiles' official base image cannot be
# pulled; a local Debian base stands in for it (--build-arg BASE_IMAGE, built by
# scripts/containers/setup.sh), and pip inside a build reaches the package index only through
# the host's network, pip.conf and CA certificates. A learner's unchanged `docker build` and
# `docker compose up --build` (podman-compose calls `podman` from PATH) then build here too.
# lib.sh knows those options (host_build_args, shared with build.sh) and sets CONTAINERS_CONF.
PODMAN_SHIM = """#!/usr/bin/env bash
# doctest: podman, with this machine's build options (see workshop/doctest/runner.py).
REAL_PODMAN={real}
podman() {{ "$REAL_PODMAN" "$@"; }}  # what lib.sh calls is the real podman, not this script
# shellcheck source=/dev/null
source {lib}
if [[ "${{1:-}}" == build || "${{1:-}} ${{2:-}}" == "image build" ]]; then
  [[ "$1" == image ]] && shift
  shift
  host_build_args
  # Ours first: options the learner typed come after, and win.
  exec "$REAL_PODMAN" build "${{HOST_BUILD_ARGS[@]}}" "$@"
fi
exec "$REAL_PODMAN" "$@"
"""


def docker_shim(folder: Path) -> Path | None:
    """`docker` and `podman` scripts in ``folder`` (see DOCKER_SHIM, PODMAN_SHIM), when there is
    podman and no Docker engine (as here and in CI); None otherwise.

    Level 1's page says `docker`; podman takes the same build/run/ps/images arguments. Scripts
    rather than aliases, because scripts and make recipes ignore aliases. The folder goes first
    on PATH, so a docker CLI with no engine behind it is not used."""
    real = shutil.which("podman")
    if docker_engine_reachable() or not real:
        return None
    scripts = {"docker": DOCKER_SHIM,
               "podman": PODMAN_SHIM.format(real=shlex.quote(real), lib=shlex.quote(str(CONTAINERS_LIB)))}
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def uses_container_engine(page: Page) -> bool:
    """True for a page whose level runs no cluster, only containers (level 1): its level's
    checks grade the container engine (checks/level.yaml), so its cleanup is proved there."""
    from workshop.grading.engine import lab_target

    return lab_target(page.path.parent / "checks") == "container-engine"


def _run_block(shell: Shell, block: Block, mode: str, extra) -> str | None:
    """Run the block's commands; None if its output matched. An `eventually` block is run again,
    a second apart, until it matches or EVENTUALLY_SECONDS have passed (what a learner does when
    the old answer comes back)."""
    deadline = time.monotonic() + marker_labels.EVENTUALLY_SECONDS
    tries = 0
    while True:
        tries += 1
        outcomes = []
        for command in block.commands:
            outcomes.append(shell.run(command.text, timeout=COMMAND_TIMEOUT[mode]))
            if outcomes[-1].error:
                break
        problem = _check_output(block, outcomes, extra)
        if not problem or not block.eventually or time.monotonic() > deadline or not shell.alive:
            break
        time.sleep(1)
    if problem and block.eventually:
        problem = f"{problem}\n  (an `eventually` block: run {tries} times in {marker_labels.EVENTUALLY_SECONDS:.0f} s)"
    return problem


def runs_in(block: Block, mode: str) -> bool:
    """True if this mode runs the block: unmarked, or every marker is one the mode runs."""
    return all(marker in marker_labels.RUN_IN_MODE[mode] for marker in block.markers)


def _unknown_markers(block: Block, labels: dict[str, str]) -> list[str]:
    return [marker for marker in block.markers if marker not in labels]


def cluster_equivalents() -> list:
    """Pages show the learner's kind cluster; the tests may run on a sim cluster. Its context
    name and Kubernetes version are then the same thing as the page's."""
    from workshop.versions import all_versions

    versions = all_versions()
    return equivalents({
        "<CONTEXT>": ["kind-workshop", "workshop-sim", *[f"workshop-sim-{n}" for n in range(2, 10)]],
        "<KUBERNETES_VERSION>": [versions.get("KUBERNETES_VERSION", ""), versions.get("SIM_KUBERNETES_VERSION", "")],
    })


def _check_output(block: Block, outcomes, extra) -> str | None:
    output = "".join(outcome.output for outcome in outcomes)
    broken = next((outcome for outcome in outcomes if outcome.error), None)
    if broken:
        return f"{broken.error}; output so far:\n{_indent(output)}"
    failed = [(command, outcome) for command, outcome in zip(block.commands, outcomes) if outcome.status != 0]
    concrete = block.expected is not None and any(
        line.strip() and line.strip() != ELLIPSIS for line in block.expected.splitlines())
    problem = mismatch(block.expected, output, extra) if block.expected is not None else None
    if failed and not (concrete and problem is None):
        command, outcome = failed[0]
        first = command.text.splitlines()[0]
        status = f"`{first}` (line {command.line}) exited with status {outcome.status}"
        # The page shows an outcome: say where it differs. Otherwise show what it printed.
        return f"{status}; {problem}" if problem and concrete else f"{status}; output:\n{_indent(output)}"
    return problem


def _indent(text: str, limit: int = 60) -> str:
    lines = text.rstrip().splitlines() or ["(nothing)"]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
    return "\n".join(f"    | {line}" for line in lines)


def sim_stand_ins(workdir: Path, mode: str, real_sim: int | None, out) -> tuple[dict[str, str], object | None]:
    """On the sim: the release mirror (workshop/sim/mirror.py: a page's `make lab-4` fetches Argo CD's
    install.yaml on KWOK too), and on a real-node sim a ``kind`` stand-in in ``workdir`` (kind_shim);
    the environment they need and the mirror to stop. Nothing on a real cluster (mode e2e)."""
    if mode != "sim":
        return {}, None
    from workshop.doctest import kind_shim
    from workshop.sim.mirror import Mirror

    if real_sim is not None:
        kind_shim.write(workdir, real_sim)
    mirror = Mirror(workdir / "mirror").start()
    if mirror.problem:
        print(f"  release mirror: {mirror.problem}", file=out, flush=True)
    return mirror.env(), mirror


def run_page(page: Page, mode: str, kubeconfig: Path | None, out=sys.stdout, check_cleanup: bool = True,
             cleanup_timeout: float = 120.0, real_sim: int | None = None, mesh: bool = False) -> PageResult:
    """Run every block of ``page`` that ``mode`` runs; see the module docstring.

    ``real_sim``: the number of the real-node sim ``kubeconfig`` belongs to; the page then gets
    kind's CLI (``kind load docker-image``) and upstream release URLs through local stand-ins.
    ``mesh``: that sim is prepared for level 5 (mesh.prepare_for_lab): ISTIO_DIR and istioctl as
    after Istio's download."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    started = time.monotonic()
    labels = marker_labels.labels()
    extra = cluster_equivalents()
    result = PageResult(page)
    workdir = Path(tempfile.mkdtemp(prefix="doctest-page-"))
    docker_shim(workdir)
    stand_in_env, mirror = sim_stand_ins(workdir, mode, real_sim, out)
    env = {**page_env(kubeconfig, workdir), **stand_in_env}
    if mesh and mode == "sim":
        from workshop.sim import istio_release

        env = istio_release.learner_env(env)
    # A container page (level 1) is proved clean on the engine, a cluster page on the cluster.
    engine = uses_container_engine(page)
    try:
        before = ((engine_snapshot if engine else snapshot).take(env)) if check_cleanup else None
        _run_blocks(page, mode, env, labels, extra, result, out)
        if before is not None and engine:  # before the shim folder goes: the check uses its `docker`
            result.cleanup_problem = engine_snapshot.difference(before, env)
            if result.cleanup_problem:
                removed = engine_snapshot.remove_left(before, env)
                if removed:
                    result.cleanup_problem += f" (the runner then removed {', '.join(removed)})"
    finally:
        if mirror is not None:
            mirror.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if before is not None and not engine:
        result.cleanup_problem = snapshot.difference(before, env, timeout=cleanup_timeout)
        if result.cleanup_problem:
            removed = snapshot.remove_namespaces_left(before, env)
            if removed:
                result.cleanup_problem += f" (the runner then deleted namespace {', '.join(removed)})"
    result.seconds = time.monotonic() - started
    return result


def _run_blocks(page: Page, mode: str, env: dict[str, str], labels: dict[str, str], extra, result: PageResult,
                out) -> None:
    """Run the page's blocks into ``result`` in one shell, then end the shell and all it started."""
    shell = Shell(REPO_ROOT, env)
    failed = False
    try:
        for block in page.blocks:
            unknown = _unknown_markers(block, labels)
            if unknown:
                result.results.append(BlockResult(block, "not-runnable", detail=(
                    f"marker {', '.join(unknown)} has no visible label: add `div.{unknown[0]}::before "
                    f"{{ content: \"...\" }}` to a stylesheet in docs/_static/, or use a known marker")))
                failed = True
            elif block.syntax_error:  # marked or not: a learner pastes it all the same
                result.results.append(BlockResult(block, "not-runnable", detail=block.syntax_error))
                failed = True
            elif not runs_in(block, mode):
                result.results.append(BlockResult(block, "marked", detail=" ".join(block.markers)))
            elif block.problem:
                result.results.append(BlockResult(block, "not-runnable", detail=block.problem))
                failed = True
            elif failed and not block.is_cleanup:
                result.results.append(BlockResult(block, "skipped", detail="an earlier block failed; only Cleanup runs"))
            else:
                if not shell.alive:  # an earlier timeout ended it: cleanup gets a fresh one
                    shell = Shell(REPO_ROOT, env)
                print(f"  {block.where}: $ {block.commands[0].text.splitlines()[0]}"
                      + (f"  (+{len(block.commands) - 1} more)" if len(block.commands) > 1 else ""), file=out, flush=True)
                block_started = time.monotonic()
                problem = _run_block(shell, block, mode, extra)
                seconds = time.monotonic() - block_started
                result.results.append(BlockResult(block, "failed" if problem else "passed", seconds, problem or ""))
                failed = failed or bool(problem)
    finally:
        shell.close()
