"""Issue 20, items 2 and 3: stalled clients and a frozen peer must not shut a service out.

Real gunicorn processes with the images' settings on 127.0.0.1; every wait is bounded.
"""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gunicorn_services import chain, running

pytestmark = pytest.mark.slow

STALLED = 10  # more than the 8 threads a service had
HALF_REQUEST_LINE = b"GET /accounts/1 HT"
PARTIAL_BODY = (b"POST /accounts/1/debits HTTP/1.1\r\nHost: account\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{\"")
# What the stalled clients are given before the server ends their connection (set short here).
READ_TIMEOUT = 2


def answers_quickly(url: str, within: float) -> float:
    start = time.perf_counter()
    resp = requests.get(url, timeout=within)
    elapsed = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    return elapsed


@pytest.mark.parametrize("stall", [HALF_REQUEST_LINE, PARTIAL_BODY], ids=["half-request-line", "partial-body"])
def test_stalled_clients_neither_starve_healthz_nor_stay_forever(tmp_path, stall):
    with running(tmp_path, "account", REQUEST_HEADER_TIMEOUT_SECONDS=READ_TIMEOUT,
                 REQUEST_BODY_TIMEOUT_SECONDS=READ_TIMEOUT) as account:
        sockets = [socket.create_connection(("127.0.0.1", account.port), timeout=READ_TIMEOUT + 5)
                   for _ in range(STALLED)]
        try:
            for s in sockets:
                s.sendall(stall)
            # Probe for longer than it takes the server to pick every stalled socket up:
            # each probe must be answered within a second while all ten stay open.
            probes = [answers_quickly(account.url + "/healthz", within=1.0)
                      for _ in range(5) if time.sleep(0.2) is None]
            assert max(probes) < 1.0
            # And the server ends each stalled connection by itself: closed, or a JSON 408.
            for s in sockets:
                answer = s.recv(4096)
                assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
                assert b"<html" not in answer
        finally:
            for s in sockets:
                s.close()


def test_frozen_account_gives_a_partial_summary_in_time_and_probes_stay_fast(tmp_path):
    """Deadlines: each hop gives its next hop less time than it has, so the deepest hop times out
    first and the summary still answers 200 with missing ["account"]."""
    with chain(tmp_path) as services:
        summary = services["gateway"].url + "/api/customers/1/summary"
        assert requests.get(summary, timeout=5).json()["missing"] == []
        services["account"].pause()
        try:
            start = time.perf_counter()
            resp = requests.get(summary, timeout=5)
            elapsed = time.perf_counter() - start
            body = resp.json()
            assert resp.status_code == 200, body
            assert body["missing"] == ["account"] and body["customer"]["id"] == 1 and body["orders"]
            # The gateway's own budget is OUTBOUND_TIMEOUT_SECONDS (2 s): the partial answer comes first.
            assert elapsed < 2.0, f"summary took {elapsed:.2f}s"
            assert [h["service"] for h in body["trace"]] == ["gateway", "customer", "order", "account"]
            assert body["trace"][-1]["status"] is None and "timed out" in body["trace"][-1]["error"]

            # 40 summaries at once, all waiting on the frozen account: the probes are not queued behind them.
            with ThreadPoolExecutor(40) as pool:
                busy = [pool.submit(requests.get, summary, timeout=10) for _ in range(40)]
                time.sleep(0.3)  # let them reach the gateway; the probes below race them on purpose
                probe_times = [answers_quickly(services["gateway"].url + "/healthz", within=1.0) for _ in range(3)]
                statuses = [f.result().status_code for f in busy]
            assert max(probe_times) < 0.5, probe_times
            assert statuses == [200] * 40
        finally:
            services["account"].resume()
