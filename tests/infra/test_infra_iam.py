"""The function's role: least privilege, proven against what the code really calls.

The last test runs every endpoint (and the failure paths that touch DynamoDB) through
the app against moto, records each DynamoDB request botocore sends, turns it into the IAM
actions and resources AWS would authorize it as, and requires that set to be exactly what
the role grants: nothing missing (the deployed app would fail) and nothing extra.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
from typing import Any, Iterator, Optional
from unittest import mock

from infra_helpers import only, table_ids

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_role(template: Any) -> tuple[str, dict[str, Any]]:
    """The role the Lambda function runs as (the one its ``Role`` property points at)."""
    _, function = only(template.find_resources("AWS::Serverless::Function"))
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id, template.find_resources("AWS::IAM::Role")[role_id]


def role_statements(template: Any) -> list[dict[str, Any]]:
    """Every statement granted to the function role: inline and attached policies."""
    role_id, role = function_role(template)
    assert "ManagedPolicyArns" not in role["Properties"], "no managed policies on the role"
    statements = [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _resource_name(resource: Any, tables: dict[str, str]) -> str:
    """A granted DynamoDB resource as "pairings", "pairings/index/NAME" or "directory"."""
    by_id = {logical_id: role for role, logical_id in tables.items()}
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        assert attribute == "Arn"
        return by_id[logical_id]
    if isinstance(resource, dict) and "Fn::Join" in resource:
        separator, parts = resource["Fn::Join"]
        assert separator == "" and len(parts) == 2, resource
        assert isinstance(parts[1], str) and parts[1].startswith("/index/"), resource
        return _resource_name(parts[0], tables) + parts[1]
    raise AssertionError(f"unexpected DynamoDB resource {resource!r}")


def granted_dynamodb(template: Any) -> set[tuple[str, str]]:
    tables = table_ids(template)
    granted = set()
    for statement in role_statements(template):
        actions = _as_list(statement["Action"])
        if not any(action.startswith("dynamodb:") for action in actions):
            continue
        assert all(action.startswith("dynamodb:") for action in actions), statement
        for action in actions:
            for resource in _as_list(statement["Resource"]):
                granted.add((action.removeprefix("dynamodb:"), _resource_name(resource, tables)))
    return granted


def test_role_is_for_lambda_only(template: Any) -> None:
    _, role = function_role(template)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def test_no_wildcard_actions_and_only_xray_on_star(template: Any) -> None:
    statements = role_statements(template)
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        actions = _as_list(statement["Action"])
        assert all("*" not in action for action in actions), statement
        if "*" in _as_list(statement["Resource"]):
            # X-Ray has no resource-level permissions: "*" is the only possible resource.
            assert set(actions) == XRAY_ACTIONS and statement["Resource"] == "*", statement


def test_logs_only_to_the_functions_own_log_group(template: Any) -> None:
    _, function = only(template.find_resources("AWS::Serverless::Function"))
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    logs = [s for s in role_statements(template) if any(a.startswith("logs:") for a in _as_list(s["Action"]))]
    assert len(logs) == 1
    assert sorted(_as_list(logs[0]["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs[0]["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}


def test_dynamodb_only_on_these_tables_and_their_indexes(template: Any) -> None:
    resources = {resource for _, resource in granted_dynamodb(template)}
    assert resources == {
        "pairings", "pairings/index/active_pairings", "pairings/index/deleted_pairings", "directory",
    }


def test_chalice_does_not_create_a_role_of_its_own(template: Any) -> None:
    from aws_cdk.assertions import Match

    roles = template.find_resources("AWS::IAM::Role")
    lambda_roles = [
        logical_id for logical_id, role in roles.items()
        if "lambda.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert lambda_roles == [function_role(template)[0]]
    template.has_resource_properties(
        "AWS::Serverless::Function", {"Role": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
    )


# --- what the code really calls -------------------------------------------------------------

_TRANSACT_ACTIONS = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@contextlib.contextmanager
def recorded_dynamodb_requests() -> Iterator[list[tuple[str, str, Optional[str]]]]:
    """Record (IAM action, table, index) for every DynamoDB request botocore sends.

    Transactions are recorded item by item: IAM authorizes each item of TransactWriteItems
    as the PutItem/UpdateItem/DeleteItem/ConditionCheckItem it contains.
    """
    import botocore.endpoint

    calls: list[tuple[str, str, Optional[str]]] = []
    written_keys: list[tuple[str, str]] = []
    original = botocore.endpoint.Endpoint._send

    def send(self: Any, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if target.startswith("DynamoDB_"):
            operation = target.split(".", 1)[1]
            body = request.body or b"{}"
            payload = json.loads(body.decode() if isinstance(body, bytes) else body)
            if operation == "TransactWriteItems":
                for item in payload["TransactItems"]:
                    ((kind, spec),) = item.items()
                    calls.append((_TRANSACT_ACTIONS[kind], spec["TableName"], None))
                    written_keys.append((spec["TableName"], _leading_key(spec)))
            elif "RequestItems" in payload:  # batch operations
                calls.extend((operation, table, None) for table in payload["RequestItems"])
            else:
                calls.append((operation, payload.get("TableName", "?"), payload.get("IndexName")))
                if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                    written_keys.append((payload["TableName"], _leading_key(payload)))
        return original(self, request)

    with mock.patch.object(botocore.endpoint.Endpoint, "_send", send):
        yield calls
    WRITTEN_KEYS[:] = written_keys


#: The partition key values of every write the last recording saw: (table, key).
WRITTEN_KEYS: list[tuple[str, str]] = []


def _leading_key(spec: dict[str, Any]) -> str:
    key = spec.get("Item") or spec.get("Key") or {}
    first = key.get("pk") or key.get("account_id") or {}
    return next(iter(first.values()), "")


def exercise_every_endpoint(api: Any, monkeypatch: Any) -> None:
    """Every route, and each branch of the repository that reaches DynamoDB."""
    from chalicelib import repository
    from chalicelib.errors import ServiceUnavailable

    assert api.get("", token="not-a-token").status == 401  # unknown token: one GetItem
    assert api.get("/new").status == 200
    created = api.create()
    api.create(workflow_state="deleted")
    for query in ("", "workflow_state[]=deleted", "workflow_state[]=active&workflow_state[]=deleted"):
        assert api.get("", query=query).status == 200
    assert api.get(f"/{created['id']}").status == 200
    assert api.get("/1").status == 404
    assert api.delete(f"/{created['id']}").status == 200
    assert api.delete(f"/{created['id']}").status == 200  # already deleted: read back
    # Idempotency: first attempt, replay, different parameters with the same key.
    key = {"Idempotency-Key": "infra-least-privilege"}
    assert api.post({"ending_enrollment_state": "completed"}, headers=key).status == 201
    assert api.post({"ending_enrollment_state": "completed"}, headers=key).status == 201
    assert api.post({"ending_enrollment_state": "inactive"}, headers=key).status == 409
    # A create that fails after taking the idempotency lease releases it (DeleteItem).
    def unavailable(*_: Any, **__: Any) -> None:
        raise ServiceUnavailable()

    monkeypatch.setattr(repository, "create_pairing", unavailable)
    assert api.post(None, headers={"Idempotency-Key": "infra-released"}).status == 503


def test_role_grants_exactly_the_dynamodb_calls_the_code_makes(template: Any, api, monkeypatch) -> None:
    tables = {os.environ["PAIRINGS_TABLE"]: "pairings", os.environ["DIRECTORY_TABLE"]: "directory"}
    with recorded_dynamodb_requests() as calls:
        exercise_every_endpoint(api, monkeypatch)
    used = {
        (action, tables[table] + (f"/index/{index}" if index else ""))
        for action, table, index in calls
    }
    # No DescribeTable or other control-plane call at request time (PynamoDB 6 builds its
    # table metadata from the models).
    assert {action for action, _ in used} <= {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "ConditionCheckItem",
    }, used
    granted = granted_dynamodb(template)
    assert used - granted == set(), "the deployed function would be denied these"
    assert granted - used == set(), "granted but never used: remove from the role"
    # Directory writes are allowed only on id claims and idempotency records, and those are
    # the only directory items the code writes (never a token or an account).
    (writes,) = [st for st in role_statements(template) if st.get("Sid") == "DirectoryWrites"]
    patterns = writes["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert patterns == ["pairing_id#*", "idempotency#*"]
    directory_writes = [key for table, key in WRITTEN_KEYS if tables[table] == "directory"]
    assert directory_writes
    assert all(any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns) for key in directory_writes)
    reads = [st for st in role_statements(template) if st.get("Sid") == "DirectoryReads"]
    assert len(reads) == 1 and "Condition" not in reads[0]
