"""Kubeconfig files for the sim cluster: one for you (admin), one per control-plane component.

Certificates are embedded (``*-data`` fields), so a kubeconfig keeps working when copied
elsewhere, e.g. merged into ~/.kube/config with
``KUBECONFIG=~/.kube/config:.sim/kubeconfig kubectl config view --flatten``.
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def render(context: str, server: str, pki: Path, identity: str) -> dict:
    """A kubeconfig whose single context ``context`` talks to ``server`` as ``identity`` (a cert stem in ``pki``)."""
    user = f"{context}-{identity}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {
            "server": server,
            "certificate-authority-data": _b64(pki / "ca.crt"),
        }}],
        "users": [{"name": user, "user": {
            "client-certificate-data": _b64(pki / f"{identity}.crt"),
            "client-key-data": _b64(pki / f"{identity}.key"),
        }}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }


def write(path: Path, context: str, server: str, pki: Path, identity: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(render(context, server, pki, identity), sort_keys=False))
    path.chmod(0o600)  # it holds a private key
    return path
