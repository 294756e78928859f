"""The invoice API: what order posts, the GET preview, probes, bad input as 4xx JSON."""

import json

import pytest

from servicekit.testing import make_app

ORDER = {"order_id": 42, "customer_id": 3, "item": "sandwich", "quantity": 1, "amount_cents": 650}


def test_post_invoice_for_a_paid_order(client):
    resp = client.post("/invoices", json=ORDER)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["invoice"]["number"] == "INV-00000042"
    assert body["invoice"]["total_cents"] == 650
    assert body["trace"][0] | {"latency_ms": 0} == {
        "service": "invoice", "version": "v1", "pod": "invoice-test", "status": 201, "latency_ms": 0}


def test_a_retry_gets_the_same_invoice(client):
    first, again = (client.post("/invoices", json=ORDER).get_json()["invoice"] for _ in range(2))
    assert first == again


@pytest.mark.parametrize("version", ["v2"], indirect=True)
def test_v2_answers_with_payment_terms(client):
    body = client.get("/invoices/preview?amount_cents=700").get_json()
    assert body["invoice"]["payment_terms_days"] == 30 and body["trace"][0]["version"] == "v2"


def test_preview_defaults(client):
    invoice = client.get("/invoices/preview").get_json()["invoice"]
    assert (invoice["number"], invoice["total_cents"], invoice["tax_cents"]) == ("INV-00000001", 350, 58)


@pytest.mark.parametrize("change, detail", [
    ({"quantity": 0}, "quantity must be between 1 and 20"),
    ({"amount_cents": 1_000_001}, "amount_cents must be between 1 and 1000000"),
    ({"item": " "}, "item must be a non-empty string"),
    ({"order_id": True}, "order_id must be an integer"),
])
def test_bad_order_is_a_400_naming_the_field(client, change, detail):
    resp = client.post("/invoices", json={**ORDER, **change})
    assert resp.status_code == 400 and resp.get_json()["detail"] == detail


def test_body_must_be_json(client):
    resp = client.post("/invoices", data="order 42", content_type="text/plain")
    assert resp.status_code == 415 and resp.get_json()["error"] == "unsupported media type"


def test_probes_need_no_storage(client, app):
    from servicekit.app import kit

    assert kit(app).db is None  # stateless: nothing to lose when Knative scales to zero
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_metrics_count_invoices_by_route(client):
    client.post("/invoices", json=ORDER)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="POST",route="/invoices",status="201"} 1.0' in text


def test_served_openapi_is_the_fuzzed_document(client):
    from invoice.openapi import document_for

    assert client.get("/openapi.json").get_json() == json.loads(json.dumps(document_for("v1")))


def test_bad_setting_stops_the_start_with_its_name(tmp_path):
    from servicekit.config import ConfigError

    with pytest.raises(ConfigError, match="INVOICE_TAX_PERCENT"):
        make_app("invoice", tmp_path, INVOICE_TAX_PERCENT="lots")
