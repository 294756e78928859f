"""HTTP endpoints of the order service."""

from flask import Blueprint, current_app, jsonify

from servicekit.app import kit, traced
from servicekit.errors import ApiError
from servicekit.validation import idempotency_key, integer, json_object, query_integer, string

from order import data, settlement

bp = Blueprint("orders", __name__)


@bp.get("/catalog")
def catalog():
    return jsonify(items=[{"item": k, "price_cents": v} for k, v in data.CATALOG.items()])


@bp.get("/orders")
def list_orders():
    """A customer's recent orders, with their account as the next hop reports it."""
    customer_id = query_integer("customer_id")
    limit = query_integer("limit", maximum=50, default=10)
    k = kit()
    orders = data.orders_of(k.db, customer_id, limit)
    reply = k.downstream["account"].call("GET", f"/accounts/{customer_id}")
    hops = reply.hops()  # before the account's own trace is taken out of its body below
    body = {
        "customer_id": customer_id,
        "orders": orders,
        "account": reply.body if reply.ok else None,
        # What could not be fetched: the page shows "account unavailable" instead of failing.
        "missing": [] if reply.ok else ["account"],
        "catalog": [{"item": i, "price_cents": p} for i, p in data.CATALOG.items()],
    }
    if reply.ok:
        body["account"].pop("trace", None)
    return traced(k.config, body, 200, hops)


@bp.get("/orders/<int(min=1, max=2147483647):order_id>")
def get_order(order_id: int):
    found = data.order(kit().db, order_id)
    if found is None:
        raise ApiError(404, "order not found", f"no order {order_id}")
    return jsonify(found)


@bp.post("/orders")
def create_order():
    """Record the order, then charge it. With an Idempotency-Key a retry never charges twice."""
    body = json_object()
    customer_id = integer(body, "customer_id")
    item = string(body, "item")
    quantity = integer(body, "quantity", maximum=20)
    if item not in data.CATALOG:
        raise ApiError(400, "unknown item", f"choose one of: {', '.join(data.CATALOG)}")
    key = idempotency_key()
    k = kit()
    try:
        order, stored = data.begin(k.db, key, customer_id, item, quantity)
    except data.KeyReused:
        raise ApiError(422, "idempotency key reused", "this Idempotency-Key was sent before with another body")
    if stored is not None:
        status, answer = stored
        response = traced(k.config, answer, status)
        response[0].headers["Idempotent-Replayed"] = "true"
        return response
    reply, outcome = settlement.charge(k, current_app.extensions.get("invoicing"), order)
    if outcome is None:
        # No answer (timeout, down, 5xx): the order stays pending; a retry with the same key, or
        # the settler (order.settlement), charges it once.
        answer = {"error": "account unavailable", "detail": reply.error, "order": order}
        return traced(k.config, answer, 503, reply.hops())
    status, answer = outcome
    return traced(k.config, answer, status, reply.hops())
