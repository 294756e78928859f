"""Issue 20, items 1, 9 and 12 at the gateway: the form keeps its key until the order is settled,
says the truth when parts are missing, and refuses other sites; internals stay inside."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from servicekit.app import close
from servicekit.testing import make_app, serve

FORM = {"customer_id": "1", "item": "sandwich", "quantity": "2", "idempotency_key": "form-key-1"}


def hidden_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_an_unconfirmed_order_comes_back_with_the_same_key_item_and_quantity(tmp_path):
    nowhere = {"ACCOUNT_URL": "http://127.0.0.1:9", "OUTBOUND_TIMEOUT_SECONDS": "0.5",
               "ORDER_SETTLE_INTERVAL_SECONDS": "0"}
    with serve("order", tmp_path, **nowhere) as order_url, serve("customer", tmp_path, ORDER_URL=order_url) as cust:
        app = make_app("gateway", tmp_path / "gateway", CUSTOMER_URL=cust)
        try:
            client = app.test_client()
            resp = client.post("/orders", data=FORM)
            assert resp.status_code == 303
            location = resp.headers["Location"]
            query = parse_qs(urlsplit(location).query)
            assert query["result"] == ["unavailable"] and query["key"] == ["form-key-1"]
            html = client.get(location).get_data(as_text=True)
        finally:
            close(app)
    assert "Retrying is safe" in html and hidden_key(html) == "form-key-1"
    assert '<option value="sandwich" selected>' in html and 'name="quantity" value="2"' in html


def test_a_new_page_gets_a_new_key(client):
    first, second = (hidden_key(client.get("/?customer_id=1").get_data(as_text=True)) for _ in range(2))
    assert first != second


@pytest.mark.parametrize("url", ["/?customer_id=1&result=unavailable&key=a%22%3E&item=tea&quantity=1",
                                 "/?customer_id=1&result=paid&key=abc&item=tea&quantity=1"])
def test_a_crafted_retry_link_does_not_set_the_key(client, url):
    assert hidden_key(client.get(url).get_data(as_text=True)) not in ("abc", 'a">')


def test_the_form_reads_only_ascii_digits(client):
    resp = client.post("/orders", data={**FORM, "quantity": "١٠"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid form"


def test_the_form_needs_its_key(client):
    resp = client.post("/orders", data={k: v for k, v in FORM.items() if k != "idempotency_key"})
    assert resp.status_code == 400


def test_the_form_for_an_unknown_customer_comes_back_to_a_page(client):
    resp = client.post("/orders", data={**FORM, "customer_id": "42"})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and "No such customer." in page.get_data(as_text=True)


def test_orders_unavailable_is_not_shown_as_no_orders(tmp_path):
    app = make_app("gateway", tmp_path, CUSTOMER_URL="http://127.0.0.1:9")
    try:
        html = app.test_client().get("/").get_data(as_text=True)
    finally:
        close(app)
    assert "orders unavailable" in html and "no orders yet" not in html


@pytest.mark.parametrize(("headers", "status"), [
    ({"Sec-Fetch-Site": "cross-site"}, 403), ({"Sec-Fetch-Site": "same-site"}, 403),
    ({"Origin": "http://evil.example"}, 403), ({"Sec-Fetch-Site": "same-origin"}, 303),
    ({"Origin": "http://localhost"}, 303), ({}, 303),
])
def test_the_form_refuses_other_sites(client, headers, status):
    resp = client.post("/orders", data=FORM, headers=headers)
    assert resp.status_code == status


def test_the_page_cannot_be_framed(client):
    resp = client.get("/")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json"])
def test_internals_are_not_served_through_the_ingress(client, path):
    assert client.get(path).status_code == 200  # Prometheus, a port-forward: straight to the pod
    through = client.get(path, headers={"X-Forwarded-For": "203.0.113.9"})
    assert through.status_code == 404 and through.get_json()["error"] == "not found"


def test_the_pod_name_header_is_not_sent_through_the_ingress(client):
    assert "X-Pod" in client.get("/healthz").headers
    assert "X-Pod" not in client.get("/healthz", headers={"Forwarded": "for=203.0.113.9"}).headers
