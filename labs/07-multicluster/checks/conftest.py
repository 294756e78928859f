"""Level 7's checks read two clusters: the one `workshop check 7` grades, and its peer.

The peer is the other half of the pair: kind-east <-> kind-west; WORKSHOP_PEER_CONTEXT names
another one. Both are read from the
same kubeconfig (KUBECONFIG may list several files). The ``clusters`` fixture maps each
cluster's Istio name (east, west: what istiod was installed with) to a read-only Cluster.
"""

from __future__ import annotations

import os

import pytest

from workshop.grading.kube import CannotCheck, Cluster
from workshop.grading.plugin import PLUGIN_KEY

from level7_mesh import ISTIO_NAMESPACE, mesh_values

PEERS = {"kind-east": "kind-west"}
PEERS.update({peer: context for context, peer in list(PEERS.items())})
# A cluster's name when Istio is not installed yet (and cannot tell it).
NAMES = {"kind-east": "east", "kind-west": "west"}


def peer_context(context: str) -> str:
    peer = os.environ.get("WORKSHOP_PEER_CONTEXT") or PEERS.get(context)
    if not peer:
        raise CannotCheck(f"Level 7 grades two clusters, and {context!r} is not kind-east or kind-west: run "
                          "make check-7 CHECK_ARGS='--context kind-east' (or set WORKSHOP_PEER_CONTEXT).")
    return peer


def connect_peer(context: str, kubeconfig: str | None) -> Cluster:
    try:
        peer = Cluster.connect(context=context, kubeconfig=kubeconfig)
        peer.preflight()
    except CannotCheck:
        raise CannotCheck(f"Cannot reach the second cluster (context {context}): create it with "
                          f"make cluster-{NAMES.get(context, 'west')}, or check your kubeconfig.") from None
    return peer


def istio_name(cluster: Cluster) -> str:
    values = mesh_values(cluster.get("ConfigMap", "istio-sidecar-injector", ISTIO_NAMESPACE))
    return values["clusterName"] or NAMES.get(cluster.context, cluster.context)


@pytest.fixture(scope="session")
def clusters(request, cluster: Cluster) -> dict[str, Cluster]:
    plugin = request.config.stash[PLUGIN_KEY]
    peer = connect_peer(peer_context(cluster.context), plugin.kubeconfig)
    request.addfinalizer(peer.close)
    # The plugin re-reads the graded cluster between attempts of a check that waits; make it
    # forget what the peer answered too, or a waiting check would never see the peer change.
    begin, refresh = cluster.begin_attempt, cluster.refresh

    def begin_both():
        begin()
        peer.begin_attempt()

    def refresh_both():
        refresh()
        peer.refresh()

    cluster.begin_attempt, cluster.refresh = begin_both, refresh_both
    both = {istio_name(cluster): cluster, istio_name(peer): peer}
    if len(both) != 2:
        raise CannotCheck(f"Both clusters call themselves {next(iter(both))!r} (values.global.multiCluster."
                          "clusterName): install them with labs/07-multicluster/install/istio-east.yaml and istio-west.yaml.")
    return dict(sorted(both.items()))
