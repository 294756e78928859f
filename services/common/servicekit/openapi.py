"""Pieces of the OpenAPI 3 documents: the shared schemas (Error, Hop) and the probe endpoints.

Each service writes its own paths and calls :func:`document`; tests fuzz the service against
the document it serves, so the document is the contract, not decoration.
"""

ID_MAX = 2**31 - 1

ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string", "nullable": True}},
}

HOP = {
    "type": "object",
    "required": ["service", "version", "pod", "status", "latency_ms"],
    "properties": {
        "service": {"type": "string"},
        "version": {"type": "string", "nullable": True},
        "pod": {"type": "string", "nullable": True},
        "status": {"type": "integer", "nullable": True, "description": "null when no HTTP answer came"},
        "latency_ms": {"type": "number"},
        "user": {"type": "string", "description": "the signed-in user the ingress vouched for (level 5, step 10)"},
        "error": {"type": "string"},
    },
}

TRACE = {"type": "array", "items": {"$ref": "#/components/schemas/Hop"}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def ok(description: str, schema: dict) -> dict:
    return {"description": description, **json_content(schema)}


def errors(*statuses: int) -> dict:
    """Error responses documented by status; ``default`` covers the rest (404 route, 405, 413...)."""
    out = {str(s): {"description": "error", **json_content(ref("Error"))} for s in statuses}
    out["default"] = {"description": "error", **json_content(ref("Error"))}
    return out


def id_param(name: str, where: str = "path") -> dict:
    return {"name": name, "in": where, "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "description": "Required. Send the same key again and the first answer is replayed: one order, one debit.",
    # Printable ASCII without commas: a header sent twice is joined with a comma (refused, 400).
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-+\\--~]+$"},
}

_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
_STATUS = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}

PROBES = {
    "/healthz": {"get": {"summary": "Liveness: the process answers", "responses": {"200": ok("alive", _STATUS)}}},
    "/readyz": {"get": {"summary": "Readiness: storage open and not draining", "responses": {
        "200": ok("ready", _STATUS), "503": ok("not ready (draining, storage)", _STATUS)}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "metrics", **_TEXT}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {
        "200": ok("OpenAPI document", {"type": "object"})}}},
}


# --- The customer API (customer service, and the gateway under /api) -------------

CUSTOMER = {
    "type": "object", "required": ["id", "name", "email", "since"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "email": {"type": "string"},
                   "since": {"type": "string"}},
}
SUMMARY = {
    "type": "object", "required": ["customer", "orders", "account", "missing", "trace"],
    "properties": {
        "customer": ref("Customer"),
        "orders": {"type": "array", "nullable": True, "items": {"type": "object"}},
        "account": {"type": "object", "nullable": True},
        "catalog": {"type": "array", "nullable": True, "items": {"type": "object"}},
        "missing": {"type": "array", "items": {"type": "string"}},
        "trace": TRACE,
    },
}
PLACE_ORDER = {
    "type": "object", "required": ["item", "quantity"],
    "properties": {"item": {"type": "string", "enum": ["coffee", "tea", "croissant", "sandwich"]},
                   "quantity": {"type": "integer", "minimum": 1, "maximum": 20}},
}
ORDER_RESULT = {"type": "object", "required": ["trace"], "properties": {
    "order": {"type": "object"}, "balance_cents": {"type": "integer", "nullable": True},
    "error": {"type": "string"}, "detail": {"type": "string", "nullable": True}, "trace": TRACE}}


def customer_api_paths(prefix: str) -> dict:
    """The customer API: served by customer, and by the gateway under /api (same shapes)."""
    return {
        f"{prefix}/customers/{{customer_id}}/summary": {"get": {
            "summary": "Profile, orders and account; `missing` lists what the next hops could not give",
            "parameters": [id_param("customer_id")],
            "responses": {"200": ok("the summary", ref("Summary")), **errors(404, 503)},
        }},
        f"{prefix}/customers/{{customer_id}}/orders": {"post": {
            "summary": "Place an order (passed on to the order service)",
            "parameters": [id_param("customer_id"), IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **json_content(ref("PlaceOrder"))},
            "responses": {
                "201": ok("ordered and paid", ref("OrderResult")),
                "404": ok("unknown customer (an Error), or no account (order rejected)",
                          {"anyOf": [ref("Error"), ref("OrderResult")]}),
                "409": ok("insufficient funds", ref("OrderResult")),
                "503": ok("order or account unavailable", ref("OrderResult")),
                **errors(400, 415, 422),
            },
        }},
    }


CUSTOMER_API_SCHEMAS = {"Customer": CUSTOMER, "Summary": SUMMARY, "PlaceOrder": PLACE_ORDER, "OrderResult": ORDER_RESULT}


def document(title: str, description: str, paths: dict, schemas: dict | None = None) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": {**paths, **PROBES},
        "components": {"schemas": {"Error": ERROR, "Hop": HOP, **(schemas or {})}},
    }
