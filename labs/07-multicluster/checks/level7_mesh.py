"""What level 7's checks read from two clusters: small pure functions, unit-tested.

    >>> mesh_values({"data": {"values": '{"global": {"meshID": "m", "network": "n1", '
    ...              '"multiCluster": {"clusterName": "east"}}}'}})
    {'meshID': 'm', 'network': 'n1', 'clusterName': 'east'}
    >>> is_loopback("https://127.0.0.1:39211"), is_loopback("https://172.18.0.3:6443")
    (True, False)
    >>> [unreachable_from_pods(server) for server in ("https://127.0.0.1:39211", "https://:6443", "https://172.18.0.3:6443")]
    [True, True, False]
"""

from __future__ import annotations

import base64
import ipaddress
import json
from urllib.parse import urlparse

import yaml

ISTIO_NAMESPACE = "istio-system"
NAMESPACE = "workshop"
NETWORK_LABEL = "topology.istio.io/network"
MULTICLUSTER_LABEL = "istio/multiCluster"
CLUSTER_ANNOTATION = "networking.istio.io/cluster"
EASTWEST = "istio-eastwestgateway"
EASTWEST_PORT = 15443
PROXY = "istio-proxy"


def mesh_values(injector_config_map: dict | None) -> dict:
    """meshID, network and clusterName as istiod was installed with them (istio-sidecar-injector's values)."""
    raw = ((injector_config_map or {}).get("data") or {}).get("values") or "{}"
    try:
        glob = json.loads(raw).get("global") or {}
    except ValueError:
        glob = {}
    return {"meshID": glob.get("meshID"), "network": glob.get("network"),
            "clusterName": (glob.get("multiCluster") or {}).get("clusterName")}


def secret_text(secret: dict, key: str) -> str | None:
    value = (secret.get("data") or {}).get(key)
    return base64.b64decode(value).decode("utf-8", "replace") if value else None


def kubeconfig_servers(text: str | None) -> list[str]:
    """The API server URLs a kubeconfig (a remote secret's payload) points at."""
    try:
        config = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return []
    return [(item.get("cluster") or {}).get("server", "") for item in config.get("clusters") or [] if isinstance(item, dict)]


def is_loopback(server: str) -> bool:
    host = urlparse(server).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_host(server: str) -> str:
    """The host of an API server URL.

    >>> server_host("https://172.18.0.3:6443"), server_host("https://:6443")
    ('172.18.0.3', '')
    """
    return urlparse(server).hostname or ""


def unreachable_from_pods(server: str) -> bool:
    """No pod of the other cluster can reach it: a loopback address, or no address at all (the
    page's $WEST_IP came out empty, e.g. from a node that reports no InternalIP)."""
    return is_loopback(server) or not urlparse(server).hostname


def has_ready_sidecar(pod: dict) -> bool:
    """istio-proxy in the pod (a native sidecar in initContainers, or a container) and ready."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    names = {c.get("name") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    return PROXY in names and any(s.get("name") == PROXY and s.get("ready") for s in statuses)


def mesh_networks(mesh_config_map: dict | None) -> dict:
    """The `networks` of istiod's meshNetworks (ConfigMap istio, key meshNetworks), {} when unset.

    >>> mesh_networks({"data": {"meshNetworks": "networks:\\n  n1:\\n    gateways:\\n    - address: 192.0.2.1\\n      port: 31443"}})
    {'n1': {'gateways': [{'address': '192.0.2.1', 'port': 31443}]}}
    """
    raw = ((mesh_config_map or {}).get("data") or {}).get("meshNetworks") or ""
    try:
        parsed = yaml.safe_load(raw) or {}
    except yaml.YAMLError:
        return {}
    return (parsed.get("networks") or {}) if isinstance(parsed, dict) else {}


def gateway_addresses(network: dict) -> list[tuple[str | None, int | None]]:
    """(address, port) of each gateway of one network of meshNetworks."""
    return [(gateway.get("address"), gateway.get("port")) for gateway in network.get("gateways") or []
            if isinstance(gateway, dict)]


def internal_ip(node: dict | None) -> str | None:
    for address in ((node or {}).get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return address.get("address")
    return None


def node_port(service: dict | None, port: int) -> int | None:
    for item in ((service or {}).get("spec") or {}).get("ports") or []:
        if item.get("port") == port:
            return item.get("nodePort")
    return None


def answers_from(answered_by: dict, pods_by_cluster: dict[str, set[str]]) -> dict[str, int]:
    """How many answers each cluster's pods gave, from loadgen's ``answered_by`` ({"west/account-x": 3}).

    An answer counts for a cluster only when the pod it names is one of that cluster's pods (as
    the cluster's API lists them): the ``west/`` prefix alone proves nothing.

    >>> answers_from({"east/account-a": 4, "west/account-b": 2, "west/gone": 9}, {"east": {"account-a"}, "west": {"account-b"}})
    {'east': 4, 'west': 2}
    """
    counts: dict[str, int] = {}
    for pod, count in answered_by.items():
        name = str(pod).rsplit("/", 1)[-1]
        for cluster, names in pods_by_cluster.items():
            if name in names:
                counts[cluster] = counts.get(cluster, 0) + int(count)
    return counts
