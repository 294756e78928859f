"""The gateway's OpenAPI document: the customer API under /api, plus the HTML page and its form."""

from servicekit.openapi import CUSTOMER_API_SCHEMAS, customer_api_paths, document, errors, ok, ref

_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
CUSTOMERS = {"type": "object", "required": ["customers"],
             "properties": {"customers": {"type": "array", "items": ref("Customer")}}}
# The form checks types here; the order service judges item and quantity (result=invalid).
ORDER_FORM = {
    "type": "object", "required": ["customer_id", "quantity", "idempotency_key"],
    "properties": {
        "customer_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "item": {"type": "string"},
        # ASCII digits only: a minus sign or "١٠" is refused (400).
        "quantity": {"type": "integer", "minimum": 0, "maximum": 9_999_999_999},
        # The page's key for this order: kept while the order is unsettled, so a retry is one order.
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9_-]+$"},
    },
}

DOCUMENT = document(
    "gateway", "Front end of the sample application: HTML page and JSON API.",
    {
        "/": {"get": {
            "summary": "The page: customer summary and route trace panel",
            "parameters": [
                {"name": "customer_id", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
                {"name": "result", "in": "query", "required": False,
                 "description": "outcome of the order form (paid, rejected, ...); unknown values are ignored",
                 "schema": {"type": "string"}},
            ],
            "responses": {"200": {"description": "the page", **_HTML}, **errors(400, 404)},
        }},
        "/orders": {"post": {
            "summary": "The page's order form; answers with a redirect back to the page",
            "requestBody": {"required": True,
                            "content": {"application/x-www-form-urlencoded": {"schema": ref("OrderForm")}}},
            "responses": {"303": {"description": "back to the page, with the result"}, **errors(400, 403, 415)},
        }},
        "/api/customers": {"get": {"summary": "All customers", "responses": {
            "200": ok("customers", CUSTOMERS), **errors(503)}}},
        **customer_api_paths("/api"),
    },
    {**CUSTOMER_API_SCHEMAS, "OrderForm": ORDER_FORM},
)
