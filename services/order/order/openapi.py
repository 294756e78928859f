"""The order service's OpenAPI document."""

from servicekit.openapi import IDEMPOTENCY_KEY, TRACE, document, errors, id_param, json_content, ok, ref

ITEMS = ["coffee", "tea", "croissant", "sandwich"]

ORDER = {
    "type": "object",
    "required": ["id", "customer_id", "item", "quantity", "amount_cents", "status", "created_at"],
    "properties": {
        "id": {"type": "integer"}, "customer_id": {"type": "integer"}, "item": {"type": "string"},
        "quantity": {"type": "integer"}, "amount_cents": {"type": "integer"},
        "status": {"type": "string", "enum": ["pending", "paid", "rejected"]}, "created_at": {"type": "string"},
        "reference": {"type": "string", "description": "what the order is charged as at account"},
    },
}
CATALOG = {
    "type": "array",
    "items": {"type": "object", "required": ["item", "price_cents"],
              "properties": {"item": {"type": "string"}, "price_cents": {"type": "integer"}}},
}
NEW_ORDER = {
    "type": "object", "required": ["customer_id", "item", "quantity"],
    "properties": {
        "customer_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "item": {"type": "string", "enum": ITEMS},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 20},
    },
}
ORDER_RESULT = {
    "type": "object", "required": ["order", "trace"],
    "properties": {"order": ref("Order"), "balance_cents": {"type": "integer", "nullable": True},
                   "error": {"type": "string"}, "detail": {"type": "string", "nullable": True}, "trace": TRACE},
}
CUSTOMER_ORDERS = {
    "type": "object", "required": ["customer_id", "orders", "account", "missing", "catalog", "trace"],
    "properties": {
        "customer_id": {"type": "integer"},
        "orders": {"type": "array", "items": ref("Order")},
        "account": {"type": "object", "nullable": True, "description": "as the account service answered"},
        "missing": {"type": "array", "items": {"type": "string"}},
        "catalog": CATALOG,
        "trace": TRACE,
    },
}

DOCUMENT = document(
    "order", "Orders, charged to the customer's account.",
    {
        "/catalog": {"get": {"summary": "What can be ordered", "responses": {
            "200": ok("the menu", {"type": "object", "required": ["items"], "properties": {"items": CATALOG}})}}},
        "/orders": {
            "get": {
                "summary": "A customer's recent orders and account",
                "parameters": [id_param("customer_id", "query"),
                               {"name": "limit", "in": "query", "required": False,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 50}}],
                "responses": {"200": ok("orders; missing lists what could not be fetched", ref("CustomerOrders")),
                              **errors(400)},
            },
            "post": {
                "summary": "Place an order and charge it",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, **json_content(ref("NewOrder"))},
                "responses": {
                    "201": ok("ordered and paid", ref("OrderResult")),
                    "404": ok("no account for this customer (order rejected)", ref("OrderResult")),
                    "409": ok("insufficient funds (order rejected)", ref("OrderResult")),
                    "503": ok("account unavailable: the order is pending, retry with the same key",
                              ref("OrderResult")),
                    **errors(400, 415, 422),
                },
            },
        },
        "/orders/{order_id}": {"get": {
            "summary": "One order", "parameters": [id_param("order_id")],
            "responses": {"200": ok("the order", ref("Order")), **errors(404)},
        }},
    },
    {"Order": ORDER, "NewOrder": NEW_ORDER, "OrderResult": ORDER_RESULT, "CustomerOrders": CUSTOMER_ORDERS},
)
