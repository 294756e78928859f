"""Fuzz the account service against its own OpenAPI document: no 5xx, no answer outside the schema."""

import pytest

from account.openapi import document_for
from servicekit.testing import fuzz_schema, fuzz_settings

schema = fuzz_schema(document_for("v2"))


@pytest.mark.parametrize("version", ["v1", "v2"], indirect=True)
@schema.parametrize()
@fuzz_settings()
def test_account_conforms_to_its_openapi(case, url):
    case.call_and_validate(base_url=url)
