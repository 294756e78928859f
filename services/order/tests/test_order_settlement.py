"""Issue 20, item 1: account answers after order gave up. The debit landed, the order said 503:
the order must end paid (one charge), by a retry with its key or by the settler on its own."""

import time

import pytest
import requests

from servicekit.app import close, kit
from servicekit.testing import live, make_app

from order import settlement

ORDER = {"customer_id": 2, "item": "sandwich", "quantity": 1}
SLOW_SECONDS = 1.0  # account's answer to a debit; order waits 0.4 s


def slow_debits(app):
    """Account, answering debits only after order has stopped waiting (the debit still lands)."""
    inner = app.wsgi_app

    def wsgi(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/debits"):
            time.sleep(SLOW_SECONDS)
        return inner(environ, start_response)

    app.wsgi_app = wsgi
    return app


@pytest.fixture
def slow_account(tmp_path):
    app = slow_debits(make_app("account", tmp_path / "account"))
    with live(app) as url:
        yield url
    close(app)


def debits_of(account_url: str, order_id: int) -> list[dict]:
    ledger = requests.get(f"{account_url}/accounts/2", timeout=5).json()["ledger"]
    return [e for e in ledger if e["reference"].startswith(f"order-{order_id}-")]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {seconds}s")


def test_a_retry_with_the_key_settles_the_order_without_a_second_charge(tmp_path, slow_account):
    app = make_app("order", tmp_path / "order", ACCOUNT_URL=slow_account, OUTBOUND_TIMEOUT_SECONDS="0.4",
                   ORDER_SETTLE_INTERVAL_SECONDS="0")
    try:
        client = app.test_client()
        first = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "slow-1"})
        assert first.status_code == 503 and first.get_json()["order"]["status"] == "pending"
        order_id = first.get_json()["order"]["id"]
        # The debit was taken although order gave up: that is the state to settle.
        wait_for(lambda: debits_of(slow_account, order_id), 5, "the late debit in account's ledger")
        assert settlement.settle_pending(kit(app), None, older_than=0) == [(order_id, "paid")]
        retried = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "slow-1"})
        assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
        assert retried.get_json()["order"] | {"created_at": ""} == {**first.get_json()["order"], "status": "paid",
                                                                    "created_at": ""}
        assert len(debits_of(slow_account, order_id)) == 1
    finally:
        close(app)


def test_a_pending_order_is_settled_even_if_nobody_retries(tmp_path, slow_account):
    app = make_app("order", tmp_path / "order", ACCOUNT_URL=slow_account, OUTBOUND_TIMEOUT_SECONDS="0.4",
                   ORDER_SETTLE_INTERVAL_SECONDS="0.2", ORDER_SETTLE_AFTER_SECONDS="0")
    try:
        client = app.test_client()
        first = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "slow-2"})
        assert first.status_code == 503
        order_id = first.get_json()["order"]["id"]
        wait_for(lambda: client.get(f"/orders/{order_id}").get_json()["status"] == "paid", 10,
                 "the pending order settled by the settler")
        assert len(debits_of(slow_account, order_id)) == 1
    finally:
        close(app)


def test_settling_a_refused_charge_rejects_the_order(tmp_path):
    # Account is down when the order comes; by settlement time it answers 404 (customer 99 has no account).
    app = make_app("order", tmp_path / "order", ACCOUNT_URL="http://127.0.0.1:9", OUTBOUND_TIMEOUT_SECONDS="0.4",
                   ORDER_SETTLE_INTERVAL_SECONDS="0")
    try:
        client = app.test_client()
        first = client.post("/orders", json={**ORDER, "customer_id": 99}, headers={"Idempotency-Key": "nobody"})
        assert first.status_code == 503
        account = make_app("account", tmp_path / "account")
        with live(account) as account_url:
            kit(app).downstream["account"].base_url = account_url
            settled = settlement.settle_pending(kit(app), None, older_than=0)
        close(account)
        assert settled == [(first.get_json()["order"]["id"], "rejected")]
        again = client.post("/orders", json={**ORDER, "customer_id": 99}, headers={"Idempotency-Key": "nobody"})
        assert again.status_code == 404 and again.get_json()["order"]["status"] == "rejected"
    finally:
        close(app)
