"""`workshop doctor`: is this machine ready for the workshop? Every problem comes with its fix.

    $ workshop doctor
    ✓ kubectl 1.x.y (pinned v1.x.y)
    ! istioctl: not found (needed from a later level on). Install istioctl 1.x.y: see Level 0 (labs/00-setup)
    ...

It checks the tools against the pinned versions (versions.env), that a container
engine runs, that the cluster answers, that the context is a local one, and that
there is CPU and memory to spare. Every command it runs has a timeout: it cannot hang.
Exit status: 0 nothing to fix, 1 something to fix (warnings alone do not count).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from workshop.versions import all_versions

COMMAND_TIMEOUT = 5.0
OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}
VERSION_PATTERN = re.compile(r"v?(\d+\.\d+\.\d+)")
SETUP = "see Level 0 (labs/00-setup)"


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
    install = f"Install {tool.name} {pinned}: {SETUP}"
    if shutil.which(tool.name) is None:
        return Finding(FAIL if tool.required else WARN, f"{tool.name}: not found" +
                       ("" if tool.required else " (needed from a later level on)"), install)
    status, output = run([tool.name, *tool.args])
    if status == 124:
        return Finding(FAIL, f"{tool.name}: `{tool.name} {' '.join(tool.args)}` did not answer in {COMMAND_TIMEOUT:.0f}s",
                       f"Reinstall it: {SETUP}")
    found = parse_version(output)
    if found is None:
        return Finding(WARN, f"{tool.name}: cannot read its version", install)
    if pinned and not compare(found, pinned, tool.minor_skew):
        return Finding(WARN, f"{tool.name} {found} (the workshop is tested with {pinned})", install)
    return Finding(OK, f"{tool.name} {found}" + (f" (pinned {pinned})" if pinned else ""))


def check_engine() -> Finding:
    """podman or docker, installed and answering (kind needs one; level 1 uses podman)."""
    for engine in ("podman", "docker"):
        if shutil.which(engine) is None:
            continue
        status, output = run([engine, "info", "--format", "{{.Host.Arch}}" if engine == "podman" else "{{.ServerVersion}}"])
        if status == 0:
            return Finding(OK, f"container engine: {engine} is running")
        return Finding(FAIL, f"container engine: {engine} is installed but not answering",
                       "Start it: systemctl --user start podman.socket (podman) or start Docker Desktop / "
                       "sudo systemctl start docker (docker)")
    return Finding(FAIL, "container engine: neither podman nor docker is installed", f"Install podman: {SETUP}")


def check_cluster(context: str | None, kubeconfig: str | None) -> list[Finding]:
    from workshop.grading.kube import CannotCheck, Cluster
    from workshop.kubecontext import ContextError, current_context

    findings = []
    try:
        info = current_context(context)
        if info.is_local:
            findings.append(Finding(OK, f"kube context {info.name} is local ({info.server})"))
        else:
            findings.append(Finding(WARN, f"kube context {info.name} is not a local cluster ({info.server})",
                                    "make lab-N refuses it: kubectl config use-context kind-workshop"))
    except ContextError as error:
        return [Finding(FAIL, "no kube context", str(error))]
    try:
        cluster = Cluster.connect(context=context, kubeconfig=kubeconfig)
        try:
            version = cluster.preflight()
            findings.append(Finding(OK, f"cluster answers: Kubernetes {version}"))
        finally:
            cluster.close()
    except CannotCheck as error:
        findings.append(Finding(FAIL, "cluster does not answer", str(error)))
    return findings


def check_capacity(cpus: int | None = None, available_bytes: int | None = None) -> list[Finding]:
    """kind with the app wants 2 CPUs and 4 GiB free; Istio (level 5) about 8 GiB."""
    cpus = os.cpu_count() if cpus is None else cpus
    available_bytes = _mem_available() if available_bytes is None else available_bytes
    findings = [Finding(OK, f"{cpus} CPUs") if cpus >= 2 else
                Finding(FAIL, f"{cpus} CPU", "The cluster needs 2 CPUs: give the VM (or Docker Desktop) more")]
    if available_bytes is None:
        return findings + [Finding(WARN, "free memory: unknown on this system")]
    gib = available_bytes / 2**30
    if gib < 4:
        findings.append(Finding(FAIL, f"{gib:.1f} GiB memory free",
                                "The cluster needs 4 GiB free: close programs, or give the VM more memory"))
    elif gib < 8:
        findings.append(Finding(WARN, f"{gib:.1f} GiB memory free", "Level 5 (Istio) wants 8 GiB: close programs first"))
    else:
        findings.append(Finding(OK, f"{gib:.1f} GiB memory free"))
    return findings


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


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
    findings.append(check_engine())
    if not args.no_cluster:
        findings += check_cluster(args.context, args.kubeconfig)
    findings += check_capacity()
    for finding in findings:
        print(finding.line())
    problems = [finding for finding in findings if finding.status == FAIL]
    print(f"\n{len(problems)} problem(s) to fix." if problems else "\nAll set.")
    return 1 if problems else 0
