"""`make bench-check`: how long does `workshop check N` take, and how many API requests?

Starts the sim cluster (if it is not up), deploys and solves level N, then times several
runs of ``workshop check N`` from process start to exit, and ends with exactly one line:

    bench-check: level=2 checks=11 median_seconds=0.74 api_requests=9

Every timed run must pass (a fast run of failing checks would measure the wrong thing).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workshop import REPO_ROOT


def solve(level: int, kubeconfig: Path) -> None:
    # The project's own kubectl (built with the sim into .bin/) comes first, as in make recipes.
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PATH": f"{REPO_ROOT / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    for action in ("deploy", "solve"):
        subprocess.run([str(REPO_ROOT / "scripts" / "lab.sh"), action, str(level)], check=True, env=env,
                       stdout=sys.stderr, timeout=600)


def time_runs(level: int, kubeconfig: Path, runs: int) -> tuple[list[float], list[float], dict]:
    """Wall-clock seconds of each run (process start to exit), CPU seconds of each, and the last report."""
    seconds, cpu, report = [], [], {}
    with tempfile.TemporaryDirectory(prefix="bench-check-") as folder:
        out = Path(folder) / "result.json"
        for _ in range(runs):
            started, cpu_before = time.monotonic(), _children_cpu()
            done = subprocess.run([sys.executable, "-m", "workshop.cli", "check", str(level), "--kubeconfig",
                                   str(kubeconfig), "--json", str(out), "--no-keep"],
                                  capture_output=True, text=True, timeout=120)
            seconds.append(time.monotonic() - started)
            cpu.append(_children_cpu() - cpu_before)
            if done.returncode != 0:
                raise SystemExit(f"bench-check: workshop check {level} exited {done.returncode} on a solved level:\n"
                                 f"{done.stdout}{done.stderr}")
            report = json.loads(out.read_text())
    return seconds, cpu, report


def _children_cpu() -> float:
    """CPU seconds used so far by finished child processes: unlike wall time, it does not grow
    when other work on the machine competes for the cores."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.grading.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kubeconfig", type=Path, help="grade this cluster instead of the sim (already solved)")
    args = parser.parse_args(argv)
    kubeconfig, started_sim = args.kubeconfig, None
    if kubeconfig is None:
        from workshop.sim.cluster import Sim

        sim = Sim(1)
        if not sim.is_up():
            started_sim = sim  # like the tests: stop what we started, leave a running sim alone
        sim.up(out=sys.stderr)
        kubeconfig = sim.kubeconfig
    try:
        if args.kubeconfig is None:
            solve(args.level, kubeconfig)
        seconds, cpu, report = time_runs(args.level, kubeconfig, args.runs)
    finally:
        if started_sim is not None and os.environ.get("WORKSHOP_SIM_KEEP") != "1":
            started_sim.down(out=sys.stderr)
    print(f"bench-check: runs={len(seconds)} seconds={' '.join(f'{s:.3f}' for s in seconds)} "
          f"median_cpu_seconds={statistics.median(cpu):.3f} load_average={os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(f"bench-check: level={args.level} checks={len(report['checks'])} "
          f"median_seconds={statistics.median(seconds):.3f} api_requests={report['api_requests']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
