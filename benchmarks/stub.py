"""A stubbed DynamoDB for in-process measurements: canned ``AWSResponse`` bodies returned
in place of botocore's HTTP send (``Endpoint._send``), for every client in the process.

botocore still does everything it does for a real call (parameter serialization, endpoint
resolution, SigV4 signing, ``before-send`` handlers, the retry loop, response parsing); only
the socket is skipped, so what is timed is the work of our code and of botocore, not of a
network or of a DynamoDB emulator. Patching the endpoint rather than registering a handler
on one client catches every client, including any the app creates lazily, so nothing can
slip out to the network. The stub picks a canned body by operation and by a byte needle in
the request body: it costs the same few microseconds for our app and for the baseline.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Optional, Sequence

import botocore.endpoint
from botocore.awsrequest import AWSResponse

ACCOUNT_ID = 1
USER_ID = 7
PAIRING_ID = 1_000_000_001
CREATED_AT = 1_780_000_000  # epoch seconds
PAGE = 100  # items on a list page


def pairing_item(pairing_id: int, state: str = "active") -> dict[str, Any]:
    """A stored pairing, in DynamoDB JSON, as the repository writes it. Pairings of a page
    were created at different times (no two share a timestamp to render)."""
    created_at = CREATED_AT + (pairing_id - PAIRING_ID) * 37
    item: dict[str, Any] = {
        "account_id": {"N": str(ACCOUNT_ID)},
        "id": {"N": str(pairing_id)},
        "workflow_state": {"S": state},
        "ending_enrollment_state": {"S": "deleted"},
        "created_by_id": {"N": str(USER_ID)},
        "created_at": {"N": str(created_at)},
        "updated_at": {"N": str(created_at)},
        ("active_id" if state == "active" else "deleted_id"): {"N": str(pairing_id)},
    }
    if state == "deleted":
        item["deleted_by_id"] = {"N": str(USER_ID)}
    return item


def token_item(token_hash: str) -> dict[str, Any]:
    return {
        "pk": {"S": f"token#{token_hash}"},
        "account_id": {"N": str(ACCOUNT_ID)},
        "user_id": {"N": str(USER_ID)},
        "permissions": {"SS": [
            "temporary_enrollments_add", "temporary_enrollments_edit", "temporary_enrollments_delete",
        ]},
        "created_at": {"N": str(CREATED_AT)},
    }


def account_item() -> dict[str, Any]:
    return {
        "pk": {"S": f"account#{ACCOUNT_ID}"},
        "account_id": {"N": str(ACCOUNT_ID)},
        "name": {"S": "Benchmark account"},
        "workflow_state": {"S": "active"},
        "temporary_enrollments": {"BOOL": True},
    }


def query_page(count: int = PAGE + 1) -> dict[str, Any]:
    """A Query answer with ``count`` items and a LastEvaluatedKey, as DynamoDB sends when
    the ``Limit`` was reached."""
    items = [pairing_item(PAIRING_ID + n) for n in range(count)]
    last = items[-1]
    return {
        "Items": items, "Count": count, "ScannedCount": count,
        "LastEvaluatedKey": {k: last[k] for k in ("account_id", "id", "active_id")},
    }


class _Raw:
    """The streaming body botocore never reads: ``_content`` is already set."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


class StubDynamoDB:
    """Canned answers by ``X-Amz-Target`` operation, first matching needle wins."""

    def __init__(self, token_hash: str) -> None:
        self.calls: list[str] = []  # operations answered, in order (the request count)
        get_pairing = json.dumps({"Item": pairing_item(PAIRING_ID)}).encode()
        deleted = pairing_item(PAIRING_ID, "deleted")
        self._answers: dict[str, Sequence[tuple[Optional[bytes], bytes]]] = {
            "GetItem": (
                (b'"token#', json.dumps({"Item": token_item(token_hash)}).encode()),
                (b'"account#', json.dumps({"Item": account_item()}).encode()),
                (None, get_pairing),
            ),
            "Query": ((None, json.dumps(query_page()).encode()),),
            "TransactWriteItems": ((None, b"{}"),),
            "PutItem": ((None, b"{}"),),
            "UpdateItem": ((None, json.dumps({"Attributes": deleted}).encode()),),
        }

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[1]
        self.calls.append(operation)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        for needle, answer in self._answers[operation]:
            if needle is None or needle in body:
                response = AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw())
                response._content = answer
                return response
        raise AssertionError(f"stub has no answer for {operation}")

    @contextlib.contextmanager
    def serving(self) -> Iterator["StubDynamoDB"]:
        """Answer every request any botocore client sends, until the block ends."""
        original = botocore.endpoint.Endpoint._send
        botocore.endpoint.Endpoint._send = lambda endpoint, request: self(request)  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.endpoint.Endpoint._send = original  # type: ignore[method-assign]
