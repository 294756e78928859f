"""`workshop lab folder|title N`: print level N's lab folder or title (used by scripts/lab.sh).

`workshop lab say MESSAGE [NAME=VALUE...]`: print a lab script's one-line message in the
learner's language (workshop/i18n.py), its {NAME} fields filled in. The English MESSAGE is the
catalog's msgid: `make i18n-update` finds it in `say "..."` calls of the lab scripts.

    $ workshop lab say "Level {number} is reset." number=6
"""

import argparse
import sys

from workshop.i18n import _
from workshop.levels import level


def say(argv: list[str]) -> int:
    if not argv:
        print("usage: workshop lab say MESSAGE [NAME=VALUE...]", file=sys.stderr)
        return 2
    message, fields = argv[0], {}
    for pair in argv[1:]:
        name, equals, value = pair.partition("=")
        if not equals or not name.isidentifier():
            print(f"workshop lab say: {pair!r} is not NAME=VALUE", file=sys.stderr)
            return 2
        fields[name] = value
    try:
        print(_(message).format(**fields))
    except (KeyError, IndexError, ValueError) as error:  # a field the message names was not given
        print(f"workshop lab say: cannot fill {message!r}: {error!r}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["say"]:
        return say(argv[1:])
    parser = argparse.ArgumentParser(prog="workshop lab", description=__doc__)
    parser.add_argument("what", choices=["folder", "title"])
    parser.add_argument("number", type=int)
    args = parser.parse_args(argv)
    try:
        found = level(args.number)
    except KeyError as error:
        print(f"workshop lab: {error.args[0]}", file=sys.stderr)
        return 2
    print(found.folder if args.what == "folder" else _(found.title))
    return 0
