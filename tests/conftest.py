"""Shared fixtures. Fake AWS credentials, region and table names are set here, before
anything imports boto, and one moto server (the real DynamoDB protocol) serves the session."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


class ApiResponse:
    """A response with its JSON body parsed."""

    def __init__(self, status: int, headers, body: bytes) -> None:
        import json

        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.text = body.decode() if body else ""
        self.json = json.loads(self.text) if self.text else None

    def __repr__(self) -> str:
        return f"<{self.status} {self.text[:300]}>"


class Api:
    """The app through ``chalice.test.Client``: real routing, middleware and views."""

    def __init__(self, client, account: int, token: str) -> None:
        self.client = client
        self.account = account
        self.token = token

    def path(self, suffix: str = "", account=None) -> str:
        return f"/api/v1/accounts/{self.account if account is None else account}/temporary_enrollment_pairings{suffix}"

    def call(self, method: str, suffix: str = "", *, token=..., headers=None, body=None, account=None, query: str = "") -> ApiResponse:
        import json as _json

        all_headers = {}
        token = self.token if token is ... else token
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = _json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        path = self.path(suffix, account) + (f"?{query}" if query else "")
        response = self.client.http.request(method, path, headers=all_headers, body=body or b"")
        return ApiResponse(response.status_code, response.headers, response.body)

    def get(self, suffix: str = "", **kwargs) -> ApiResponse:
        return self.call("GET", suffix, **kwargs)

    def post(self, body=None, **kwargs) -> ApiResponse:
        return self.call("POST", body=body, **kwargs)

    def delete(self, suffix: str, **kwargs) -> ApiResponse:
        return self.call("DELETE", suffix, **kwargs)

    def create(self, **params) -> dict:
        response = self.post(params or None)
        assert response.status == 201, response
        return response.json


@pytest.fixture
def chalice_client():
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield client


@pytest.fixture
def api(chalice_client, account: int, token: str) -> Api:
    return Api(chalice_client, account, token)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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

    yield inject
    for events, unique_id in installed:
        events.unregister("before-send.dynamodb", unique_id=unique_id)


# --- the real local server ------------------------------------------------------------------

PROJECT = Path(__file__).resolve().parent.parent


class LocalServer:
    """A running ``scripts/run_local.py`` and what it printed."""

    def __init__(self, port: int, dynamodb_port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PAIRINGS_", "DIRECTORY_"))}
        env.update(PORT=str(port), DYNAMODB_PORT=str(dynamodb_port), PYTHONUNBUFFERED="1")
        self.port, self.dynamodb_port, self.env = port, dynamodb_port, env
        self.base = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "scripts/run_local.py"], cwd=PROJECT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("local server exited:\n" + "".join(self.output))
            self.output.append(line)
            if line.startswith("Serving on"):
                break
        else:
            raise RuntimeError("local server did not start:\n" + "".join(self.output))
        printed = "".join(self.output)
        self.token = re.search(r"export TOKEN=(\S+)", printed).group(1)
        self.curl = re.search(r"^\s*(curl -i -X POST .*)$", printed, re.M).group(1)

    def admin(self, *args: str) -> str:
        """Run the admin command against this server's DynamoDB, as an operator would."""
        env = dict(self.env, AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{self.dynamodb_port}")
        config = json.loads((PROJECT / ".chalice/config.json").read_text())
        env.update(config["stages"]["dev"]["environment_variables"])
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.admin", *args], cwd=PROJECT, env=env,
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            return self.process.wait(timeout=20)
        finally:
            self.process.stdout.close()


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (connections left in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
