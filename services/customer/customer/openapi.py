"""The customer service's OpenAPI document."""

from servicekit.openapi import CUSTOMER_API_SCHEMAS, customer_api_paths, document, errors, id_param, ok, ref

CUSTOMERS = {"type": "object", "required": ["customers"],
             "properties": {"customers": {"type": "array", "items": ref("Customer")}}}

DOCUMENT = document(
    "customer", "Customer profiles and summaries.",
    {
        "/customers": {"get": {"summary": "All customers", "responses": {"200": ok("customers", CUSTOMERS)}}},
        "/customers/{customer_id}": {"get": {
            "summary": "One customer", "parameters": [id_param("customer_id")],
            "responses": {"200": ok("the customer", ref("Customer")), **errors(404)},
        }},
        **customer_api_paths(""),
    },
    CUSTOMER_API_SCHEMAS,
)
