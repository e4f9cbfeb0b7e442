"""The Lambda function: runtime, memory, timeout, tracing, logs and its environment."""

from __future__ import annotations

import sys
from typing import Any

from chalicelib.config import Settings
from infra_helpers import only, table_ids
from pairings_infra.settings import API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS


def test_runtime_matches_the_python_used_here(template: Any) -> None:
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert runtime == "python3.11"
    template.has_resource_properties(
        "AWS::Serverless::Function", {"Runtime": runtime, "Handler": "app.app"}
    )


def test_memory_and_timeout_below_api_gateways_limit(template: Any, settings) -> None:
    _, function = only(template.find_resources("AWS::Serverless::Function"))
    properties = function["Properties"]
    assert properties["MemorySize"] == settings.lambda_memory_size
    assert properties["Timeout"] == settings.lambda_timeout_seconds
    assert properties["Timeout"] < API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS


def test_active_xray_tracing(template: Any) -> None:
    template.has_resource_properties("AWS::Serverless::Function", {"Tracing": "Active"})


def test_logs_go_to_a_log_group_with_retention(template: Any, settings) -> None:
    _, function = only(template.find_resources("AWS::Serverless::Function"))
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = template.find_resources("AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == settings.log_retention_days
    for logical_id, group in template.find_resources("AWS::Logs::LogGroup").items():
        assert "RetentionInDays" in group["Properties"], f"{logical_id} keeps logs forever"


def test_table_names_come_from_the_tables_not_from_chalice_config(template: Any) -> None:
    from aws_cdk.assertions import Match

    ids = table_ids(template)
    template.has_resource_properties(
        "AWS::Serverless::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "PAIRINGS_TABLE": {"Ref": ids["pairings"]},
                        "DIRECTORY_TABLE": {"Ref": ids["directory"]},
                    }
                )
            }
        },
    )


def test_environment_is_accepted_by_the_apps_settings(template: Any, settings) -> None:
    """The variables the stack sets parse with chalicelib.config, to the stage's values."""
    _, function = only(template.find_resources("AWS::Serverless::Function"))
    variables = dict(function["Properties"]["Environment"]["Variables"])
    variables.update(PAIRINGS_TABLE="pairings-table", DIRECTORY_TABLE="directory-table")
    parsed = Settings.from_env(variables)
    assert parsed.auth_cache_seconds == settings.auth_cache_seconds
    assert parsed.dynamodb_connect_timeout == settings.dynamodb_connect_timeout
    assert parsed.dynamodb_read_timeout == settings.dynamodb_read_timeout
    assert parsed.dynamodb_max_retries == settings.dynamodb_max_retries


def test_code_comes_from_the_cdk_asset(template: Any) -> None:
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::Serverless::Function",
        {"CodeUri": {"Bucket": Match.any_value(), "Key": Match.string_like_regexp(r"^[0-9a-f]{64}\.zip$")}},
    )
