"""DynamoDB faults injected at the botocore level, so botocore's real retry loop runs:
lost answers of applied writes, connection failures, forced id collisions. Nothing may be
created twice, half-written, or left visible by a request that failed."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from chalicelib import repository, service
from chalicelib.models import PairingIdClaimModel, PairingModel


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture
def lose_answers():
    """``lose_answers(operation, applied=1, fail=N)``: the first ``applied`` attempts of the
    operation reach DynamoDB but their answers are lost (a read timeout); the next ``fail``
    attempts never leave (a connection error). Returns the list of attempts seen."""
    installed = []

    def install(operation: str, applied: int = 1, fail: int = 0) -> list[str]:
        events = PairingModel._get_connection().connection.client.meta.events
        seen: list[str] = []

        def handler(request, **_):
            target = request.headers.get("X-Amz-Target", b"").decode()
            if not target.endswith(operation):
                return None
            seen.append(target)
            if len(seen) <= applied:
                requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=10)
                raise ReadTimeoutError(endpoint_url=request.url)
            if len(seen) <= applied + fail:
                raise EndpointConnectionError(endpoint_url=request.url)
            return None

        unique_id = f"lose-{id(handler)}"
        events.register_first("before-send.dynamodb", handler, unique_id=unique_id)
        installed.append((events, unique_id))
        return seen

    yield install
    for events, unique_id in installed:
        events.unregister("before-send.dynamodb", unique_id=unique_id)


def _all_pairings(api) -> list[dict]:
    return api.get(query="workflow_state[]=active&workflow_state[]=deleted&per_page=100").json


def test_a_create_whose_answer_was_lost_is_not_created_twice(api, lose_answers):
    attempts = lose_answers("TransactWriteItems", applied=1)
    response = api.post({"ending_enrollment_state": "completed"})
    assert response.status == 201
    assert len(attempts) == 2  # botocore retried the applied write
    assert [p["id"] for p in _all_pairings(api)] == [response.json["id"]]


def test_idempotent_retry_after_a_timeout_never_creates_two(api, lose_answers):
    # The write is applied, then every answer is lost until botocore gives up: 503.
    lose_answers("TransactWriteItems", applied=1, fail=10)
    key = {"Idempotency-Key": "flaky-network"}
    first = api.post({"ending_enrollment_state": "inactive"}, headers=key)
    assert first.status == 503 and first.headers["retry-after"] == "1"
    retried = api.post({"ending_enrollment_state": "inactive"}, headers=key)
    assert retried.status == 201
    pairings = _all_pairings(api)
    assert [p["id"] for p in pairings] == [retried.json["id"]]
    assert pairings[0]["ending_enrollment_state"] == "inactive"


def test_a_create_that_never_reached_dynamodb_leaves_nothing(api, lose_answers):
    api.create()
    before = _all_pairings(api)
    lose_answers("TransactWriteItems", applied=0, fail=1 + PairingModel.Meta.max_retry_attempts)
    response = api.post(headers={"Idempotency-Key": "never-sent"})
    assert response.status == 503
    assert _all_pairings(api) == before
    retried = api.post(headers={"Idempotency-Key": "never-sent"})  # not remembered: runs afresh
    assert retried.status == 201 and len(_all_pairings(api)) == 2


@pytest.mark.parametrize("operation, call", [
    ("UpdateItem", lambda api, pid: api.delete(f"/{pid}")),
    ("TransactWriteItems", lambda api, pid: api.post()),
    ("Query", lambda api, pid: api.get()),
    ("GetItem", lambda api, pid: api.get(f"/{pid}")),
])
def test_throttled_requests_change_nothing(api, inject_dynamodb_error, operation, call):
    pairing = api.create()
    before = _all_pairings(api)
    attempts = inject_dynamodb_error(PairingModel, "ProvisionedThroughputExceededException")
    response = call(api, pairing["id"])
    assert response.status == 503 and response.headers["retry-after"] == "1"
    assert len(attempts) == 1 + PairingModel.Meta.max_retry_attempts
    inject_dynamodb_error.remove_all()
    assert _all_pairings(api) == before
    assert api.get(f"/{pairing['id']}").json == pairing


def test_a_forced_id_collision_retries_with_a_fresh_id(api, monkeypatch, make_token, account_id):
    taken = api.create()["id"]
    drawn = iter([taken, taken, taken + 1])
    monkeypatch.setattr(service, "new_pairing_id", lambda clock: next(drawn))
    response = api.post()
    assert response.status == 201 and response.json["id"] == taken + 1
    assert PairingIdClaimModel.get(f"pairing_id#{taken + 1}").account_id == api.account
    assert [p["id"] for p in _all_pairings(api)] == [taken, taken + 1]


def test_a_collision_with_another_accounts_id_never_touches_it(api, chalice_client, make_token, account_id, monkeypatch):
    from chalicelib import admin
    from support import Api

    admin.create_account(account_id + 1_100_000)
    other = Api(chalice_client, account_id + 1_100_000, make_token(account_id=account_id + 1_100_000))
    theirs = other.create()
    drawn = iter([theirs["id"], theirs["id"] + 7])
    monkeypatch.setattr(service, "new_pairing_id", lambda clock: next(drawn))
    mine = api.create()
    assert mine["id"] == theirs["id"] + 7
    assert other.get(f"/{theirs['id']}").json == theirs
    assert repository.get_pairing(api.account, theirs["id"]) is None
