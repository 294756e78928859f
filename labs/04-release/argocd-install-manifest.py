#!/usr/bin/env python3
"""Write Argo CD's install manifest for a version, taken from its Go module (no GitHub needed).

    $ python3 labs/04-release/argocd-install-manifest.py "$ARGOCD_VERSION" .cache/argocd/install.yaml

The test cluster (the sim) runs on machines that reach package registries only. The same
manifests/install.yaml that learners apply from GitHub is in the module
github.com/argoproj/argo-cd/v3 at that version, which the Go module proxy serves (and
`go` verifies against the checksum database). Its go.mod asks for a newer Go than some
machines have, so `go mod download` reports an error after fetching: the verified zip is
there all the same, and the file is read from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODULE = "github.com/argoproj/argo-cd/v3"


def fail(message: str) -> int:
    print(f"argocd-install-manifest: {message}", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        return fail("usage: argocd-install-manifest.py VERSION OUTPUT (VERSION is ARGOCD_VERSION of versions.env).")
    version, output = argv[0], Path(argv[1])
    go = shutil.which("go")
    if go is None:
        return fail("the Go toolchain (`go`) is not on PATH: install Go, or set ARGOCD_MANIFEST to a local file.")
    with tempfile.TemporaryDirectory() as work:  # outside any module: a plain download
        done = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{version}"], capture_output=True,
                              text=True, cwd=work, timeout=600, env={**os.environ, "GOTOOLCHAIN": "local"})
    try:
        info = json.loads(done.stdout or "{}")
    except ValueError:
        info = {}
    archive = info.get("Zip")
    if not archive or not Path(archive).is_file():
        detail = " ".join((info.get("Error") or done.stderr or "no answer").split()).rstrip(".")
        return fail(f"could not download {MODULE}@{version} through the Go module proxy ({detail}).")
    try:
        with zipfile.ZipFile(archive) as module:
            text = module.read(f"{MODULE}@{version}/manifests/install.yaml")
    except KeyError:
        return fail(f"{MODULE}@{version} has no manifests/install.yaml.")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(text)
    os.replace(temporary, output)  # never a half-written manifest for the next run
    print(f"Argo CD {version} install manifest: {output} (from the Go module {MODULE})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
