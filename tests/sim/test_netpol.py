"""What the real-node sim installs for NetworkPolicy (workshop/sim/netpol.py), read without a cluster:
upstream's install.yaml with only the sim's changes, and the queue rules standing in for its nftables chain.
The traffic itself is tested in test_real_netpol.py."""

from __future__ import annotations

import pytest

from workshop.sim import netpol
from workshop.sim.gobuild import BuildError


@pytest.fixture(scope="module")
def documents():
    try:
        return netpol.documents("localhost/workshop-sim/kube-network-policies:test")
    except BuildError as error:  # the module comes from the Go module proxy
        pytest.skip(str(error))


def test_upstream_install_yaml_with_kindnets_settings(documents):
    kinds = [(doc["kind"], doc["metadata"]["name"]) for doc in documents]
    assert kinds == [("ClusterRole", netpol.NAME), ("ClusterRoleBinding", netpol.NAME),
                     ("ServiceAccount", netpol.NAME), ("DaemonSet", netpol.NAME)]
    pod = documents[-1]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["hostNetwork"] is True and pod["serviceAccountName"] == netpol.NAME
    assert container["image"] == "localhost/workshop-sim/kube-network-policies:test"
    # The image has no entrypoint (upstream's has a CMD only): the args are the whole command.
    assert container["args"][0] == "/bin/netpol"
    assert f"--nfqueue-id={netpol.QUEUE_ID}" in container["args"] and "--fail-open" in container["args"]
    assert [arg for arg in container["args"] if arg.startswith("--nfqueue-id")] == [f"--nfqueue-id={netpol.QUEUE_ID}"]
    assert "--netfilter-bug-1766-fix=false" in container["args"] and "--disable-nri" in container["args"]
    assert "volumes" not in pod and "volumeMounts" not in container  # NRI's host folders only


def test_queue_rules_are_upstreams_chain_in_iptables():
    rules = [" ".join(rule) for rule in netpol.queue_rules()]
    assert rules == [
        f"-N {netpol.CHAIN}",
        f"-A {netpol.CHAIN} -m owner --uid-owner 0 -j RETURN",
        f"-A {netpol.CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN",
        f"-A {netpol.CHAIN} -j NFQUEUE --queue-num 102 --queue-bypass",
        f"-A POSTROUTING -j {netpol.CHAIN}",
    ]
