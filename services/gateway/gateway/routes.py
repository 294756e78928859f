"""The gateway: the page a learner looks at, and the same data as JSON under /api."""

import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from servicekit.app import hop, kit, relay, traced
from servicekit.errors import ApiError
from servicekit.validation import MAX_ID, idempotency_key, json_object, query_integer

bp = Blueprint("gateway", __name__)
ID = "<int(min=1, max=2147483647):customer_id>"

# The page's order form redirects back with one of these codes (never free text: nothing to inject).
RESULTS = {
    "paid": ("ok", "Order placed and paid."),
    "rejected": ("warn", "Order rejected by the account (insufficient funds?)."),
    "unavailable": ("bad", "Order not confirmed: a service behind the gateway did not answer. Retrying is safe."),
    "invalid": ("warn", "That order was not valid."),
}


def money(cents, currency: str = "EUR") -> str:
    return "—" if cents is None else f"{cents / 100:,.2f} {currency}"


def _summary(customer_id: int):
    """(body, hops) of the customer summary; a 404 or 503 ApiError when there is nothing to show."""
    reply = kit().downstream["customer"].call("GET", f"/customers/{customer_id}/summary")
    if reply.status == 404:
        raise ApiError(404, "customer not found", f"no customer {customer_id}")
    if not reply.ok:
        return None, reply.hops()
    body = dict(reply.body)
    body.pop("trace", None)
    return body, reply.hops()


@bp.get("/api/customers")
def customers():
    k = kit()
    reply = k.downstream["customer"].call("GET", "/customers")
    if not reply.ok:
        return traced(k.config, {"error": "customer unavailable", "detail": reply.error}, 503, reply.hops())
    return traced(k.config, {"customers": reply.body.get("customers", [])}, 200, reply.hops())


@bp.get(f"/api/customers/{ID}/summary")
def summary(customer_id: int):
    body, hops = _summary(customer_id)
    if body is None:
        return traced(kit().config, {"error": "customer unavailable", "detail": hops[0].get("error")}, 503, hops)
    return traced(kit().config, body, 200, hops)


@bp.post(f"/api/customers/{ID}/orders")
def place_order(customer_id: int):
    order = json_object()
    key = idempotency_key()
    k = kit()
    reply = k.downstream["customer"].call(
        "POST", f"/customers/{customer_id}/orders", json=order,
        headers={"Idempotency-Key": key} if key else None,
    )
    return relay(k.config, reply, "customer")


@bp.get("/")
def index():
    """The page: whatever part is missing is shown as unavailable; the page itself still renders."""
    k = kit()
    customer_id = query_integer("customer_id", default=1)
    body, hops = _summary(customer_id)
    listing = k.downstream["customer"].call("GET", "/customers")
    trace = [hop(k.config, 200), *hops]
    slowest = max([h["latency_ms"] for h in trace] + [1.0])
    return render_template(
        "page.html",
        config=k.config,
        customer_id=customer_id,
        summary=body or {"missing": ["customer", "orders", "account"]},
        customers=(listing.body or {}).get("customers", []) if listing.ok else [],
        trace=trace,
        slowest=slowest,
        result=RESULTS.get(request.args.get("result", "")),
        idempotency_key=uuid.uuid4().hex,
    )


@bp.post("/orders")
def order_form():
    """The page's form: place the order, then redirect back (POST-redirect-GET)."""
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ApiError(415, "unsupported media type", "send the order as an HTML form")
    form = request.form
    try:
        customer_id = int(form.get("customer_id", ""))
        quantity = int(form.get("quantity", ""))
    except ValueError:
        raise ApiError(400, "invalid form", "customer_id and quantity must be integers") from None
    if not 1 <= customer_id <= MAX_ID:
        raise ApiError(400, "invalid form", f"customer_id must be between 1 and {MAX_ID}")
    key = form.get("idempotency_key")
    if key is not None and not (0 < len(key) <= 128 and key.isascii() and key.isprintable() and " " not in key):
        raise ApiError(400, "invalid form", "idempotency_key must be up to 128 printable ASCII characters")
    reply = kit().downstream["customer"].call(
        "POST", f"/customers/{customer_id}/orders",
        json={"item": form.get("item", ""), "quantity": quantity},
        headers={"Idempotency-Key": key} if key else None,
    )
    if reply.status == 201 or reply.status == 200:
        result = "paid"
    elif reply.status in (404, 409):
        result = "rejected"
    elif reply.status in (400, 422):
        result = "invalid"
    else:
        result = "unavailable"
    return redirect(url_for("gateway.index", customer_id=customer_id, result=result), code=303)
