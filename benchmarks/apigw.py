"""API Gateway REST proxy events, shaped as a deployed API sends them to the function."""

from __future__ import annotations

import re
from typing import Any, Optional
from urllib.parse import parse_qsl

STAGE = "dev"
DOMAIN = "abcdef1234.execute-api.us-east-1.amazonaws.com"


class LambdaContext:
    """The attributes Chalice and our code may read from Lambda's context object."""

    function_name = "bench"
    memory_limit_in_mb = 128
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def event(
    method: str,
    resource: str,
    path: str,
    headers: Optional[dict[str, str]] = None,
    query: str = "",
    body: Optional[str] = None,
) -> dict[str, Any]:
    """A proxy event for ``path`` matched to the route template ``resource``."""
    names = re.findall(r"{(\w+)}", resource)
    pattern = "^" + re.sub(r"{\w+}", "([^/]+)", resource) + "$"
    match = re.match(pattern, path)
    assert match is not None, (resource, path)
    path_params = dict(zip(names, match.groups())) or None
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    all_headers = {"host": DOMAIN, "accept": "application/json", "user-agent": "bench", **(headers or {})}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "domainName": DOMAIN,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }
