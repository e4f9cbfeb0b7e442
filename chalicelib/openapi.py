"""The OpenAPI 3.1 document of the API, built from the models and endpoints the code uses.

``python -m chalicelib.openapi > docs/openapi.json`` (``make openapi``) writes it; a test
fails when the committed document drifts from what this module builds or from the routes
the app registers. The app never imports this module.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from chalicelib.auth import Endpoint
from chalicelib.errors import NOT_FOUND_MESSAGE, UNAUTHORIZED_MESSAGE, WWW_AUTHENTICATE
from chalicelib.http import MAX_BODY_BYTES, STRING_IDS_MEDIA_TYPE
from chalicelib.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE
from chalicelib.routes.pairings import CREATE, DESTROY, ENDPOINTS, LIST, NEW_ENDPOINT, SHOW
from chalicelib.schemas import ENDING_ENROLLMENT_STATES, WORKFLOW_STATES, PairingCreate, PairingPublic
from chalicelib.service import IDEMPOTENCY_KEY_MAX

TIMESTAMP_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def chalice_path(endpoint: Endpoint) -> str:
    """Canvas's ``:name`` path form as Chalice and OpenAPI write it (``{name}``)."""
    return "/".join(f"{{{part[1:]}}}" if part.startswith(":") else part for part in endpoint.path.split("/"))


def _pairing_schema() -> dict[str, Any]:
    schema = PairingPublic.model_json_schema(mode="serialization")
    schema["title"] = "TemporaryEnrollmentPairing"
    schema["required"] = list(schema["properties"])  # every field is always rendered
    schema["additionalProperties"] = False
    for name in ("created_at", "updated_at"):
        schema["properties"][name]["anyOf"][0].update(format="date-time", pattern=TIMESTAMP_PATTERN)
    return schema


def _string_ids(schema: dict[str, Any]) -> dict[str, Any]:
    """The ``application/json+canvas-string-ids`` variant: integer ids rendered as strings."""
    variant = copy.deepcopy(schema)
    variant["title"] = schema["title"] + "StringIds"
    for name, prop in variant["properties"].items():
        if name == "id" or name.endswith("_id"):
            for option in prop.get("anyOf", [prop]):
                if option.get("type") == "integer":
                    option.clear()
                    option.update(type="string", pattern="^[0-9]+$")
    return variant


def _create_schema() -> dict[str, Any]:
    schema = PairingCreate.model_json_schema()
    schema["title"] = "TemporaryEnrollmentPairingCreate"
    for prop in schema["properties"].values():
        # An empty string (and, in JSON, null) counts as absent: the default applies.
        prop["enum"] = [*prop["enum"], ""]
        prop.pop("type", None)
    return schema


def _json_create_schema() -> dict[str, Any]:
    schema = copy.deepcopy(_create_schema())
    schema["title"] = "TemporaryEnrollmentPairingCreateJson"
    for name, prop in list(schema["properties"].items()):
        schema["properties"][name] = {"anyOf": [prop, {"type": "null"}], "default": prop.get("default")}
    return schema


def _components() -> dict[str, Any]:
    message = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
    field_error = {
        "type": "object",
        "required": ["attribute", "type", "message"],
        "properties": {"attribute": {"type": "string"}, "type": {"type": "string"}, "message": {"type": "string"}},
    }
    pairing = _pairing_schema()
    return {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                           "description": "A token minted by `python -m chalicelib.admin token create`."}},
        "schemas": {
            "TemporaryEnrollmentPairing": pairing,
            "TemporaryEnrollmentPairingStringIds": _string_ids(pairing),
            "TemporaryEnrollmentPairingCreate": _create_schema(),
            "TemporaryEnrollmentPairingCreateJson": _json_create_schema(),
            "Errors": {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "status": {"type": "string", "enum": ["unauthenticated", "unauthorized"]},
                    "errors": {"type": "array", "minItems": 1, "items": message},
                },
            },
            "FieldErrors": {
                "type": "object",
                "required": ["errors"],
                "properties": {"errors": {"type": "object", "minProperties": 1,
                                          "additionalProperties": {"type": "array", "items": field_error}}},
            },
            "InternalError": {
                "type": "object",
                "required": ["errors", "request_id"],
                "properties": {
                    "errors": {"type": "array", "items": {
                        "type": "object", "required": ["message", "error_code"],
                        "properties": {"message": {"const": "An error occurred."},
                                       "error_code": {"const": "internal_server_error"}},
                    }},
                    "request_id": {"type": "string"},
                },
            },
        },
    }


def _error(description: str, schema: str = "Errors", headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _responses(endpoint: Endpoint, success: dict[str, Any], status: str) -> dict[str, Any]:
    responses: dict[str, Any] = {
        status: success,
        "400": {"description": "A parameter value is not allowed, or the body is malformed.",
                "content": {JSON: {"schema": {"anyOf": [_ref("FieldErrors"), _ref("Errors")]}}}},
        "401": _error(
            "No token, or an unknown, expired or revoked one (with WWW-Authenticate); or a token "
            "whose scopes do not cover this endpoint (without it).",
            headers={"WWW-Authenticate": {"schema": {"const": WWW_AUTHENTICATE}}},
        ),
        "403": _error(f"Another account than the token's, or no permission: {UNAUTHORIZED_MESSAGE}."),
        "404": _error(f"{NOT_FOUND_MESSAGE} The account (or pairing) does not exist, is deleted, "
                      "has the feature off, or the id is malformed."),
        "500": _error("Unexpected error; the body carries the request id.", "InternalError"),
        "503": _error("DynamoDB throttled or unreachable after retries.",
                      headers={"Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}}),
    }
    responses["413"] = _error(f"The body is larger than {MAX_BODY_BYTES} bytes (any endpoint).")
    if endpoint is CREATE:
        responses["409"] = _error(
            "The Idempotency-Key was used with other parameters, or its first request is still in "
            "flight (then with Retry-After).",
            headers={"Retry-After": {"required": False, "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
        )
        responses["415"] = _error("The body's Content-Type is not JSON, a form or multipart.")
    return dict(sorted(responses.items()))


def _pairing_content(array: bool = False) -> dict[str, Any]:
    one = {"oneOf": [_ref("TemporaryEnrollmentPairing"), _ref("TemporaryEnrollmentPairingStringIds")]}
    schema = {"type": "array", "items": one} if array else one
    return {JSON: {"schema": schema}}


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [{
        "name": "account_id", "in": "path", "required": True,
        "description": "A root account's id, or `self` for the token's account.",
        "schema": {"type": "string", "pattern": "^([0-9]{1,19}|self)$"},
    }]
    if ":id" in endpoint.path:
        params.append({"name": "id", "in": "path", "required": True, "description": "The pairing's id.",
                       "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"}})
    if endpoint is LIST:
        states = {"type": "string", "enum": [*WORKFLOW_STATES, ""]}
        params += [
            {"name": "workflow_state[]", "in": "query", "style": "form", "explode": True,
             "description": "Which states to list; only `active` when absent.",
             "schema": {"type": "array", "items": states}},
            {"name": "workflow_state", "in": "query", "description": "A single state (Canvas also accepts this form).",
             "schema": states},
            {"name": "per_page", "in": "query",
             "description": f"Page size: default {DEFAULT_PER_PAGE}, values above {MAX_PER_PAGE} mean {MAX_PER_PAGE}.",
             "schema": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": ""}]}},
            {"name": "page", "in": "query",
             "description": "`first` (or empty), or a `bookmark:` token from a `Link` header (other tokens are a 400).",
             "schema": {"type": "string", "pattern": "^(first|bookmark:[A-Za-z0-9_-]+)?$"}},
        ]
    if endpoint is CREATE:
        for name, allowed in (("workflow_state", WORKFLOW_STATES), ("ending_enrollment_state", ENDING_ENROLLMENT_STATES)):
            params.append({"name": name, "in": "query", "description": "May also be sent in the body (the body wins).",
                           "schema": {"type": "string", "enum": [*allowed, ""]}})
        params.append({"name": "Idempotency-Key", "in": "header",
                       "description": "Retries with the same key (same user, account and parameters, within 24 h) "
                                      "return the first response instead of creating another pairing.",
                       "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX}})
    return params


def _operation_id(endpoint: Endpoint) -> str:
    return f"{endpoint.name}_temporary_enrollment_pairing{'s' if endpoint is LIST else ''}"


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    link = {"Link": {"required": True, "description": "Canvas pagination links: current, next (when more), first.",
                     "schema": {"type": "string"}}}
    if endpoint is LIST:
        success, status = {"description": "The account's pairings, oldest first.", "headers": link,
                           "content": _pairing_content(array=True)}, "200"
    elif endpoint is CREATE:
        same_pairing = {"account_id": "$request.path.account_id", "id": "$response.body#/id"}
        success, status = {"description": "The new pairing.",
                           "headers": {"Location": {"required": True, "schema": {"type": "string", "format": "uri"}}},
                           "content": _pairing_content(),
                           "links": {
                               "GetPairing": {"operationId": _operation_id(SHOW), "parameters": same_pairing},
                               "DeletePairing": {"operationId": _operation_id(DESTROY), "parameters": same_pairing},
                           }}, "201"
    else:
        success, status = {"description": "The pairing.", "content": _pairing_content()}, "200"
    operation: dict[str, Any] = {
        "operationId": _operation_id(endpoint),
        "summary": {LIST: "List temporary enrollment pairings", SHOW: "Get a single temporary enrollment pairing",
                    NEW_ENDPOINT: "New TemporaryEnrollmentPairing (unsaved)", CREATE: "Create Temporary Enrollment Pairing",
                    DESTROY: "Delete Temporary Enrollment Pairing (soft)"}[endpoint],
        "description": f"Scope: `{endpoint.scope}`. Permissions (any of): "
                       + ", ".join(f"`{p}`" for p in sorted(endpoint.permissions)) + ".",
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint, success, status),
    }
    if endpoint is CREATE:
        form = {"schema": _ref("TemporaryEnrollmentPairingCreate")}
        operation["requestBody"] = {"required": False, "content": {
            JSON: {"schema": _ref("TemporaryEnrollmentPairingCreateJson")},
            "application/x-www-form-urlencoded": form,
            "multipart/form-data": form,
        }}
    return operation


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(chalice_path(endpoint), {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Temporary Enrollment Pairings API",
            "version": "1.0.0",
            "description": (
                "Canvas LMS's Temporary Enrollment Pairings API. Every GET also answers HEAD. "
                f"With `Accept: {STRING_IDS_MEDIA_TYPE}` every integer `id`/`*_id` is a string. "
                "A method a path does not have answers 405, an unknown path 404, both before authentication."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8000", "description": "make run"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": _components(),
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
