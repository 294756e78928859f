"""`workshop versions [KEY]`: print the pinned versions, or one of them."""

import argparse
import sys

from workshop.versions import all_versions


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop versions", description=__doc__)
    parser.add_argument("key", nargs="?", help="print only this value, e.g. ISTIO_VERSION")
    args = parser.parse_args(argv)
    versions = all_versions()
    if args.key:
        if args.key not in versions:
            print(f"workshop versions: no version named {args.key!r} in versions.env", file=sys.stderr)
            return 2
        print(versions[args.key])
        return 0
    for key, value in versions.items():
        print(f"{key}={value}")
    return 0
