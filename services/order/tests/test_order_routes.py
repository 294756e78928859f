"""Orders: charged through a real account service; an Idempotency-Key makes a retry harmless."""

import pytest
import requests

from servicekit.app import close
from servicekit.testing import make_app, serve

ORDER = {"customer_id": 2, "item": "coffee", "quantity": 2}


def balance(client, customer_id=2):
    return client.get(f"/orders?customer_id={customer_id}").get_json()["account"]["balance_cents"]


def test_listing_includes_orders_account_and_trace(client):
    body = client.get("/orders?customer_id=1").get_json()
    assert [o["id"] for o in body["orders"]] == [3, 1]
    assert body["account"]["balance_cents"] == 9050 and body["missing"] == []
    assert [(h["service"], h["status"]) for h in body["trace"]] == [("order", 200), ("account", 200)]


def test_order_is_recorded_and_charged(client):
    resp = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "charged-1"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["order"] | {"id": 0, "created_at": "", "reference": ""} == {
        "id": 0, "customer_id": 2, "item": "coffee", "quantity": 2, "amount_cents": 700, "status": "paid", "created_at": "",
        "reference": ""}
    assert body["order"]["reference"].startswith(f"order-{body['order']['id']}-")
    assert body["balance_cents"] == 9700 - 700 == balance(client)


def test_same_idempotency_key_twice_is_one_order_one_debit_same_answer(client):
    headers = {"Idempotency-Key": "k-1"}
    first = client.post("/orders", json=ORDER, headers=headers)
    second = client.post("/orders", json=ORDER, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    strip = lambda r: {k: v for k, v in r.get_json().items() if k != "trace"}  # noqa: E731
    assert strip(first) == strip(second)
    assert second.headers["Idempotent-Replayed"] == "true"
    listing = client.get("/orders?customer_id=2").get_json()
    assert [o["id"] for o in listing["orders"]].count(first.get_json()["order"]["id"]) == 1
    debits = [e for e in listing["account"]["ledger"] if e["reference"] == first.get_json()["order"]["reference"]]
    assert len(debits) == 1 and balance(client) == 9700 - 700


def test_key_reused_with_another_body_is_422(client):
    client.post("/orders", json=ORDER, headers={"Idempotency-Key": "k-2"})
    resp = client.post("/orders", json={**ORDER, "quantity": 3}, headers={"Idempotency-Key": "k-2"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "idempotency key reused"


def test_insufficient_funds_rejects_the_order(client):
    resp = client.post("/orders", json={"customer_id": 2, "item": "sandwich", "quantity": 20},
                       headers={"Idempotency-Key": "too-much"})
    assert resp.status_code == 409
    assert resp.get_json()["order"]["status"] == "rejected" and resp.get_json()["error"] == "insufficient funds"


def test_account_down_leaves_order_pending_and_a_retry_charges_once(tmp_path):
    """The retry story Istio relies on: 503 while account is down, same key later -> one charge."""
    app = make_app("order", tmp_path / "order", ACCOUNT_URL="http://127.0.0.1:9", OUTBOUND_TIMEOUT_SECONDS="0.5")
    try:
        c = app.test_client()
        down = c.post("/orders", json=ORDER, headers={"Idempotency-Key": "retry-me"})
        assert down.status_code == 503
        assert down.get_json()["order"]["status"] == "pending"
        assert down.get_json()["trace"][1]["status"] is None
        listing = c.get("/orders?customer_id=2").get_json()
        assert listing["account"] is None and listing["missing"] == ["account"]
        with serve("account", tmp_path) as account_url:
            app.extensions["servicekit"].downstream["account"].base_url = account_url
            retried = c.post("/orders", json=ORDER, headers={"Idempotency-Key": "retry-me"})
            again = c.post("/orders", json=ORDER, headers={"Idempotency-Key": "retry-me"})
            ledger = requests.get(f"{account_url}/accounts/2", timeout=5).json()["ledger"]
        assert retried.status_code == again.status_code == 201
        assert retried.get_json()["order"]["id"] == down.get_json()["order"]["id"]
        assert [e["reference"] for e in ledger].count(down.get_json()["order"]["reference"]) == 1
    finally:
        close(app)


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"customer_id": 2, "item": "caviar", "quantity": 1}, 400, "choose one of"),
    ({"customer_id": "2", "item": "tea", "quantity": 1}, 400, "customer_id must be an integer"),
    ({"customer_id": 2, "item": "tea", "quantity": 21}, 400, "between 1 and 20"),
    ({"customer_id": 2, "item": ["tea"], "quantity": 1}, 400, "item must be a non-empty string"),
])
def test_bad_orders_are_400(client, body, status, detail):
    resp = client.post("/orders", json=body, headers={"Idempotency-Key": "bad"})
    assert resp.status_code == status and detail in resp.get_json()["detail"]


@pytest.mark.parametrize(("path", "status"), [
    ("/orders", 400), ("/orders?customer_id=x", 400), ("/orders?customer_id=1&limit=51", 400),
    ("/orders/999", 404), ("/orders/1", 200), ("/catalog", 200),
])
def test_reads(client, path, status):
    assert client.get(path).status_code == status


def test_bad_idempotency_key_is_400(client):
    resp = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "x" * 129})
    assert resp.status_code == 400
