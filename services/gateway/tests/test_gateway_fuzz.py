"""Fuzz the gateway service (with customer, order and account behind it) against its own OpenAPI document."""

from gateway.openapi import DOCUMENT
from servicekit.testing import fuzz_schema, fuzz_settings

schema = fuzz_schema(DOCUMENT)


@schema.parametrize()
@fuzz_settings()
def test_gateway_conforms_to_its_openapi(case, url):
    case.call_and_validate(base_url=url)
