"""API Gateway: throttling from the stage settings, access logs, tracing, and gateway
responses that answer in the contract's JSON instead of API Gateway's own bodies."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import NotFound
from infra_helpers import only


def rest_api(template: Any) -> dict[str, Any]:
    return only(template.find_resources("AWS::Serverless::Api"))[1]["Properties"]


def gateway_responses(template: Any) -> dict[str, Any]:
    return rest_api(template)["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]


def test_stage_throttling_comes_from_the_stage_settings(template: Any, settings) -> None:
    assert rest_api(template)["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": settings.throttling_rate_limit,
            "ThrottlingBurstLimit": settings.throttling_burst_limit,
        }
    ]


def test_access_logging_to_a_log_group_with_retention(template: Any, settings) -> None:
    setting = rest_api(template)["AccessLogSetting"]
    # arn:<partition>:logs:<region>:<account>:log-group:<name>, without the ":*" suffix.
    join = setting["DestinationArn"]["Fn::Join"][1]
    assert join[-2].endswith(":log-group:") and join[0] == "arn:", join
    log_group_id = join[-1]["Ref"]
    log_group = template.find_resources("AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == settings.log_retention_days
    fields = json.loads(setting["Format"])  # one JSON object per request
    assert fields["requestId"] == "$context.requestId"
    assert {"status", "httpMethod", "resourcePath", "integrationLatency"} <= set(fields)
    assert "authorization" not in setting["Format"].lower()  # bearer tokens stay out of logs


def test_access_logging_can_be_delivered(template: Any, settings) -> None:
    """API Gateway needs an account-level CloudWatch role before a stage may log."""
    accounts = template.find_resources("AWS::ApiGateway::Account")
    if not settings.manage_api_gateway_account_role:
        assert accounts == {}
        return
    account_id, account = only(accounts)
    assert account["DeletionPolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = template.find_resources("AWS::IAM::Role")[role_id]
    assert "apigateway.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    _, api = only(template.find_resources("AWS::Serverless::Api"))
    assert account_id in api["DependsOn"]


def test_tracing_and_a_stage_specific_name(template: Any, settings) -> None:
    api = rest_api(template)
    assert api["TracingEnabled"] is True
    assert api["Name"] == f"temporary-enrollment-pairings-{settings.name}"
    assert api["DefinitionBody"]["info"]["title"] == api["Name"]
    assert api["StageName"] == settings.name  # https://…/prod/api/v1/…, not /api/api/v1


def test_sam_creates_no_second_unthrottled_stage(template: Any) -> None:
    # Without OpenApiVersion, SAM adds a stage called "Stage" beside StageName, serving the
    # same API without the stage settings (throttling, access logs).
    api = rest_api(template)
    assert api["OpenApiVersion"] == "2.0"
    assert api["DefinitionBody"]["swagger"] == "2.0"


def test_unknown_path_answers_the_contracts_404(template: Any) -> None:
    responses = gateway_responses(template)
    for response_type in ("MISSING_AUTHENTICATION_TOKEN", "RESOURCE_NOT_FOUND"):
        response = responses[response_type]
        assert response["statusCode"] == "404", response_type
        body = json.loads(response["responseTemplates"]["application/json"])
        assert body == {"errors": [{"message": "The specified resource does not exist."}]}
        assert body == NotFound().body()  # the app's own 404, byte for byte in meaning
        assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"


def test_other_gateway_errors_are_json_in_the_contracts_shape(template: Any) -> None:
    responses = gateway_responses(template)
    throttled = responses["THROTTLED"]
    assert throttled["statusCode"] == "429"
    assert json.loads(throttled["responseTemplates"]["application/json"]) == {
        "errors": [{"message": "Rate limit exceeded."}]
    }
    # DEFAULT_4XX/5XX keep the gateway's status; the templates are JSON once API Gateway
    # substitutes its variables ($context.error.messageString is a quoted string).
    default_4xx = responses["DEFAULT_4XX"]["responseTemplates"]["application/json"]
    assert json.loads(default_4xx.replace("$context.error.messageString", '"Forbidden"')) == {
        "errors": [{"message": "Forbidden"}]
    }
    default_5xx = responses["DEFAULT_5XX"]["responseTemplates"]["application/json"]
    assert json.loads(default_5xx.replace("$context.requestId", "abc")) == {
        "errors": [{"message": "An error occurred.", "error_code": "internal_server_error"}],
        "request_id": "abc",
    }
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in responses[response_type]


def test_every_route_of_the_app_is_in_the_api(template: Any) -> None:
    """The definition Chalice generated is the app's: all three paths of the contract."""
    paths = set(rest_api(template)["DefinitionBody"]["paths"])
    prefix = "/api/v1/accounts/{account_id}/temporary_enrollment_pairings"
    assert {prefix, prefix + "/new", prefix + "/{id}"} <= paths
    # The catch-all that answers every unknown path (and method) with the contract's 404.
    assert {"/", "/{proxy+}"} <= paths
    definition = rest_api(template)["DefinitionBody"]["paths"]
    for path in (prefix, prefix + "/new", prefix + "/{id}", "/{proxy+}"):
        assert {"get", "head", "post", "put", "patch", "delete", "options"} <= set(definition[path]), path
