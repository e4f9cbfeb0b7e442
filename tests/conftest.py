"""Shared fixtures. Fake AWS credentials, region and table names are set here, before
anything imports boto, and one moto server (the real DynamoDB protocol) serves the session."""

from __future__ import annotations

import itertools
import os
import socket
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
