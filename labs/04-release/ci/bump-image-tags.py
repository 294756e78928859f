#!/usr/bin/env python3
"""Point an overlay's images at a new build: the last step of CI, the one Argo CD reacts to.

    $ python3 labs/04-release/ci/bump-image-tags.py manifests/overlays/dev \\
          --registry ghcr.io/you/workshop --tag 3f2c1e9
    manifests/overlays/dev/kustomization.yaml: 5 images now ghcr.io/you/workshop/<service>:3f2c1e9

Rewrites only the `images:` block of kustomization.yaml (comments and the rest stay as
they are), so the commit CI makes is a readable one-block diff. Each entry keeps its name
(`localhost/workshop/gateway`, as the base writes it) and gets newName REGISTRY/<service> and newTag.
Standard library only: it runs on any CI image with Python.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ENTRY = re.compile(r"^- name:\s*(\S+)\s*$")


def rewrite(text: str, registry: str, tag: str) -> tuple[str, int]:
    """The kustomization with its images block rewritten, and how many images it names."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^images:\s*(#.*)?$", line)), None)
    if start is None:
        raise ValueError("it has no top-level `images:` list to update")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("- ") or lines[end].startswith("  ")):
        end += 1
    names = [match.group(1) for line in lines[start + 1:end] if (match := ENTRY.match(line))]
    if not names:
        raise ValueError("its `images:` list is empty")
    block = []
    for name in names:
        service = name.rsplit("/", 1)[-1]
        block += [f"- name: {name}", f"  newName: {registry.rstrip('/')}/{service}", f"  newTag: {tag}"]
    return "\n".join(lines[:start + 1] + block + lines[end:]) + "\n", len(names)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Set newName and newTag of every image of a Kustomize overlay.")
    parser.add_argument("overlay", type=Path, help="the overlay folder, e.g. manifests/overlays/dev")
    parser.add_argument("--registry", required=True, help="where CI pushed the images, e.g. ghcr.io/you/workshop")
    parser.add_argument("--tag", required=True, help="the tag CI pushed, e.g. the commit SHA")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[\w][\w.-]{0,127}", args.tag):
        print(f"bump-image-tags: {args.tag!r} is not a valid image tag (letters, digits, _ . -).", file=sys.stderr)
        return 2
    path = args.overlay / "kustomization.yaml"
    try:
        text, count = rewrite(path.read_text(), args.registry, args.tag)
    except OSError as error:
        print(f"bump-image-tags: cannot read {path}: {error.strerror}.", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"bump-image-tags: {path}: {error}.", file=sys.stderr)
        return 2
    path.write_text(text)
    print(f"{path}: {count} images now {args.registry.rstrip('/')}/<service>:{args.tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
