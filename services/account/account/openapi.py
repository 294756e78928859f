"""The account service's OpenAPI document."""

from servicekit.openapi import TRACE, document, errors, id_param, json_content, ok, ref

ENTRY = {
    "type": "object",
    "required": ["id", "kind", "amount_cents", "reference", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["credit", "debit"]},
        "amount_cents": {"type": "integer", "minimum": 1},
        "reference": {"type": "string"},
        "created_at": {"type": "string"},
    },
}
LOYALTY = {
    "type": "object", "required": ["points", "tier"],
    "properties": {"points": {"type": "integer"}, "tier": {"type": "string", "enum": ["bronze", "silver", "gold"]}},
}
ACCOUNT = {
    "type": "object",
    "required": ["customer_id", "currency", "balance_cents", "ledger"],
    "properties": {
        "customer_id": {"type": "integer"},
        "currency": {"type": "string"},
        "balance_cents": {"type": "integer"},
        "ledger": {"type": "array", "items": ref("Entry")},
        "loyalty": {**ref("Loyalty"), "description": "v2 only"},
        "trace": TRACE,
    },
}
POSTING = {
    "type": "object", "required": ["amount_cents", "reference"],
    "properties": {
        "amount_cents": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        # Control, format and surrogate characters are refused (400): the schema offers printable ASCII.
        "reference": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[ -~]*[!-~][ -~]*$"},
    },
}
POSTED = {
    "type": "object", "required": ["entry", "balance_cents", "replayed", "trace"],
    "properties": {"entry": ref("Entry"), "balance_cents": {"type": "integer"}, "replayed": {"type": "boolean"},
                   "loyalty": ref("Loyalty"), "trace": TRACE},
}


def _posting(summary: str) -> dict:
    return {
        "summary": summary,
        "parameters": [id_param("customer_id")],
        "requestBody": {"required": True, **json_content(ref("Posting"))},
        "responses": {
            "201": ok("entry added", ref("Posted")),
            "200": ok("same reference as before: the first entry, nothing charged again", ref("Posted")),
            **errors(400, 404, 409, 415),
        },
    }


def document_for(version: str) -> dict:
    return document(
        "account", f"Balances and ledgers ({version}; v2 adds loyalty points).",
        {
            "/accounts/{customer_id}": {"get": {
                "summary": "Balance and last ledger entries",
                "parameters": [id_param("customer_id")],
                "responses": {"200": ok("the account", ref("Account")), **errors(404)},
            }},
            "/accounts/{customer_id}/debits": {"post": _posting("Charge the account (idempotent by reference)")},
            "/accounts/{customer_id}/credits": {"post": _posting("Top the account up (idempotent by reference)")},
        },
        {"Entry": ENTRY, "Loyalty": LOYALTY, "Account": ACCOUNT, "Posting": POSTING, "Posted": POSTED},
    )
