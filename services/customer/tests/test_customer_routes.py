"""Customer profiles and the summary built from the next hops."""

import pytest

from servicekit.app import close
from servicekit.testing import make_app


def test_list_and_get(client):
    assert [c["id"] for c in client.get("/customers").get_json()["customers"]] == [1, 2, 3]
    assert client.get("/customers/3").get_json()["name"] == "Alan Turing"


def test_summary_has_three_hops(client):
    body = client.get("/customers/2/summary").get_json()
    assert body["account"]["balance_cents"] == 9700 and [o["item"] for o in body["orders"]] == ["tea"]
    assert [h["service"] for h in body["trace"]] == ["customer", "order", "account"]


def test_summary_when_order_is_down_marks_orders_and_account_missing(tmp_path):
    app = make_app("customer", tmp_path, ORDER_URL="http://127.0.0.1:9")
    try:
        body = app.test_client().get("/customers/1/summary").get_json()
    finally:
        close(app)
    assert body["customer"]["id"] == 1 and body["missing"] == ["orders", "account"]
    assert body["trace"][1]["status"] is None and body["trace"][1]["error"].startswith("unreachable")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/customers/4", 404), ("GET", "/customers/4/summary", 404), ("POST", "/customers/4/orders", 404),
    ("POST", "/customers/1/orders", 415), ("PATCH", "/customers/1", 405),
])
def test_errors(client, method, path, status):
    resp = client.open(path, method=method)
    assert resp.status_code == status and "error" in resp.get_json()
