"""The invoice as a pure function: tax split to the cent, stable numbers, settings checked."""

import pytest
from hypothesis import given, strategies as st

from invoice import render
from servicekit.config import ConfigError

ORDER = {"order_id": 7, "customer_id": 1, "item": "tea", "quantity": 2, "amount_cents": 600}
FAST = {"tax_percent": 20, "render_ms": 0}


def test_invoice_of_an_order():
    document = render.invoice(ORDER, FAST, "v1")
    assert document["number"] == "INV-00000007"
    assert (document["net_cents"], document["tax_cents"], document["total_cents"]) == (500, 100, 600)
    assert document["lines"] == [{"item": "tea", "quantity": 2, "amount_cents": 600}]
    assert "payment_terms_days" not in document


def test_v2_adds_payment_terms():
    assert render.invoice(ORDER, FAST, "v2")["payment_terms_days"] == 30


def test_same_order_same_invoice():
    assert render.invoice(ORDER, FAST, "v1") == render.invoice(dict(ORDER), FAST, "v1")


@given(gross=st.integers(min_value=1, max_value=1_000_000), rate=st.integers(min_value=0, max_value=100))
def test_tax_split_adds_up_to_the_cent(gross, rate):
    net, tax = render.split_tax(gross, rate)
    assert net + tax == gross and net >= 0 and tax >= 0


def test_settings_defaults_and_overrides():
    assert render.settings({}) == {"tax_percent": 20, "render_ms": 50}
    assert render.settings({"INVOICE_TAX_PERCENT": "7", "INVOICE_RENDER_MS": "0"}) == {"tax_percent": 7, "render_ms": 0}


@pytest.mark.parametrize("name, value", [("INVOICE_TAX_PERCENT", "-1"), ("INVOICE_TAX_PERCENT", "101"),
                                         ("INVOICE_RENDER_MS", "fast"), ("INVOICE_RENDER_MS", "1.5")])
def test_bad_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        render.settings({name: value})


def test_render_time_is_spent(monkeypatch):
    slept = []
    monkeypatch.setattr(render.time, "sleep", slept.append)
    render.invoice(ORDER, {"tax_percent": 20, "render_ms": 50}, "v1")
    assert slept == [0.05]
