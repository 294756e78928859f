"""`python -m workshop.doctest coverage|run|e2e|browser`: the docs tests from the command line.

    $ python -m workshop.doctest coverage             # table, then `doc-coverage: run=… percent=…`
    $ python -m workshop.doctest run --sim 2 --levels 2,3   # run pages against sim cluster 2
    $ python -m workshop.doctest run --sim 3 --levels 2     # a real-node sim: kind and release URLs stand in
    $ python -m workshop.doctest run --sim 6 --levels 5     # level 5 on a real-node sim: Istio as on kind
    $ python -m workshop.doctest run --sim 3 --sim-2 4 --levels 7  # a page on two clusters: sims 3 and 4
    $ python -m workshop.doctest e2e                  # every page against the kind cluster `workshop`
    $ python -m workshop.doctest browser              # check the built site in headless Chromium

Exit status: 0 all good; 1 a check failed; 2 bad usage or something needed is missing
(the message says what to do); 3 the kube context is not a local one.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from workshop import REPO_ROOT

E2E_CLUSTER = "workshop"


def _levels(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(item) for item in value.replace(" ", "").split(",") if item]
    except ValueError:
        raise SystemExit(f"--levels takes numbers separated by commas, like 2,3; got {value!r}.") from None


def coverage(args) -> int:
    from workshop.doctest.coverage import classify, summary_line, table, totals
    from workshop.doctest.pages import lab_pages

    coverages = [classify(page) for page in lab_pages()]
    print(table(coverages))
    neither = sum(len(c.neither) for c in coverages)
    percent = totals(coverages)[3]
    if neither:
        print(f"\n{neither} block(s) are neither run nor marked: `make test` fails until each runs or carries a marker.")
    if percent < args.min:
        print(f"doc coverage {percent:.1f}% is below the minimum {args.min:.1f}%.")
    print(summary_line(coverages))
    return 1 if neither or percent < args.min else 0


def _run_pages(pages, mode: str, kubeconfig: Path | None, kubeconfig_2: Path | None = None,
               real_sim: int | None = None) -> int:
    """Run ``pages``; a page on two clusters (level 7) gets one kubeconfig with ``kubeconfig``'s
    cluster as kind-east and ``kubeconfig_2``'s as kind-west (workshop.doctest.pair)."""
    import tempfile

    from workshop.doctest import pair
    from workshop.doctest.runner import run_page

    from workshop.doctest import substrate

    results = []
    prepared = False
    for page in pages:
        print(f"== {page.name} ({mode})", flush=True)
        mesh = real_sim is not None and substrate.of(page) == substrate.REAL_MESH
        if mesh and not prepared:  # what a learner has before `make lab-5`: Istio's release, the images
            from workshop.sim import mesh as real_mesh
            from workshop.sim.cluster import Sim

            print(f"  preparing sim {real_sim} for level 5 (Istio's release folder, images in the nodes) ...",
                  flush=True)
            real_mesh.prepare_for_lab(Sim(real_sim))
            prepared = True
        if kubeconfig is not None and kubeconfig_2 is not None and pair.needs_two_clusters(page):
            with tempfile.TemporaryDirectory(prefix="doctest-pair-") as folder:
                result = run_page(page, mode, pair.write(kubeconfig, kubeconfig_2, Path(folder) / "kubeconfig"))
        else:
            result = run_page(page, mode, kubeconfig, real_sim=real_sim, mesh=mesh)
        print(result.report(), flush=True)
        results.append(result)
    print("\nSummary (time per level):")
    for result in results:
        print(f"  {result.summary()}")
    failed = [result.page.name for result in results if not result.ok]
    print(f"doc-run: pages={len(results)} failed={len(failed)}" + (f" ({', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


def run(args) -> int:
    from workshop.doctest.pages import lab_pages
    from workshop.doctest.runner import uses_container_engine
    from workshop.kubecontext import guard

    only = lab_pages(_levels(args.levels))
    if only and all(uses_container_engine(page) for page in only):  # level 1: containers, no cluster
        return _run_pages(only, "sim", None)
    real_sim = None  # a real-node sim's number: its pages get the kind stand-in and the release mirror
    if args.kubeconfig:
        kubeconfig = Path(args.kubeconfig)
    else:
        from workshop.sim.cluster import Sim

        sim = Sim(args.sim)
        if not sim.is_up():
            print(f"sim cluster {sim.context} is not running: start it with `make sim-up SIM={args.sim}`.", file=sys.stderr)
            return 2
        kubeconfig = sim.kubeconfig
        real_sim = args.sim if sim.mode() == "real" else None
    if not kubeconfig.is_file():
        print(f"{kubeconfig} is not a file: point --kubeconfig at a kubeconfig.", file=sys.stderr)
        return 2
    import os

    os.environ["KUBECONFIG"] = str(kubeconfig)
    if guard() != 0:
        return 3
    pages = _pages_for(lab_pages(_levels(args.levels)), real_sim, args.kubeconfig is not None, bool(args.levels))
    if pages is None:
        return 2
    if real_sim is not None and (problem := _learner_ports_problem(pages, real_sim)):
        print(problem, file=sys.stderr)
        return 2
    kubeconfig_2 = None
    if args.sim_2 is not None or args.kubeconfig_2:
        kubeconfig_2 = _second_cluster(args)
        if kubeconfig_2 is None:
            return 2
        os.environ["KUBECONFIG"] = str(kubeconfig_2)
        if guard() != 0:
            return 3
        os.environ["KUBECONFIG"] = str(kubeconfig)
    else:
        from workshop.doctest.pair import needs_two_clusters

        two = [page.name for page in pages if needs_two_clusters(page)]
        if two:
            print(f"{', '.join(two)} runs on two clusters and no second one was given: its blocks naming "
                  "kind-east/kind-west fail. Add --sim-2 N (a second sim) or --kubeconfig-2 FILE.", file=sys.stderr)
    return _run_pages(pages, "sim", kubeconfig, kubeconfig_2, real_sim=real_sim)


def _pages_for(pages, real_sim: int | None, own_kubeconfig: bool, chosen: bool):
    """The pages this cluster can run: real-node pages need a real-node sim (or --kubeconfig, a
    real cluster); KWOK pages run anywhere. None (after saying why) if chosen pages cannot run."""
    from workshop.doctest import substrate

    if real_sim is not None or own_kubeconfig:
        return pages
    left = [page.name for page in pages if substrate.of(page) in (substrate.REAL_NODES, substrate.REAL_MESH)]
    if not left:
        return pages
    levels = ",".join(str(page.level) for page in pages if page.name in left)
    advice = (f"their pods must run: `make sim-up NODES=real SIM=3`, then "
              f"`python -m workshop.doctest run --sim 3 --levels {levels}`")
    if chosen:
        print(f"{', '.join(left)} run on real nodes, and this sim has KWOK's fake nodes: {advice}.", file=sys.stderr)
        return None
    print(f"Left out, as they run on real nodes: {', '.join(left)} ({advice}).", file=sys.stderr)
    return [page for page in pages if page.name not in left]


def _learner_ports_problem(pages, real_sim: int) -> str | None:
    """Why the pages that curl kind's 127.0.0.1:9080/9443 cannot run on this sim, or None."""
    from workshop.sim import hostports
    from workshop.sim.cluster import Sim

    curling = [page.name for page in pages if hostports.named_in(page.path.read_text())]
    problem = Sim(real_sim).learner_ports_problem() if curling else None
    verb = "curls" if len(curling) == 1 else "curl"
    return f"{', '.join(curling)} {verb} kind's host ports, and {problem}" if problem else None


def _second_cluster(args) -> Path | None:
    """The west cluster of pages on two clusters: --kubeconfig-2, or sim --sim-2 (it must be up)."""
    if args.kubeconfig_2:
        path = Path(args.kubeconfig_2)
    else:
        from workshop.sim.cluster import Sim

        if args.sim_2 == args.sim and not args.kubeconfig:
            print("--sim-2 must name another sim cluster than --sim: a page on two clusters needs two.", file=sys.stderr)
            return None
        sim = Sim(args.sim_2)
        if not sim.is_up():
            print(f"sim cluster {sim.context} is not running: start it with `make sim-up SIM={args.sim_2}`.",
                  file=sys.stderr)
            return None
        path = sim.kubeconfig
    if not path.is_file():
        print(f"{path} is not a file: point --kubeconfig-2 at a kubeconfig.", file=sys.stderr)
        return None
    return path


def e2e(args) -> int:
    """Every page against the instructor's kind cluster, needs-real-cluster blocks included."""
    from workshop.doctest.pages import lab_pages
    from workshop.kubecontext import guard

    if not shutil.which("kind"):
        print("make e2e runs the pages against the kind cluster `workshop`, and kind is not installed here: "
              "follow Level 0 (labs/00-setup) on your laptop, then run `make cluster`.", file=sys.stderr)
        return 2
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True).stdout.split()
    if E2E_CLUSTER not in clusters:
        print(f"make e2e needs the kind cluster `{E2E_CLUSTER}`, and there is none: run `make cluster` first.",
              file=sys.stderr)
        return 2
    if guard() != 0:
        return 3
    return _run_pages(lab_pages(_levels(args.levels)), "e2e", None)


def browser(args) -> int:
    from workshop.doctest.browser import BrowserUnavailable, check_site

    site = Path(args.site)
    if not (site / "index.html").is_file():
        print(f"{site} has no index.html: build the site first with `make html`.", file=sys.stderr)
        return 2
    try:
        report = check_site(site, Path(args.screenshots))
    except BrowserUnavailable as error:
        print(f"browser-check: {error}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.doctest", description="The docs tests of the workshop.")
    sub = parser.add_subparsers(dest="action", required=True)
    cov = sub.add_parser("coverage", help="blocks run / marked / total per page; fails on a block neither run nor marked")
    cov.add_argument("--min", type=float, default=0.0, metavar="PERCENT", help="also fail below this percent run")
    runp = sub.add_parser("run", help="run the pages against a sim cluster (or --kubeconfig)")
    runp.add_argument("--sim", type=int, default=1, metavar="N", help="sim cluster N (default 1)")
    runp.add_argument("--kubeconfig", help="another local cluster's kubeconfig instead of the sim")
    runp.add_argument("--levels", help="only these levels, e.g. 2,3")
    runp.add_argument("--sim-2", type=int, metavar="M", help="second sim cluster, for pages on two clusters "
                      "(level 7: --sim is kind-east, this one kind-west)")
    runp.add_argument("--kubeconfig-2", help="the second cluster's kubeconfig instead of --sim-2")
    e2ep = sub.add_parser("e2e", help="run the pages against the kind cluster `workshop` (real data plane)")
    e2ep.add_argument("--levels", help="only these levels, e.g. 2,3")
    brp = sub.add_parser("browser", help="load every page of the built site in headless Chromium")
    brp.add_argument("--site", default=str(REPO_ROOT / "_build" / "html"), help="the built site (default _build/html)")
    brp.add_argument("--screenshots", default=str(REPO_ROOT / "_build" / "screenshots"), help="where screenshots go")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return {"coverage": coverage, "run": run, "e2e": e2e, "browser": browser}[args.action](args)
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
