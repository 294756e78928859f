"""`workshop doctor`: is this machine ready for the workshop? Every problem comes with its fix.

    $ workshop doctor
    ✓ kubectl 1.x.y (pinned v1.x.y)
    ! istioctl: not found (needed from a later level on). Install istioctl 1.x.y: see Level 0 (labs/00-setup)
    ...

It checks the tools against the pinned versions (versions.env), that a container
engine runs (chosen as `make preload` chooses: workshop/engine.py) and is the one kind
will use, that the cluster answers, that the context is a local one, and that the
engine's machine has the CPUs and memory the measured figures ask (labs/00-setup/laptop.json). Every command it runs has a timeout: it cannot hang.
Exit status: 0 nothing to fix, 1 something to fix (warnings alone do not count).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from workshop import engine, laptop
from workshop.engine import EngineInfo
from workshop.i18n import N_, _
from workshop.versions import all_versions

COMMAND_TIMEOUT = 5.0
OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}
VERSION_PATTERN = re.compile(r"v?(\d+\.\d+\.\d+)")
SETUP = N_("see Level 0 (labs/00-setup)")


@dataclass(frozen=True)
class Tool:
    name: str
    args: tuple[str, ...]  # prints the version
    pin_key: str | None  # key in versions.env
    required: bool = True
    minor_skew: bool = False  # kubectl: one minor version either side of the pin is fine


TOOLS = (
    Tool("kind", ("version",), "KIND_VERSION"),
    Tool("kubectl", ("version", "--client"), "KUBERNETES_VERSION", minor_skew=True),
    Tool("istioctl", ("version", "--remote=false"), "ISTIO_VERSION", required=False),
    Tool("helm", ("version", "--short"), "HELM_VERSION", required=False),
    Tool("skaffold", ("version",), "SKAFFOLD_VERSION", required=False),
)


@dataclass
class Finding:
    status: str
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{MARKS[self.status]} {self.what}" + (f". {self.fix}" if self.fix else "")


def run(command: list[str], timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:
    """(exit status, stdout+stderr); 127 when missing, 124 when it timed out."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return 127, ""
    except subprocess.TimeoutExpired:
        return 124, ""
    except OSError as error:
        return 126, error.strerror or ""
    return done.returncode, (done.stdout or "") + (done.stderr or "")


def parse_version(text: str) -> str | None:
    found = VERSION_PATTERN.search(text)
    return found.group(1) if found else None


def compare(found: str, pinned: str, minor_skew: bool) -> bool:
    have, want = [int(part) for part in found.split(".")], [int(part) for part in pinned.lstrip("v").split(".")]
    if minor_skew:
        return have[0] == want[0] and abs(have[1] - want[1]) <= 1
    return have == want


def check_tool(tool: Tool, versions: dict[str, str]) -> Finding:
    pinned = versions.get(tool.pin_key, "") if tool.pin_key else ""
    install = _("Install {tool} {version}: {setup}").format(tool=tool.name, version=pinned, setup=_(SETUP))
    if shutil.which(tool.name) is None:
        return Finding(FAIL if tool.required else WARN, _("{tool}: not found").format(tool=tool.name) +
                       ("" if tool.required else _(" (needed from a later level on)")), install)
    status, output = run([tool.name, *tool.args])
    if status == 124:
        return Finding(FAIL, _("{tool}: `{command}` did not answer in {seconds}s").format(
            tool=tool.name, command=" ".join((tool.name, *tool.args)), seconds=f"{COMMAND_TIMEOUT:.0f}"),
            _("Reinstall it: {setup}").format(setup=_(SETUP)))
    found = parse_version(output)
    if found is None:
        return Finding(WARN, _("{tool}: cannot read its version").format(tool=tool.name), install)
    if pinned and not compare(found, pinned, tool.minor_skew):
        return Finding(WARN, _("{tool} {found} (the workshop is tested with {pinned})").format(
            tool=tool.name, found=found, pinned=pinned), install)
    return Finding(OK, f"{tool.name} {found}" + (_(" (pinned {pinned})").format(pinned=pinned) if pinned else ""))


def check_engine(env=None, runner=None) -> tuple[list[Finding], EngineInfo | None]:
    """The engine preload and kind use (workshop/engine.py chooses), and what its machine has."""
    options = {"env": os.environ if env is None else env, **({"runner": runner} if runner else {})}
    choice = engine.choose_engine(**options)
    if choice.name is None:
        return [Finding(FAIL, _("container engine: none answers ({why})").format(why=choice.why),
                        _("Start Docker Desktop (or `sudo systemctl start docker`), or install Podman and "
                          "`podman machine start` on macOS/Windows: {setup}").format(setup=_(SETUP)))], None
    findings = [Finding(OK, _("container engine: {name} ({why})").format(name=choice.name, why=choice.why))]
    provider = engine.kind_provider(**options)
    if provider and provider != choice.name:
        findings.append(Finding(WARN, f"kind will create the cluster on {provider}, not {choice.name} "
                                      "(kind picks Docker whenever its command is installed)",
                                f"Start {provider}, or `export KIND_EXPERIMENTAL_PROVIDER={choice.name}`"))
    try:
        info = engine.engine_info(choice.name, **({"runner": runner} if runner else {}))
    except engine.EngineError as error:
        findings.append(Finding(FAIL, f"container engine: {choice.name} does not answer `info`: {error}",
                                "Start it again (Docker Desktop, or `podman machine start`)"))
        return findings, None
    return findings, info


def check_cluster(context: str | None, kubeconfig: str | None) -> list[Finding]:
    from workshop.grading.kube import CannotCheck, Cluster
    from workshop.kubecontext import ContextError, current_context

    findings = []
    try:
        info = current_context(context)
        if info.is_local:
            findings.append(Finding(OK, _("kube context {name} is local ({server})").format(
                name=info.name, server=info.server)))
        else:
            findings.append(Finding(WARN, _("kube context {name} is not a local cluster ({server})").format(
                name=info.name, server=info.server),
                _("make lab-N refuses it: kubectl config use-context kind-workshop")))
    except ContextError as error:
        return [Finding(FAIL, _("no kube context"), str(error))]
    try:
        cluster = Cluster.connect(context=context, kubeconfig=kubeconfig)
        try:
            version = cluster.preflight()
            findings.append(Finding(OK, _("cluster answers: Kubernetes {version}").format(version=version)))
        finally:
            cluster.close()
    except CannotCheck as error:
        findings.append(Finding(FAIL, _("cluster does not answer"), str(error)))
    return findings


def check_capacity(info: EngineInfo | None, data: dict | None = None) -> list[Finding]:
    """The engine's machine (Docker Desktop's or Podman's VM on macOS/Windows) against the
    measured figures of labs/00-setup/laptop.json, the ones the pages state."""
    data = laptop.load() if data is None else data
    if info is None or info.cpus is None or info.memory_bytes is None:
        return [Finding(WARN, "CPUs and memory of the engine's machine: unknown (no engine answered `info`)")]
    gib = info.memory_bytes / 2**30
    have = f"{info.kind}'s machine has {info.cpus} CPUs and {gib:.1f} GiB ({info.platform})"
    fits = laptop.levels_that_fit(data, info.cpus, gib)
    measured = sorted(data["levels"], key=int)
    more = "Give it more: Docker Desktop Settings → Resources, or `podman machine set --cpus N --memory MiB`"
    if not fits:
        cpus, least = laptop.lowest(data)
        return [Finding(FAIL, f"{have}: no level with a cluster fits (the least any needs: {cpus} CPUs and "
                              f"{least} GiB, labs/00-setup/laptop.json)", more)]
    short = [level for level in measured if level not in fits]
    if short:
        needs = "; ".join(f"level {level} needs {data['levels'][level]['cpus']} CPUs and "
                          f"{data['levels'][level]['memory_gib']} GiB" for level in short)
        return [Finding(WARN, f"{have}: enough for level{'s' if len(fits) > 1 else ''} {', '.join(fits)} only ({needs})",
                        more)]
    level, cpus, most = laptop.highest(data)
    return [Finding(OK, f"{have}: enough for every measured level, {measured[0]} to {measured[-1]} "
                        f"(the most any needs: {cpus} CPUs and {most} GiB)")]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--context", help="kube context to test (default: the current one)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the cluster checks")
    args = parser.parse_args(argv)
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig  # so the context check reads the same file
    versions = all_versions()
    findings = [check_tool(tool, versions) for tool in TOOLS]
    engine_findings, info = check_engine()
    findings += engine_findings
    if not args.no_cluster:
        findings += check_cluster(args.context, args.kubeconfig)
    findings += check_capacity(info)
    for finding in findings:
        print(finding.line())
    problems = [finding for finding in findings if finding.status == FAIL]
    print("\n" + (_("{count} problem(s) to fix.").format(count=len(problems)) if problems else _("All set.")))
    return 1 if problems else 0
