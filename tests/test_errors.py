"""Errors as clients see them: 503 after DynamoDB retries, the generic 500, and no leaks."""

from __future__ import annotations

import json

import pytest

from chalicelib import repository
from chalicelib.models import PairingModel


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    # botocore's standard mode sleeps up to 2^n seconds between attempts; keep tests quick
    # without changing how many attempts are made.
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.mark.parametrize(
    "code, status",
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_dynamodb_throttling_and_5xx_are_retried_then_503(api, inject_dynamodb_error, code, status):
    pairing = api.create()
    attempts = inject_dynamodb_error(PairingModel, code, status)
    response = api.get(f"/{pairing['id']}")
    assert response.status == 503
    assert response.headers["retry-after"] == "1"
    assert response.json["errors"][0]["message"]
    assert len(attempts) == 1 + PairingModel.Meta.max_retry_attempts  # botocore retried


def test_a_transient_throttle_is_absorbed_by_retries(api, inject_dynamodb_error):
    pairing = api.create()
    inject_dynamodb_error(PairingModel, "ThrottlingException", times=2)
    assert api.get(f"/{pairing['id']}").status == 200


def test_unexpected_errors_are_a_generic_500_logged_without_the_token(api, monkeypatch, capsys):
    def explode(*args, **kwargs):
        raise ValueError("kaboom")

    monkeypatch.setattr(repository, "get_pairing", explode)
    capsys.readouterr()
    response = api.get("/123")
    logged = capsys.readouterr().out
    assert response.status == 500
    request_id = response.json["request_id"]
    assert response.json == {
        "errors": [{"message": "An error occurred.", "error_code": "internal_server_error"}],
        "request_id": request_id,
    }
    assert "kaboom" not in response.text and api.token not in response.text
    lines = [json.loads(line) for line in logged.splitlines()]
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["request_id"] == request_id and "kaboom" in error["exception"]
    access = next(line for line in lines if line["message"] == "request")
    assert access["request_id"] == request_id and access["status"] == 500
    assert api.token not in logged


def test_every_error_is_json(api):
    for response in (api.get(token=None), api.get("/x"), api.call("PUT"), api.get(query="per_page=x"),
                     api.call("POST", body=b"x", headers={"Content-Type": "text/plain"})):
        assert response.headers["content-type"].startswith("application/json")
        assert response.json["errors"]


def test_any_5xx_that_outlasts_the_retries_is_503(api, inject_dynamodb_error):
    # An HTML 500 without a DynamoDB error code (a proxy, or moto under a race).
    pairing = api.create()
    inject_dynamodb_error(PairingModel, "500", 500)
    response = api.get(f"/{pairing['id']}")
    assert response.status == 503 and response.headers["retry-after"] == "1"
