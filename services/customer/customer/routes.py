"""HTTP endpoints of the customer service."""

from flask import Blueprint, jsonify

from servicekit.app import kit, relay, traced
from servicekit.errors import ApiError
from servicekit.validation import idempotency_key, json_object

from customer import data

bp = Blueprint("customers", __name__)
ID = "<int(min=1, max=2147483647):customer_id>"


def _known(customer_id: int) -> dict:
    found = data.customer(kit().db, customer_id)
    if found is None:
        raise ApiError(404, "customer not found", f"no customer {customer_id}")
    return found


@bp.get("/customers")
def list_customers():
    return jsonify(customers=data.all_customers(kit().db))


@bp.get(f"/customers/{ID}")
def get_customer(customer_id: int):
    return jsonify(_known(customer_id))


@bp.get(f"/customers/{ID}/summary")
def summary(customer_id: int):
    """Profile from here, orders and account from the next hops; what fails is listed in `missing`."""
    k = kit()
    customer = _known(customer_id)
    reply = k.downstream["order"].call("GET", "/orders", params={"customer_id": customer_id})
    body = {"customer": customer, "orders": None, "account": None, "catalog": [], "missing": ["orders", "account"]}
    if reply.ok:
        for part in ("orders", "account", "catalog", "missing"):
            body[part] = reply.body.get(part)
    return traced(k.config, body, 200, reply.hops())


@bp.post(f"/customers/{ID}/orders")
def place_order(customer_id: int):
    """Check the customer exists, then pass the order (and its Idempotency-Key) to the order service."""
    _known(customer_id)
    order = json_object()
    key = idempotency_key()
    k = kit()
    reply = k.downstream["order"].call(
        "POST", "/orders", json={**order, "customer_id": customer_id}, headers={"Idempotency-Key": key},
    )
    return relay(k.config, reply, "order")
