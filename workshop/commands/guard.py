"""`workshop guard [--context NAME]`: exit 0 if the context may be changed, 3 if not."""

import argparse

from workshop.kubecontext import guard


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop guard", description=__doc__)
    parser.add_argument("--context", help="context to check instead of the current one")
    args = parser.parse_args(argv)
    return guard(args.context)
