"""Probes, metrics, request ids and logs: the plumbing every service shares, checked on account."""

import json

from servicekit.app import kit


def test_healthz_and_readyz(client, app):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    kit(app).draining.set()  # what the SIGTERM handler does
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json() == {"status": "draining"}


def test_metrics_count_requests_by_route_template(client):
    client.get("/accounts/1")
    client.get("/accounts/2")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/accounts/<int(min=1, max=2147483647):customer_id>",status="200"} 2.0' in text
    assert "http_request_duration_seconds_bucket" in text


def test_request_id_is_kept_and_logged(client, capsys):
    resp = client.get("/accounts/1", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(x["request_id"], x["status"], x["path"]) for x in lines] == [("abc-123", 200, "/accounts/1")]


def test_garbage_request_id_is_replaced(client):
    resp = client.get("/accounts/1", headers={"X-Request-Id": "bad id with spaces"})
    assert len(resp.headers["X-Request-Id"]) == 32


def test_served_openapi_is_the_fuzzed_document(client):
    from account.openapi import document_for

    assert client.get("/openapi.json").get_json() == json.loads(json.dumps(document_for("v1")))
