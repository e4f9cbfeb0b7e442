"""The committed OpenAPI document matches the code: models, routes, parameters, errors."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from chalicelib import openapi
from chalicelib.schemas import PairingCreate, PairingPublic
from support import PROJECT

DOCUMENT = PROJECT / "docs" / "openapi.json"


def test_the_committed_document_is_what_the_code_generates():
    assert DOCUMENT.read_text() == openapi.render(), "run `make openapi` and commit docs/openapi.json"


def test_the_document_is_valid_openapi_3_1():
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_of_the_app_is_documented_and_nothing_else():
    from app import app

    routed = {  # HEAD mirrors GET; the 405 and unknown-path answers are not operations
        (path, method.lower())
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if method != "HEAD" and not entry.view_function.__qualname__.startswith(("method_not_allowed.", "not_found"))
    }
    document = json.loads(DOCUMENT.read_text())
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routed == documented


def test_schemas_come_from_the_models():
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    assert set(schemas["TemporaryEnrollmentPairing"]["properties"]) == set(PairingPublic.model_fields)
    assert set(schemas["TemporaryEnrollmentPairing"]["required"]) == set(PairingPublic.model_fields)
    assert set(schemas["TemporaryEnrollmentPairingCreate"]["properties"]) == set(PairingCreate.model_fields)


def test_documented_statuses_cover_what_the_endpoints_answer():
    paths = json.loads(DOCUMENT.read_text())["paths"]
    base = "/api/v1/accounts/{account_id}/temporary_enrollment_pairings"
    common = {"400", "401", "403", "404", "413", "500", "503"}
    assert set(paths[base]["get"]["responses"]) == common | {"200"}
    assert set(paths[base]["post"]["responses"]) == common | {"201", "409", "415"}
    assert set(paths[base + "/{id}"]["delete"]["responses"]) == common | {"200"}
    assert "Link" in paths[base]["get"]["responses"]["200"]["headers"]
    assert "Location" in paths[base]["post"]["responses"]["201"]["headers"]
    assert paths[base]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["oneOf"][1] == {
        "$ref": "#/components/schemas/TemporaryEnrollmentPairingStringIds"
    }
