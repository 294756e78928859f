"""The account API: balances, idempotent debits, v2's loyalty points, bad input as 4xx JSON."""

import pytest

from servicekit.app import close
from servicekit.testing import make_app


def test_seeded_account_has_balance_and_ledger(client):
    body = client.get("/accounts/1").get_json()
    assert body["balance_cents"] == 10_000 - 700 - 250
    assert [e["reference"] for e in body["ledger"]][-1] == "opening balance"
    assert body["trace"][0] | {"latency_ms": 0} == {
        "service": "account", "version": "v1", "pod": "account-test", "status": 200, "latency_ms": 0}
    assert "loyalty" not in body


@pytest.mark.parametrize("version", ["v2"], indirect=True)
def test_v2_adds_loyalty_points(client):
    body = client.get("/accounts/1").get_json()
    assert body["loyalty"] == {"points": 9, "tier": "bronze"}
    assert body["trace"][0]["version"] == "v2"


def test_debit_charges_once_per_reference(client):
    first = client.post("/accounts/2/debits", json={"amount_cents": 500, "reference": "order-99"})
    again = client.post("/accounts/2/debits", json={"amount_cents": 500, "reference": "order-99"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["entry"] == again.get_json()["entry"]
    assert again.get_json()["replayed"] is True
    assert client.get("/accounts/2").get_json()["balance_cents"] == 10_000 - 300 - 500


def test_same_reference_other_amount_is_a_conflict(client):
    client.post("/accounts/3/debits", json={"amount_cents": 100, "reference": "x"})
    resp = client.post("/accounts/3/debits", json={"amount_cents": 200, "reference": "x"})
    assert resp.status_code == 409 and resp.get_json()["error"] == "reference already used"


def test_insufficient_funds(client):
    resp = client.post("/accounts/3/debits", json={"amount_cents": 10_001, "reference": "big"})
    assert resp.status_code == 409
    assert resp.get_json() | {"detail": None} == {"error": "insufficient funds", "detail": None, "balance_cents": 10_000}


def test_credit_tops_up(client):
    assert client.post("/accounts/3/credits", json={"amount_cents": 1, "reference": "gift"}).status_code == 201
    assert client.get("/accounts/3").get_json()["balance_cents"] == 10_001


def test_data_survives_a_restart(tmp_path):
    app = make_app("account", tmp_path)
    app.test_client().post("/accounts/1/debits", json={"amount_cents": 50, "reference": "before-restart"})
    close(app)
    again = make_app("account", tmp_path)
    try:
        assert again.test_client().get("/accounts/1").get_json()["balance_cents"] == 10_000 - 950 - 50
    finally:
        close(again)


@pytest.mark.parametrize(("kwargs", "status", "detail"), [
    ({"data": "{not json", "content_type": "application/json"}, 400, "JSON object"),
    ({"data": "[]", "content_type": "application/json"}, 400, "JSON object"),
    ({"data": "amount=1", "content_type": "text/plain"}, 415, "Content-Type"),
    ({"json": {"amount_cents": "5", "reference": "r"}}, 400, "amount_cents must be an integer"),
    ({"json": {"amount_cents": True, "reference": "r"}}, 400, "amount_cents must be an integer"),
    ({"json": {"amount_cents": 0, "reference": "r"}}, 400, "between 1"),
    ({"json": {"amount_cents": 5, "reference": " "}}, 400, "reference must be a non-empty string"),
    ({"json": {"amount_cents": 5, "reference": "r" * 65}}, 400, "at most 64"),
    ({"json": {"amount_cents": 5, "reference": "r" * 20_000}}, 413, None),
])
def test_bad_input_is_a_4xx_json_error(client, kwargs, status, detail):
    resp = client.post("/accounts/1/debits", **kwargs)
    assert resp.status_code == status
    assert set(resp.get_json()) >= {"error", "detail"}
    if detail:
        assert detail in resp.get_json()["detail"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/accounts/99", 404),
    ("GET", "/accounts/0", 404),
    ("GET", "/accounts/99999999999999999999999", 404),
    ("GET", "/accounts/abc", 404),
    ("GET", "/nope", 404),
    ("DELETE", "/accounts/1", 405),
])
def test_unknown_ids_routes_and_methods_are_json(client, method, path, status):
    resp = client.open(path, method=method)
    assert resp.status_code == status and resp.is_json and "error" in resp.get_json()
