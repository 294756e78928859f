"""Issue 20, items 4, 7, 8 and 10, against real gunicorn processes on 127.0.0.1: what a
hostile client sends on the wire, and what a service answers while it drains."""

import json
import signal
import time
import uuid

import pytest
import requests

from gunicorn_services import raw_exchange, running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    with running(tmp_path_factory.mktemp("hostile"), "account") as service:
        yield service


@pytest.fixture(scope="module")
def order(tmp_path_factory, account):
    with running(tmp_path_factory.mktemp("hostile"), "order", ACCOUNT_URL=account.url) as service:
        yield service


def head_and_json(answer: bytes) -> tuple[str, dict, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, json.loads(body)


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),                       # lowercase method
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),        # control character in a header
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
], ids=["lowercase-method", "control-char", "too-many-headers", "header-too-large", "uri-too-long"])
def test_errors_gunicorn_makes_itself_are_json(account, request_bytes, status):
    status_line, headers, body = head_and_json(raw_exchange(account.port, request_bytes))
    assert status_line.startswith(f"HTTP/1.1 {status} ")
    assert headers["content-type"] == "application/json" and body["error"]


def test_a_chunked_body_over_the_limit_is_413(account):
    chunk = b"a" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(160)) + b"0\r\n\r\n"  # 10 MiB
    answer = raw_exchange(account.port, b"POST /accounts/1/debits HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    status_line, _, payload = head_and_json(answer)
    assert status_line.startswith("HTTP/1.1 413 ") and payload["error"] == "request entity too large"


def test_made_up_methods_are_counted_under_one_label(account):
    session = requests.Session()
    for n in range(300):
        assert session.request(f"X{uuid.uuid4().hex[:10].upper()}{n}", account.url + "/healthz",
                               timeout=5).status_code == 405
    session.close()
    metrics = requests.get(account.url + "/metrics", timeout=5).text
    methods = {line.split('method="', 1)[1].split('"', 1)[0]
               for line in metrics.splitlines() if line.startswith("http_requests_total{")}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}
    assert 'http_requests_total{method="other",route="<unmatched>",status="405"} 300.0' in metrics


def test_idempotency_key_sent_twice_is_refused_and_charges_nothing(order, account):
    before = requests.get(account.url + "/accounts/3", timeout=5).json()["balance_cents"]
    body = json.dumps({"customer_id": 3, "item": "tea", "quantity": 1}).encode()
    request = (b"POST /orders HTTP/1.1\r\nHost: order\r\nContent-Type: application/json\r\n"
               b"Idempotency-Key: twice\r\nIdempotency-Key: twice\r\nConnection: close\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    for _ in range(2):  # the merged "twice,twice" would have been a new key each time
        status_line, _, answer = head_and_json(raw_exchange(order.port, request))
        assert status_line.startswith("HTTP/1.1 400 ") and "once" in answer["detail"]
    assert requests.get(account.url + "/accounts/3", timeout=5).json()["balance_cents"] == before


def test_an_order_without_idempotency_key_is_400(order):
    resp = requests.post(order.url + "/orders", json={"customer_id": 3, "item": "tea", "quantity": 1}, timeout=5)
    assert resp.status_code == 400 and resp.json()["error"] == "missing header"


def test_readyz_answers_503_while_draining_then_the_process_exits(tmp_path):
    with running(tmp_path, "account") as account:
        assert requests.get(account.url + "/readyz", timeout=2).status_code == 200
        start = time.monotonic()
        account.proc.send_signal(signal.SIGTERM)
        seen = None
        while time.monotonic() - start < 5 and seen != 503:
            seen = requests.get(account.url + "/readyz", timeout=2).status_code
        assert seen == 503, "/readyz never said 503 after SIGTERM"
        assert requests.get(account.url + "/readyz", timeout=2).json() == {"status": "draining"}
        assert requests.get(account.url + "/healthz", timeout=2).status_code == 200  # alive: no restart
        assert account.proc.wait(15) == 0 and time.monotonic() - start < 10
