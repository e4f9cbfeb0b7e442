"""One structured JSON log line per request, with its fields and never the token."""

from __future__ import annotations

import json


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_one_json_line_per_request_with_its_fields(api, capsys):
    pairing = api.create()
    api.get("/new")  # warm caches
    capsys.readouterr()
    api.get(f"/{pairing['id']}")
    api.call("PUT", token=None)
    api.get(token=None)
    lines = _lines(capsys.readouterr().out)
    assert [line["message"] for line in lines] == ["request"] * 3
    show, not_allowed, anonymous = lines
    assert show["method"] == "GET" and show["status"] == 200
    assert show["route"] == "/api/v1/accounts/{account_id}/temporary_enrollment_pairings/{id}"
    assert show["account_id"] == api.account and show["user_id"] == 7
    assert show["dynamodb_calls"] == 1 and show["latency_ms"] >= 0
    assert show["request_id"] and show["level"] == "INFO" and show["time"].endswith("+00:00")
    assert not_allowed["status"] == 405 and not_allowed["account_id"] is None
    assert anonymous["status"] == 401 and anonymous["user_id"] is None


def test_logs_never_carry_the_token(api, capsys, make_token):
    revoked = make_token()
    from chalicelib import repository
    from chalicelib.auth import hash_token

    repository.revoke_token(hash_token(revoked), 1)
    capsys.readouterr()
    api.create()
    api.get(token=revoked)
    api.get(headers={"Authorization": f"Bearer {api.token}x"}, token=None)
    api.get(query=f"access_token={api.token}", token=None)
    output = capsys.readouterr().out
    assert len(_lines(output)) == 4
    for secret in (api.token, revoked, hash_token(api.token)):
        assert secret not in output


def test_dynamodb_calls_counted_per_request(api, capsys):
    api.get("/new")
    capsys.readouterr()
    api.post(headers={"Idempotency-Key": "logged"})
    (line,) = _lines(capsys.readouterr().out)
    assert line["status"] == 201 and line["dynamodb_calls"] == 2  # lease + transaction
