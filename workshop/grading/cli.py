"""`workshop check N`: self-grade level N against the current kube context.

    $ workshop check 2                       # what `make check-2` runs
    $ workshop check 2 --wait 60             # just after a deploy: let the cluster settle
    $ workshop check 2 --json out.json --junit out.xml
    $ workshop check 2 --context kind-workshop --kubeconfig ~/.kube/config

Exit status: 0 every check passed, 1 some failed, 2 could not check (no cluster,
unreachable, unauthorised, a missing CRD), with one sentence saying what to run.
The run is also kept under .workshop/results/ for `workshop progress`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from workshop.grading.engine import ContainerEngine, lab_target
from workshop.grading.kube import CannotCheck, Cluster
from workshop.grading.results import ERROR, FAILED, RunResult, keep, learner_name, now_iso, write_json, write_junit
from workshop.grading.render import header, render_text, use_colour
from workshop.i18n import _
from workshop.levels import level as find_level

EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_CHECK = 0, 1, 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="workshop check", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("level", type=int, help="the level to grade, 1 to 7")
    parser.add_argument("--context", help="kube context to grade (default: the current one)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="S",
                        help="let failing checks re-read the cluster for up to S seconds (after a deploy)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--junit", type=Path, metavar="PATH", help="also write the results as JUnit XML")
    parser.add_argument("--namespace", default="workshop", help="namespace of the lab (default: workshop)")
    parser.add_argument("--checks", type=Path, metavar="DIR", help="run the checks in DIR instead of the level's")
    parser.add_argument("-k", dest="select", metavar="EXPR", help="only checks whose id/name matches (pytest -k)")
    parser.add_argument("--quiet", action="store_true", help="no diagnostics under failed checks")
    parser.add_argument("--no-keep", action="store_true", help="do not keep this run under .workshop/results/")
    args = parser.parse_args(argv)
    if args.wait < 0:
        parser.error("--wait takes a number of seconds, 0 or more")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started_clock = time.monotonic()
    try:
        lab = find_level(args.level)
    except KeyError as error:
        print(f"workshop check: {error.args[0]}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    checks_dir = args.checks or lab.folder / "checks"
    result = RunResult(level=lab.number, title=lab.title, context=args.context or "", server="?",
                       learner=learner_name(), started=now_iso())
    if not checks_dir.is_dir():
        print(_("Level {level} ({title}) has no checks yet: its page, labs/{slug}/README.md, "
                "says how to verify it by hand.").format(level=lab.number, title=_(lab.title), slug=lab.slug))
        return EXIT_CANNOT_CHECK

    cluster, header_shown = None, False
    try:
        if lab_target(checks_dir) == "container-engine":  # level 1: Docker or Podman, no cluster
            cluster = ContainerEngine.detect()
        else:
            cluster = Cluster.connect(context=args.context, kubeconfig=args.kubeconfig)
        result.context, result.server = cluster.context, cluster.server
        print(header(result) + "\n", flush=True)  # first of all: which cluster is being graded
        header_shown = True
        result.server_version = cluster.preflight()
        run_checks(cluster, checks_dir, args, result)
    except CannotCheck as error:
        result.cannot_check.append(str(error))
    finally:
        if cluster is not None:
            result.api_requests = cluster.requests
            cluster.close()
    result.seconds = round(time.monotonic() - started_clock, 3)
    result.exit_status = exit_status(result)
    print(render_text(result, colour=use_colour(sys.stdout), verbose=not args.quiet, with_header=not header_shown))
    write_reports(result, args)
    return result.exit_status


def run_checks(cluster: Cluster, checks_dir: Path, args: argparse.Namespace, result: RunResult) -> None:
    """Run pytest in-process on the checks folder, with our plugin and none of the repo's test config."""
    import pytest

    from workshop.grading.plugin import GradingPlugin

    plugin = GradingPlugin(cluster, namespace=args.namespace, wait=args.wait,
                           kubeconfig=args.kubeconfig or os.environ.get("KUBECONFIG"), context=args.context)
    pytest_args = [
        str(checks_dir), "-c", os.devnull, "--rootdir", str(checks_dir),
        "-p", "no:cacheprovider", "-p", "no:terminal", "--disable-plugin-autoload",
        "-o", "python_files=check_*.py", "-o", "python_functions=check_*", "-o", "python_classes=",
    ]
    if args.select:
        pytest_args += ["-k", args.select]
    pytest.main(pytest_args, plugins=[plugin])
    result.checks = plugin.results
    result.not_selected = plugin.not_selected
    result.cannot_check += plugin.load_errors
    result.cannot_check += list(dict.fromkeys(item.message for item in plugin.results if item.status == ERROR))
    if not plugin.results and not plugin.load_errors:
        result.cannot_check.append(f"No checks were found in {checks_dir}" + (f" matching -k {args.select!r}." if args.select else "."))


def exit_status(result: RunResult) -> int:
    if result.cannot_check or any(item.status == ERROR for item in result.checks):
        return EXIT_CANNOT_CHECK
    return EXIT_FAILED if any(item.status == FAILED for item in result.checks) else EXIT_PASSED


def write_reports(result: RunResult, args: argparse.Namespace) -> None:
    try:
        if args.json:
            write_json(result, args.json)
        if args.junit:
            write_junit(result, args.junit)
        if not args.no_keep:
            keep(result)
    except OSError as error:
        print(f"workshop check: could not write a report ({error.strerror}: {error.filename})", file=sys.stderr)
