"""What the real-node sim installs once its API answers: the `kubernetes` endpoints and CoreDNS.

The sim's API server listens on 127.0.0.1 only and runs ``--endpoint-reconciler-type=none``;
pods reach it through a forwarder on the host side of the first node's veth, so the
``kubernetes`` Service gets an EndpointSlice naming that forwarder (what the reconciler of a
real cluster writes for the API server's own address).
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import yaml

from workshop import REPO_ROOT

COREDNS_TEMPLATE = REPO_ROOT / "sim" / "coredns.yaml"


def kubernetes_endpoints(address: str, port: int) -> list[dict]:
    return [{
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {
            "kubernetes.io/service-name": "kubernetes",
            "endpointslice.kubernetes.io/managed-by": "workshop-sim",
        }},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }]


def coredns(image: str, dns_ip: str) -> list[dict]:
    text = Template(COREDNS_TEMPLATE.read_text()).substitute(image=image, dns_ip=dns_ip)
    return [document for document in yaml.safe_load_all(text) if document]


def write(path: Path, documents: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path
