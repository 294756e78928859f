"""`workshop lab folder N`: print level N's lab folder (used by scripts/lab.sh)."""

import argparse
import sys

from workshop.levels import level


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop lab", description=__doc__)
    parser.add_argument("what", choices=["folder", "title"])
    parser.add_argument("number", type=int)
    args = parser.parse_args(argv)
    try:
        found = level(args.number)
    except KeyError as error:
        print(f"workshop lab: {error.args[0]}", file=sys.stderr)
        return 2
    print(found.folder if args.what == "folder" else found.title)
    return 0
