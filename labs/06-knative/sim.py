"""The sim cluster's stand-in for Knative's release YAML: which files of the pinned source to apply.

The sim already has Knative Serving's CRDs (workshop/sim/crds.py) but runs no Knative
controller. What it can hold of an install is the namespace and the configuration
ConfigMaps, read from knative.dev/serving at KNATIVE_SERVING_MODULE (the Go module cache),
so they are the very files the pinned release is built from:

    python sim.py files      # one path a line, for `kubectl apply -f`
"""

from __future__ import annotations

import sys

KNATIVE_SERVING = "knative.dev/serving"


def files() -> list[str]:
    from workshop.sim.gobuild import module_dir
    from workshop.versions import all_versions

    source = module_dir(KNATIVE_SERVING, all_versions()["KNATIVE_SERVING_MODULE"]) / "config" / "core"
    configmaps = sorted(source.glob("configmaps/*.yaml"))
    return [str(source / "100-namespace.yaml"), *map(str, configmaps)]


def main(argv: list[str]) -> int:
    from workshop.sim.gobuild import BuildError

    if argv != ["files"]:
        print("usage: sim.py files", file=sys.stderr)
        return 2
    try:
        print("\n".join(files()))
    except (BuildError, OSError, KeyError) as error:  # one sentence, no traceback
        print(f"sim.py: cannot find Knative Serving's configuration in the Go module cache: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
