"""spec/openapi.yaml is a valid OpenAPI 3.1 document (openapi-spec-validator).
Schemathesis' own reading of it (which once found `grant_types_supported`'s
schema unusable) is checked by tests/e2e/test_schemathesis.py: a schema error
there fails the run."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.contract import load_spec


def test_the_spec_is_valid_openapi() -> None:
    validate(load_spec())
