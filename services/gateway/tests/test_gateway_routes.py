"""The gateway page and API, with customer, order and account running for real behind it."""

import re

import pytest

from servicekit.app import close
from servicekit.testing import make_app, serve


def test_summary_json_has_all_four_hops(client):
    body = client.get("/api/customers/1/summary").get_json()
    assert body["customer"]["name"] == "Ada Lovelace"
    assert body["account"]["balance_cents"] == 9050 and body["missing"] == []
    assert [(h["service"], h["version"], h["status"]) for h in body["trace"]] == [
        ("gateway", "v1", 200), ("customer", "v1", 200), ("order", "v1", 200), ("account", "v1", 200)]
    assert all(h["pod"].endswith("-test") and h["latency_ms"] >= 0 for h in body["trace"])


def test_the_user_the_ingress_vouched_for_is_named_in_every_hop(client):
    """Level 5's ingress passes the token's user on in X-Workshop-User; each hop passes it on."""
    body = client.get("/api/customers/1/summary", headers={"X-Workshop-User": "alice"}).get_json()
    assert [(h["service"], h.get("user")) for h in body["trace"]] == [
        ("gateway", "alice"), ("customer", "alice"), ("order", "alice"), ("account", "alice")]
    anonymous = client.get("/api/customers/1/summary").get_json()
    assert all("user" not in h for h in anonymous["trace"])


@pytest.mark.parametrize("value", ["", "a" * 65, "alice bob", "<script>", "-alice"])
def test_a_user_header_no_issuer_would_sign_is_a_400_json(client, value):
    answer = client.get("/api/customers/1/summary", headers={"X-Workshop-User": value})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid X-Workshop-User header"


def test_page_shows_summary_and_route_trace(client):
    html = client.get("/?customer_id=2").get_data(as_text=True)
    assert "Grace Hopper" in html and "97.00 EUR" in html
    assert re.findall(r'data-service="(\w+)" data-version="(v\d)"', html) == [
        ("gateway", "v1"), ("customer", "v1"), ("order", "v1"), ("account", "v1")]
    assert "<script" not in html and "http://" not in html.replace("http://127.0.0.1", "")


def test_page_degrades_when_account_is_down(tmp_path):
    """No account service at all (nothing listens on its port): the page says so, it does not fail."""
    nowhere = {"ACCOUNT_URL": "http://127.0.0.1:9", "OUTBOUND_TIMEOUT_SECONDS": "0.5"}
    with serve("order", tmp_path, **nowhere) as order_url, serve("customer", tmp_path, ORDER_URL=order_url) as cust:
        app = make_app("gateway", tmp_path / "gateway", CUSTOMER_URL=cust)
        try:
            client = app.test_client()
            page = client.get("/?customer_id=1")
            body = client.get("/api/customers/1/summary").get_json()
        finally:
            close(app)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "account unavailable" in html and "Ada Lovelace" in html and "no answer" in html
    assert body["missing"] == ["account"] and body["orders"]
    assert [(h["service"], h["status"]) for h in body["trace"]] == [
        ("gateway", 200), ("customer", 200), ("order", 200), ("account", None)]


def test_customer_down_is_503_json_but_the_page_renders(tmp_path):
    app = make_app("gateway", tmp_path, CUSTOMER_URL="http://127.0.0.1:9")
    try:
        client = app.test_client()
        api = client.get("/api/customers/1/summary")
        page = client.get("/")
    finally:
        close(app)
    assert api.status_code == 503 and api.get_json()["error"] == "customer unavailable"
    assert page.status_code == 200 and "customer unavailable" in page.get_data(as_text=True)


def test_order_through_the_gateway_with_idempotency(client):
    headers = {"Idempotency-Key": "gw-1"}
    first = client.post("/api/customers/3/orders", json={"item": "tea", "quantity": 2}, headers=headers)
    second = client.post("/api/customers/3/orders", json={"item": "tea", "quantity": 2}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["order"] == second.get_json()["order"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/customers/3/summary").get_json()["account"]["balance_cents"] == 10_000 - 600


def test_order_form_redirects_back_with_the_result(client):
    form = {"customer_id": "1", "item": "croissant", "quantity": "1", "idempotency_key": "form-1"}
    resp = client.post("/orders", data=form)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/?customer_id=1&result=paid")
    assert "Order placed and paid." in client.get("/?customer_id=1&result=paid").get_data(as_text=True)


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/api/customers/42/summary", {}, 404),
    ("GET", "/?customer_id=42", {}, 404),
    ("GET", "/?customer_id=x", {}, 400),
    ("POST", "/api/customers/1/orders", {"data": "{", "content_type": "application/json"}, 400),
    ("POST", "/orders", {"json": {"customer_id": 1}}, 415),
    ("POST", "/orders", {"data": {"customer_id": "one", "quantity": "1"}}, 400),
    ("PUT", "/api/customers", {}, 405),
])
def test_bad_requests_are_json_4xx(client, method, path, kwargs, status):
    resp = client.open(path, method=method, **kwargs)
    assert resp.status_code == status and "error" in resp.get_json()
