"""Fuzz the loadgen against its own OpenAPI document."""

from loadgen.openapi import DOCUMENT
from servicekit.testing import fuzz_schema, fuzz_settings

schema = fuzz_schema(DOCUMENT)


@schema.parametrize()
@fuzz_settings()
def test_loadgen_conforms_to_its_openapi(case, url):
    case.call_and_validate(base_url=url)
