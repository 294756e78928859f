"""The invoice service's OpenAPI document."""

from servicekit.openapi import ID_MAX, TRACE, document, errors, json_content, ok, ref

LINE = {
    "type": "object", "required": ["item", "quantity", "amount_cents"],
    "properties": {"item": {"type": "string"}, "quantity": {"type": "integer"}, "amount_cents": {"type": "integer"}},
}
INVOICE = {
    "type": "object",
    "required": ["number", "order_id", "customer_id", "lines", "net_cents", "tax_percent", "tax_cents",
                 "total_cents", "currency", "issued_on"],
    "properties": {
        "number": {"type": "string", "pattern": "^INV-[0-9]{8,}$"},
        "order_id": {"type": "integer"},
        "customer_id": {"type": "integer"},
        "lines": {"type": "array", "items": ref("Line")},
        "net_cents": {"type": "integer"},
        "tax_percent": {"type": "integer"},
        "tax_cents": {"type": "integer"},
        "total_cents": {"type": "integer"},
        "currency": {"type": "string"},
        "issued_on": {"type": "string", "format": "date"},
        "payment_terms_days": {"type": "integer", "description": "v2 only"},
    },
}
INVOICED = {"type": "object", "required": ["invoice", "trace"], "properties": {"invoice": ref("Invoice"), "trace": TRACE}}


def _integer(minimum: int, maximum: int) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


ORDER = {
    "type": "object", "required": ["order_id", "customer_id", "item", "quantity", "amount_cents"],
    "properties": {
        "order_id": _integer(1, ID_MAX),
        "customer_id": _integer(1, ID_MAX),
        "item": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[ -~]*[!-~][ -~]*$"},
        "quantity": _integer(1, 20),
        "amount_cents": _integer(1, 1_000_000),
    },
}


def _query(name: str, maximum: int) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": _integer(1, maximum)}


def document_for(version: str) -> dict:
    return document(
        "invoice", f"Invoices for paid orders ({version}; v2 adds payment terms). Stateless: it scales to zero.",
        {
            "/invoices": {"post": {
                "summary": "The invoice of a paid order (the same order gives the same invoice)",
                "requestBody": {"required": True, **json_content(ref("Order"))},
                "responses": {"201": ok("the invoice", ref("Invoiced")), **errors(400, 415)},
            }},
            "/invoices/preview": {"get": {
                "summary": "A sample invoice from query parameters (for curl and the load generator)",
                "parameters": [_query("order_id", ID_MAX), _query("customer_id", ID_MAX), _query("quantity", 20),
                               _query("amount_cents", 1_000_000)],
                "responses": {"200": ok("the invoice", ref("Invoiced")), **errors(400)},
            }},
        },
        {"Line": LINE, "Invoice": INVOICE, "Invoiced": INVOICED, "Order": ORDER},
    )
