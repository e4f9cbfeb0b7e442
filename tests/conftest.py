"""Shared fixtures. Fake AWS credentials, region and table names are set here, before
anything imports boto, and one moto server (the real DynamoDB protocol) serves the session."""

from __future__ import annotations

import itertools
import json
import logging
import os
from typing import Iterator

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "PAIRINGS_TABLE": "test-pairings",
        "DIRECTORY_TABLE": "test-directory",
    }
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from support import Api, FakeClock, free_port  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def dynamodb_endpoint() -> Iterator[str]:
    """A moto server for the whole session; the app reaches it through the standard
    AWS_ENDPOINT_URL_DYNAMODB variable, exactly as in ``make run``."""
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the moto server's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    from chalicelib import repository

    repository.create_tables()
    yield endpoint
    server.stop()


_account_ids = itertools.count(1000)


@pytest.fixture
def account_id() -> int:
    """A fresh account id per test, so tests never see each other's pairings."""
    return next(_account_ids)


@pytest.fixture(autouse=True)
def fresh_auth_cache() -> Iterator[None]:
    from chalicelib.auth import get_authenticator

    get_authenticator().clear()
    yield
    get_authenticator().clear()


# --- accounts, tokens and request counting ------------------------------------------------

ALL_PERMISSIONS = (
    "temporary_enrollments_add",
    "temporary_enrollments_edit",
    "temporary_enrollments_delete",
)


@pytest.fixture
def account(account_id: int) -> int:
    """An active account with the feature on."""
    from chalicelib import admin

    admin.create_account(account_id, f"Account {account_id}")
    return account_id


@pytest.fixture
def make_token(account: int):
    """Mint tokens for the test's account (or another); returns the bearer token."""
    from chalicelib import admin

    def make(
        permissions=ALL_PERMISSIONS, *, user: int = 7, scopes=(), expires_in=None, account_id=None
    ) -> str:
        return admin.create_token(
            account if account_id is None else account_id, user, permissions, scopes, expires_in
        )

    return make


@pytest.fixture
def token(make_token) -> str:
    return make_token()


class DynamoDBRequests:
    """Every HTTP request any botocore client sends to DynamoDB, retries included."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    @property
    def count(self) -> int:
        return len(self.operations)

    def reset(self) -> None:
        self.operations.clear()


@pytest.fixture
def ddb_requests(monkeypatch) -> DynamoDBRequests:
    import botocore.endpoint

    recorder = DynamoDBRequests()
    original = botocore.endpoint.Endpoint._send

    def counting_send(self, request):
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        if target.startswith("DynamoDB_"):
            recorder.operations.append(target.split(".", 1)[1])
        return original(self, request)

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", counting_send)
    return recorder


# --- calling the app in process -------------------------------------------------------------


@pytest.fixture
def chalice_client():
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield client


@pytest.fixture
def api(chalice_client, account: int, token: str) -> Api:
    return Api(chalice_client, account, token)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """Give the app an authenticator on a fake clock (token expiry, cache lifetimes)."""
    from chalicelib import auth, http

    fake = FakeClock()
    authenticator = auth.Authenticator(60, clock=fake)
    monkeypatch.setattr(http, "get_authenticator", lambda: authenticator)
    return fake


@pytest.fixture
def inject_dynamodb_error():
    """Make a model's botocore client answer with an error before anything is sent, so
    botocore's own retry loop runs. Returns ``inject(model, code, status, times)``; the
    number of attempts seen is in the returned list."""
    from botocore.awsrequest import AWSResponse

    installed = []

    def inject(model, code: str, status: int = 400, times: int = 10**9) -> list[str]:
        events = model._get_connection().connection.client.meta.events
        attempts: list[str] = []

        class _Raw:
            def stream(self, **_):
                yield b""

        def handler(request, **_):
            if len(attempts) >= times:
                return None
            attempts.append(request.headers.get("X-Amz-Target", b"").decode())
            body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})
            response = AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, _Raw())
            response._content = body.encode()
            return response

        events.register_first("before-send.dynamodb", handler, unique_id=f"fault-{id(handler)}")
        installed.append((events, f"fault-{id(handler)}"))
        return attempts

    def remove_all() -> None:
        while installed:
            events, unique_id = installed.pop()
            events.unregister("before-send.dynamodb", unique_id=unique_id)

    inject.remove_all = remove_all
    yield inject
    remove_all()


