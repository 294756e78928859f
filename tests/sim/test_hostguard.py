"""While a sim runs, its addresses never leave this machine: the host answers "No route to host".

The sim's API server runs on the host. A Service address (10.96.x.x) or a KWOK pod's address
(10.244.x.x) means nothing outside a node; without a guard, a packet to one would follow the
host's default route out. The connects below fail locally, before any packet is sent.
"""

from __future__ import annotations

import errno
import os
import socket
import time

import pytest

from workshop.sim.hostguard import GUARDED_RANGES

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the guard's routes need root (a developer's unprivileged sim runs without)")


@pytest.mark.parametrize("address", ["10.96.0.1", "10.244.3.7", "10.246.250.9", "10.247.250.9"])
def test_a_sim_address_fails_at_once_on_the_host(kubeconfig, address):
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        code = client.connect_ex((address, 443))
    assert code == errno.EHOSTUNREACH, f"connect to {address}: {errno.errorcode.get(code, code)}"
    assert time.monotonic() - started < 1


def test_every_real_node_slot_is_inside_the_guarded_ranges():
    import ipaddress

    from workshop.sim.nodenet import SLOTS, sim_link_cidr, sim_pod_cidr

    guarded = [ipaddress.ip_network(cidr) for cidr in GUARDED_RANGES]
    for slot in SLOTS:
        for cidr in (sim_pod_cidr(slot), sim_link_cidr(slot)):
            assert any(ipaddress.ip_network(cidr).subnet_of(network) for network in guarded), cidr
