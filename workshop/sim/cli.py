"""`workshop sim build|up|down|status|kubeconfig|load [--sim N]`: drive the sim cluster.

    $ workshop sim up                  # .sim/, context workshop-sim
    $ workshop sim up --sim 2          # a second cluster beside it: .sim/2/, workshop-sim-2
    $ workshop sim up --nodes real     # two real workers (containerd, kubelet, kube-proxy) instead of KWOK
    $ workshop sim load IMAGE...       # `kind load docker-image`: podman images into the real nodes
    $ export KUBECONFIG=$(workshop sim kubeconfig)

Exit status: 0 success; 1 a component is not running or a start failed (its log tail is
printed); 2 bad usage or the Go toolchain is missing; 3 (`status`) the cluster is not running.
"""

from __future__ import annotations

import argparse
import os
import sys

from workshop.sim.gobuild import BuildError

ACTIONS = ("build", "up", "down", "status", "kubeconfig", "load")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workshop sim", description="Start, stop and inspect the sim cluster.")
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("--sim", type=int, default=1, metavar="N",
                        help="which sim cluster: 1 (default, .sim/) or N (.sim/N/, context workshop-sim-N)")
    parser.add_argument("--nodes", choices=("kwok", "real"), default="kwok",
                        help="up: KWOK's fake nodes (default) or two real worker nodes")
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="load: podman images to import into every real node")
    parser.add_argument("--for-tests", action="store_true",
                        help="build: when the build cannot run, warn and exit 0 unless CI=true "
                             "(the cluster tests then skip, loudly)")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Intermixed: `load --sim 2 IMAGE...` puts options between the action and the images.
    args = parser().parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    if args.sim < 1:
        print(f"workshop sim: --sim must be 1 or more, got {args.sim}.", file=sys.stderr)
        return 2
    if bool(args.images) != (args.action == "load"):
        print("workshop sim: IMAGE arguments go with `load` only, and `load` needs at least one.", file=sys.stderr)
        return 2
    # Imported here so `workshop sim --help` works even before `make venv` added cryptography.
    from workshop.sim.build import build_all
    from workshop.sim.cluster import Sim, SimError
    from workshop.sim.images import ImageError

    sim = Sim(args.sim)
    try:
        if args.action == "build":
            build_all()
            return 0
        if args.action == "up":
            sim.up(nodes=args.nodes)
            return 0
        if args.action == "load":
            sim.load(args.images)
            return 0
        if args.action == "down":
            sim.down()
            return 0
        if args.action == "status":
            return sim.status()
        print(sim.kubeconfig)
        return 0
    except BuildError as error:
        print(f"workshop sim {args.action}: {error}", file=sys.stderr)
        if args.for_tests and os.environ.get("CI", "").lower() != "true":
            print("workshop sim build: WARNING: no sim cluster, so the cluster tests will be SKIPPED.", file=sys.stderr)
            return 0
        return 2
    except (SimError, ImageError, FileNotFoundError) as error:
        print(f"workshop sim {args.action}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"workshop sim {args.action}: interrupted.", file=sys.stderr)
        return 130
