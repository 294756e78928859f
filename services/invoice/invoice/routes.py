"""HTTP endpoints of the invoice service."""

from flask import Blueprint, current_app

from servicekit.app import kit, traced
from servicekit.validation import integer, json_object, query_integer, string

from invoice import render

bp = Blueprint("invoices", __name__)
MAX_AMOUNT = 1_000_000  # cents, as in account


@bp.post("/invoices")
def create_invoice():
    """What order calls after an order is paid (fire and forget): the invoice for it."""
    body = json_object()
    order = {
        "order_id": integer(body, "order_id"),
        "customer_id": integer(body, "customer_id"),
        "item": string(body, "item"),
        "quantity": integer(body, "quantity", maximum=20),
        "amount_cents": integer(body, "amount_cents", maximum=MAX_AMOUNT),
    }
    cfg = kit().config
    return traced(cfg, {"invoice": render.invoice(order, current_app.config["INVOICE"], cfg.version)}, 201)


@bp.get("/invoices/preview")
def preview():
    """A sample invoice from query parameters: what curl and the load generator call (GET only)."""
    order = {
        "order_id": query_integer("order_id", default=1),
        "customer_id": query_integer("customer_id", default=1),
        "item": "sample",
        "quantity": query_integer("quantity", maximum=20, default=1),
        "amount_cents": query_integer("amount_cents", maximum=MAX_AMOUNT, default=350),
    }
    cfg = kit().config
    return traced(cfg, {"invoice": render.invoice(order, current_app.config["INVOICE"], cfg.version)})
