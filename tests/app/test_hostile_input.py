"""Issue 20, items 5, 6 and 7: hostile bodies and headers on every JSON write of the six services.

In process (Flask's test client): these are about the apps' own checks, which answer before any
next hop is called, so no next hop runs (their URLs point where nothing listens).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "common"))
from servicekit.app import close  # noqa: E402
from servicekit.testing import make_app  # noqa: E402

NOWHERE = "http://127.0.0.1:9"
ENV = {"CUSTOMER_URL": NOWHERE, "ORDER_URL": NOWHERE, "ACCOUNT_URL": NOWHERE, "TARGET_URL": NOWHERE,
       "LOADGEN_RATE": "0", "ORDER_SETTLE_INTERVAL_SECONDS": "0"}
# Every JSON POST route of the six services.
JSON_POSTS = [
    ("account", "/accounts/1/debits"), ("account", "/accounts/1/credits"), ("order", "/orders"),
    ("customer", "/customers/1/orders"), ("gateway", "/api/customers/1/orders"), ("loadgen", "/bursts"),
    ("invoice", "/invoices"),
]
KEY = {"Idempotency-Key": "hostile-1"}


@pytest.fixture
def apps(tmp_path):
    made = {}

    def app(service):
        if service not in made:
            made[service] = make_app(service, tmp_path / service, **ENV)
        return made[service]

    yield app
    for a in made.values():
        close(a)


@pytest.mark.parametrize("depth", [900, 1000, 8000])  # 8000: the most under the 16 KiB body limit
@pytest.mark.parametrize(("service", "path"), JSON_POSTS, ids=[f"{s}{p}" for s, p in JSON_POSTS])
def test_json_nested_at_any_depth_is_400(apps, service, path, depth):
    body = "[" * depth + "]" * depth
    resp = apps(service).test_client().post(path, data=body, content_type="application/json", headers=KEY)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["error"] == "invalid body"


@pytest.mark.parametrize("reference", [
    "\ud800", "order\x00x", "esc\x1b[31mred", "line\r\nbreak", "\u202egnp.exe", "zero\u200bwidth", "del\x7f",
], ids=["lone-surrogate", "nul", "esc", "crlf", "rtl-override", "zero-width", "del"])
def test_account_refuses_references_it_cannot_store_or_show(apps, reference):
    client = apps("account").test_client()
    resp = client.post("/accounts/1/debits", json={"amount_cents": 1, "reference": reference})
    assert resp.status_code == 400 and "control" in resp.get_json()["detail"]
    assert all(e["reference"] != reference for e in client.get("/accounts/1").get_json()["ledger"])


def test_a_reference_in_another_script_is_fine(apps):
    resp = apps("account").test_client().post("/accounts/1/debits", json={"amount_cents": 1, "reference": "заказ-1"})
    assert resp.status_code == 201


@pytest.mark.parametrize(("service", "path"), [
    ("order", "/orders"), ("customer", "/customers/1/orders"), ("gateway", "/api/customers/1/orders")])
@pytest.mark.parametrize("headers", [
    [], [("Idempotency-Key", "k"), ("Idempotency-Key", "k")], [("Idempotency-Key", "k,k")],
], ids=["missing", "sent-twice", "joined"])
def test_order_writes_need_exactly_one_idempotency_key(apps, service, path, headers):
    body = {"item": "tea", "quantity": 1} | ({"customer_id": 1} if service == "order" else {})
    resp = apps(service).test_client().post(path, json=body, headers=headers)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.get_json()["detail"]
