"""kind's extraPortMappings on the host: sim 1 insists on the learner's ports, another sim takes
them when free and says who held them otherwise (workshop/sim/hostports.py)."""

import os
import socket

import pytest

from workshop.sim import hostports
from workshop.sim.processes import free_ports


@pytest.fixture
def learner_ports(monkeypatch):
    """Two ports free right now stand for 9080/9443, so the test never touches the real ones."""
    ports = dict(zip(free_ports(2), (30080, 30443)))
    monkeypatch.setattr(hostports, "LEARNER_PORTS", ports)
    return ports


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen(1)
    return sock


def test_free_learner_ports_are_taken_by_every_sim(learner_ports):
    assert hostports.choose(1) == (learner_ports, {})
    assert hostports.choose(3) == (learner_ports, {})
    assert hostports.learner_ports_problem(learner_ports, {}) is None


def test_sim_1_refuses_to_start_when_a_learner_port_is_held_and_names_the_holder(learner_ports):
    held = next(iter(learner_ports))
    with _listen(held):
        with pytest.raises(hostports.PortsHeld) as error:
            hostports.choose(1)
    message = str(error.value)
    assert f"127.0.0.1:{held}" in message and f"is held by pid {os.getpid()}" in message
    assert "SIM=N gets free ports instead" in message


def test_another_sim_takes_free_ports_and_records_who_held_them(learner_ports):
    held = next(iter(learner_ports))
    with _listen(held):
        mapping, holders = hostports.choose(3)
    assert sorted(mapping.values()) == [30080, 30443]
    assert not set(mapping) & set(learner_ports)
    assert holders == {held: holders[held]} and holders[held].startswith(f"pid {os.getpid()} (")
    problem = hostports.learner_ports_problem(mapping, holders)
    assert f"127.0.0.1:{held} was held by pid {os.getpid()}" in problem
    assert "restart the sim" in problem
