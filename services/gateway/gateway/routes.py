"""The gateway: the page a learner looks at, and the same data as JSON under /api."""

import re
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
    "unknown_customer": ("warn", "No such customer."),
}
# A page that retries an unsettled order keeps its key, item and quantity: same key, same order.
FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


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
        "POST", f"/customers/{customer_id}/orders", json=order, headers={"Idempotency-Key": key},
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
    retry = _retry_of(request.args)
    return render_template(
        "page.html",
        config=k.config,
        customer_id=customer_id,
        summary=body or {"missing": ["customer", "orders", "account"]},
        customers=(listing.body or {}).get("customers", []) if listing.ok else [],
        trace=trace,
        slowest=slowest,
        result=RESULTS.get(request.args.get("result", "")),
        # A fresh key per new order; the same key while an unsettled order is retried.
        idempotency_key=retry["key"] if retry else uuid.uuid4().hex,
        retry=retry,
    )


def _retry_of(args) -> dict | None:
    """The unsettled order the page was redirected back with (result=unavailable), if well-formed."""
    key, item, quantity = args.get("key", ""), args.get("item", ""), args.get("quantity", "")
    if args.get("result") != "unavailable" or not FORM_KEY.match(key):
        return None
    if not (item.isascii() and item.isalpha() and len(item) <= 32 and quantity.isascii() and quantity.isdigit()):
        return None
    return {"key": key, "item": item, "quantity": int(quantity)}


def _form_integer(form, name: str) -> int:
    raw = form.get(name, "")
    # int() also reads "١٠" (Arabic-Indic digits) as 10: only ASCII digits are a number here.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise ApiError(400, "invalid form", "customer_id and quantity must be integers")
    return int(raw)


def _same_origin() -> bool:
    """CSRF: a browser says where a form was posted from; refuse another site's form."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser, or an old one: no cross-site signal to go on
        return True
    return origin.split("://", 1)[-1] == request.host


@bp.post("/orders")
def order_form():
    """The page's form: place the order, then redirect back (POST-redirect-GET)."""
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ApiError(415, "unsupported media type", "send the order as an HTML form")
    if not _same_origin():
        raise ApiError(403, "cross-site form", "orders are placed from the shop's own page")
    form = request.form
    customer_id = _form_integer(form, "customer_id")
    quantity = _form_integer(form, "quantity")
    if not 1 <= customer_id <= MAX_ID:
        raise ApiError(400, "invalid form", f"customer_id must be between 1 and {MAX_ID}")
    key = form.get("idempotency_key", "")
    if not FORM_KEY.match(key):
        raise ApiError(400, "invalid form", "idempotency_key must be 1 to 128 letters, digits, - or _")
    item = form.get("item", "")
    reply = kit().downstream["customer"].call(
        "POST", f"/customers/{customer_id}/orders",
        json={"item": item, "quantity": quantity}, headers={"Idempotency-Key": key},
    )
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    if reply.status == 404 and error == "customer not found":
        return redirect(url_for("gateway.index", result="unknown_customer"), code=303)
    if reply.status == 201 or reply.status == 200:
        result = "paid"
    elif reply.status in (404, 409):
        result = "rejected"
    elif reply.status in (400, 422):
        result = "invalid"
    else:
        # Not settled: the page comes back with the same key, so submitting again is one order.
        return redirect(url_for("gateway.index", customer_id=customer_id, result="unavailable", key=key,
                                item=item, quantity=quantity), code=303)
    return redirect(url_for("gateway.index", customer_id=customer_id, result=result), code=303)
