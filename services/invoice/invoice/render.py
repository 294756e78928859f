"""The invoice itself: a pure function of the order, so a retry gives the very same invoice.

    >>> render.invoice({"order_id": 7, "customer_id": 1, "item": "tea", "quantity": 2,
    ...                 "amount_cents": 600}, {"tax_percent": 20, "render_ms": 0}, "v1")["number"]
    'INV-00000007'
"""

import time
from datetime import datetime, timezone

from servicekit.config import ConfigError

PAYMENT_TERMS_DAYS = 30  # v2 only


def settings(environ) -> dict:
    """INVOICE_TAX_PERCENT (20): tax included in prices; INVOICE_RENDER_MS (50): time spent
    "rendering" each invoice, a stand-in for a PDF, so that concurrency builds up under load."""
    def whole(name: str, default: int, maximum: int) -> int:
        raw = environ.get(name) or str(default)
        if not raw.isascii() or not raw.isdigit() or int(raw) > maximum:
            raise ConfigError(f"{name} must be a whole number from 0 to {maximum}, got {raw!r}")
        return int(raw)

    return {"tax_percent": whole("INVOICE_TAX_PERCENT", 20, 100), "render_ms": whole("INVOICE_RENDER_MS", 50, 10_000)}


def split_tax(gross_cents: int, tax_percent: int) -> tuple[int, int]:
    """(net, tax) of a price that includes tax; they always add up to the price, to the cent."""
    net = round(gross_cents * 100 / (100 + tax_percent))
    return net, gross_cents - net


def invoice(order: dict, settings: dict, version: str) -> dict:
    if settings["render_ms"]:
        time.sleep(settings["render_ms"] / 1000)
    net, tax = split_tax(order["amount_cents"], settings["tax_percent"])
    document = {
        "number": f"INV-{order['order_id']:08d}",  # from the order id: the same order, the same number
        "order_id": order["order_id"],
        "customer_id": order["customer_id"],
        "lines": [{"item": order["item"], "quantity": order["quantity"], "amount_cents": order["amount_cents"]}],
        "net_cents": net,
        "tax_percent": settings["tax_percent"],
        "tax_cents": tax,
        "total_cents": order["amount_cents"],
        "currency": "EUR",
        "issued_on": datetime.now(timezone.utc).date().isoformat(),
    }
    if version != "v1":
        document["payment_terms_days"] = PAYMENT_TERMS_DAYS
    return document
