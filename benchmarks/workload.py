"""The requests the benchmark sends: the same operations as API Gateway events for our app
and for the baseline app, and a mixed sequence for the memory measurement."""

from __future__ import annotations

import itertools
from typing import Any, Iterator

from benchmarks import stub
from benchmarks.apigw import event

TOKEN = "bench-token-" + "x" * 32  # the stub knows every token; this one is only hashed
COLLECTION = "/api/v1/accounts/{account_id}/temporary_enrollment_pairings"
PATH = f"/api/v1/accounts/{stub.ACCOUNT_ID}/temporary_enrollment_pairings"
AUTH = {"authorization": f"Bearer {TOKEN}"}
JSON = {"content-type": "application/json"}
CREATE_BODY = '{"ending_enrollment_state":"completed"}'


def ours(name: str, idempotency_key: str = "") -> dict[str, Any]:
    """An event for one of our endpoints: show, create, list (a page of 100), delete, new."""
    member = f"{PATH}/{stub.PAIRING_ID}"
    if name == "show":
        return event("GET", COLLECTION + "/{id}", member, AUTH)
    if name == "create":
        extra = {"idempotency-key": idempotency_key} if idempotency_key else {}
        return event("POST", COLLECTION, PATH, {**AUTH, **JSON, **extra}, body=CREATE_BODY)
    if name == "list":
        return event("GET", COLLECTION, PATH, AUTH, query=f"per_page={stub.PAGE}")
    if name == "list10":
        return event("GET", COLLECTION, PATH, AUTH, query="per_page=10")
    if name == "delete":
        return event("DELETE", COLLECTION + "/{id}", member, AUTH)
    if name == "new":
        return event("GET", COLLECTION + "/new", f"{PATH}/new", AUTH)
    raise ValueError(name)


def baseline(name: str) -> dict[str, Any]:
    """The same operation on the bare baseline app (no auth, no validation)."""
    member = f"/items/{stub.PAIRING_ID}"
    if name == "show":
        return event("GET", "/items/{id}", member)
    if name == "create":
        return event("POST", "/items", "/items", JSON, body=CREATE_BODY)
    if name in ("list", "list10"):
        return event("GET", "/items", "/items", query=f"per_page={stub.PAGE}")
    if name == "delete":
        return event("DELETE", "/items/{id}", member)
    if name == "new":
        return event("GET", "/items/new", "/items/new")
    raise ValueError(name)


# Ten requests in the proportions of a plausible client: mostly reads, some writes.
MIX = ("show", "list10", "show", "create", "list", "show", "new", "delete", "create", "show")


def mixed(kind: str) -> Iterator[dict[str, Any]]:
    """An endless mixed sequence of events for ``kind`` ("ours" or "baseline"). One create
    of ours in four carries an Idempotency-Key, so that path's code (and any client it
    needs) is loaded too."""
    counter = itertools.count()
    for name in itertools.cycle(MIX):
        n = next(counter)
        if kind == "ours":
            yield ours(name, idempotency_key=f"key-{n}" if name == "create" and n % 20 == 3 else "")
        else:
            yield baseline(name)
