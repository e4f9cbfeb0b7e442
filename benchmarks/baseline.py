"""The baseline: a bare Chalice app whose routes make the same single DynamoDB call as
ours with a raw botocore client and return the item(s) as JSON. No auth, no validation, no
models: what any handler on this stack pays at least (routing, botocore, JSON)."""

from __future__ import annotations

import json
import os
import time
from functools import lru_cache
from typing import Any

import botocore.config
import botocore.session
from chalice import Chalice, Response

baseline = Chalice(app_name="baseline")
PAIRINGS = os.environ.get("PAIRINGS_TABLE", "pairings")
DIRECTORY = os.environ.get("DIRECTORY_TABLE", "directory")
ACCOUNT_ID = "1"


@lru_cache(maxsize=1)
def client() -> Any:
    """One raw client per process, created on first use. Parameter validation is off, as
    PynamoDB sets it: the baseline is the cheapest client configuration, not the default."""
    config = botocore.config.Config(parameter_validation=False, retries={"mode": "standard"})
    return botocore.session.get_session().create_client("dynamodb", config=config)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB JSON to plain JSON values, the least a handler has to do."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        (kind, raw), = value.items()
        out[name] = int(raw) if kind == "N" else raw
    return out


@baseline.route("/items/{id}", methods=["GET"])
def show(id: str) -> dict[str, Any]:
    answer = client().get_item(
        TableName=PAIRINGS, Key={"account_id": {"N": ACCOUNT_ID}, "id": {"N": id}}, ConsistentRead=True
    )
    return _plain(answer["Item"])


@baseline.route("/items", methods=["GET"])
def list_items() -> list[dict[str, Any]]:
    answer = client().query(
        TableName=PAIRINGS, IndexName="active_pairings", ConsistentRead=True, Limit=101,
        KeyConditionExpression="account_id = :a AND active_id > :after",
        ExpressionAttributeValues={":a": {"N": ACCOUNT_ID}, ":after": {"N": "0"}},
    )
    return [_plain(item) for item in answer["Items"][:100]]


@baseline.route("/items", methods=["POST"])
def create() -> Response:
    params = json.loads(baseline.current_request.raw_body or b"{}")
    now = int(time.time())
    item_id = str(int(time.time() * 1000))
    item = {
        "account_id": {"N": ACCOUNT_ID}, "id": {"N": item_id}, "active_id": {"N": item_id},
        "workflow_state": {"S": params.get("workflow_state") or "active"},
        "ending_enrollment_state": {"S": params.get("ending_enrollment_state") or "deleted"},
        "created_by_id": {"N": "7"}, "created_at": {"N": str(now)}, "updated_at": {"N": str(now)},
    }
    client().transact_write_items(TransactItems=[
        {"Put": {"TableName": PAIRINGS, "Item": item, "ConditionExpression": "attribute_not_exists(id)"}},
        {"Put": {"TableName": DIRECTORY, "Item": {"pk": {"S": f"pairing_id#{item_id}"}, "account_id": {"N": ACCOUNT_ID}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    return Response(body=json.dumps(_plain(item)), status_code=201, headers={"Location": f"/items/{item_id}"})


@baseline.route("/items/{id}", methods=["DELETE"])
def delete(id: str) -> dict[str, Any]:
    answer = client().update_item(
        TableName=PAIRINGS, Key={"account_id": {"N": ACCOUNT_ID}, "id": {"N": id}},
        UpdateExpression="SET workflow_state = :d, deleted_by_id = :u, updated_at = :t, deleted_id = :i REMOVE active_id",
        ConditionExpression="workflow_state = :a",
        ExpressionAttributeValues={":d": {"S": "deleted"}, ":a": {"S": "active"}, ":u": {"N": "7"},
                                   ":t": {"N": str(int(time.time()))}, ":i": {"N": id}},
        ReturnValues="ALL_NEW",
    )
    return _plain(answer["Attributes"])


@baseline.route("/items/new", methods=["GET"])
def new() -> dict[str, Any]:
    return {"id": None, "account_id": int(ACCOUNT_ID), "workflow_state": "active"}
