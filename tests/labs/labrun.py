"""Drive a lab on a cluster as a learner does: `scripts/lab.sh`, kubectl, `workshop check`."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


# The labs' own override knobs for release files (an event's local copy): on the sim, which
# reaches no GitHub, they name the file workshop/sim/releases.py makes from the pinned module.
RELEASE_OVERRIDES = {"METRICS_SERVER_MANIFEST": ("metrics_server_url", "METRICS_SERVER_VERSION"),
                     "ARGOCD_MANIFEST": ("argocd_url", "ARGOCD_VERSION")}


@functools.cache
def release_overrides() -> dict[str, str]:
    """{variable: local file} for the release files the labs download; none against a real
    cluster of WORKSHOP_KUBECONFIG (a kind cluster downloads them as a learner's does)."""
    if os.environ.get("WORKSHOP_KUBECONFIG"):
        return {}
    from workshop.sim import releases
    from workshop.versions import all_versions

    versions = all_versions()
    return {variable: str(releases.release_file(getattr(releases, url_of)(versions[version])))
            for variable, (url_of, version) in RELEASE_OVERRIDES.items()}


def on_kwok(kubeconfig: Path) -> bool:
    """Is ``kubeconfig`` a KWOK sim's (its state.json, beside it, records the nodes it started)?"""
    try:
        return json.loads((Path(kubeconfig).parent / "state.json").read_text()).get("nodes", "kwok") == "kwok"
    except (OSError, ValueError):
        return False


def env_for(kubeconfig: Path) -> dict[str, str]:
    # The project's kubectl (.bin/, built with the sim) first, as in make recipes.
    path = f"{REPO_ROOT / '.bin'}{os.pathsep}{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    releases = dict(release_overrides())
    if on_kwok(kubeconfig) and "METRICS_SERVER_MANIFEST" in releases:
        from workshop.sim.releases import without_aggregated_api

        releases["METRICS_SERVER_MANIFEST"] = str(without_aggregated_api(Path(releases["METRICS_SERVER_MANIFEST"])))
    overrides = {variable: value for variable, value in releases.items() if not os.environ.get(variable)}
    return {**os.environ, **overrides, "KUBECONFIG": str(kubeconfig), "PATH": path, "NO_COLOR": "1"}


def lab(action: str, level: int, kubeconfig: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(REPO_ROOT / "scripts" / "lab.sh"), action, str(level)], capture_output=True,
                          text=True, env=env_for(kubeconfig), timeout=timeout, cwd=REPO_ROOT)
    assert done.returncode == 0, f"lab.sh {action} {level} failed:\n{done.stdout}\n{done.stderr}"
    return done


def kubectl(kubeconfig: Path, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    done = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env_for(kubeconfig),
                          timeout=timeout, cwd=REPO_ROOT)
    if check:
        assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass
class Graded:
    returncode: int
    stdout: str
    report: dict
    seconds: float

    def status(self, check_id: str) -> str:
        return self.check(check_id)["status"]

    def check(self, check_id: str) -> dict:
        return next(item for item in self.report["checks"] if item["id"] == check_id)

    def by_status(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for item in self.report["checks"]:
            found.setdefault(item["status"], set()).add(item["id"])
        return found


def grade(level: int, kubeconfig: Path, tmp_path: Path, *args: str, timeout: float = 180) -> Graded:
    """`workshop check LEVEL --kubeconfig K`, in a separate process; the JSON report parsed."""
    out = tmp_path / f"result-{time.monotonic_ns()}.json"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workshop.cli", "check", str(level), "--kubeconfig", str(kubeconfig),
                           "--json", str(out), "--no-keep", *args], capture_output=True, text=True,
                          env=env_for(kubeconfig), timeout=timeout, cwd=REPO_ROOT)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    report = json.loads(out.read_text()) if out.exists() else {}
    return Graded(done.returncode, done.stdout, report, time.monotonic() - started)


def token_kubeconfig(admin: Path, token: str, path: Path) -> Path:
    """A kubeconfig for the same cluster as ``admin`` that authenticates with a bearer token."""
    config = yaml.safe_load(admin.read_text())
    context = config["contexts"][0]
    config["users"] = [{"name": "token-user", "user": {"token": token}}]
    context["context"]["user"] = "token-user"
    config["contexts"], config["current-context"] = [context], context["name"]
    path.write_text(yaml.safe_dump(config))
    return path
