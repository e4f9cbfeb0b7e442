"""CloudWatch alarms (5xx, Lambda errors and throttles, DynamoDB throttling) and outputs."""

from __future__ import annotations

from typing import Any

from infra_helpers import only, require_node, table_ids


def alarms(template: Any) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template.find_resources("AWS::CloudWatch::Alarm").items()
    }


def alarm_topic_id(template: Any) -> str:
    return only(template.find_resources("AWS::SNS::Topic"))[0]


def test_every_alarm_notifies_the_alarm_topic(template: Any) -> None:
    topic = {"Ref": alarm_topic_id(template)}
    found = alarms(template)
    assert len(found) == 5
    for logical_id, alarm in found.items():
        assert alarm["AlarmActions"] == [topic], logical_id
        assert alarm["OKActions"] == [topic], logical_id
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", logical_id
        assert alarm["Threshold"] == 1, logical_id


def test_api_5xx_alarm(template: Any, settings) -> None:
    matching = [
        alarm for alarm in alarms(template).values()
        if alarm.get("Namespace") == "AWS/ApiGateway" and alarm.get("MetricName") == "5XXError"
    ]
    assert len(matching) == 1
    assert matching[0]["Statistic"] == "Sum"
    assert matching[0]["Dimensions"] == [
        {"Name": "ApiName", "Value": f"temporary-enrollment-pairings-{settings.name}"},
        {"Name": "Stage", "Value": settings.name},
    ]


def test_lambda_errors_and_throttles_alarms(template: Any) -> None:
    function_id = only(template.find_resources("AWS::Serverless::Function"))[0]
    metrics = sorted(
        alarm["MetricName"] for alarm in alarms(template).values()
        if alarm.get("Namespace") == "AWS/Lambda"
        and alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    )
    assert metrics == ["Errors", "Throttles"]


def test_dynamodb_throttled_requests_alarm_per_table(template: Any) -> None:
    watched = {}
    for alarm in alarms(template).values():
        stats = [m["MetricStat"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        if not stats:
            continue
        assert all(s["Metric"]["Namespace"] == "AWS/DynamoDB" for s in stats)
        assert all(s["Metric"]["MetricName"] == "ThrottledRequests" for s in stats)
        assert all(s["Stat"] == "Sum" for s in stats)
        tables = {
            d["Value"]["Ref"] for s in stats for d in s["Metric"]["Dimensions"] if d["Name"] == "TableName"
        }
        operations = {
            d["Value"] for s in stats for d in s["Metric"]["Dimensions"] if d["Name"] == "Operation"
        }
        (table,) = tables
        watched[table] = operations
        expression = [m for m in alarm["Metrics"] if m.get("ReturnData", True) and "Expression" in m]
        assert len(expression) == 1  # the alarm fires on the sum over the operations
    assert set(watched) == set(table_ids(template).values())
    for operations in watched.values():
        # Every operation the function performs (see test_infra_iam.py).
        assert {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "TransactWriteItems"} <= operations


def test_outputs_give_the_api_url_and_table_names(template: Any, settings) -> None:
    ids = table_ids(template)
    api_id = only(template.find_resources("AWS::Serverless::Api"))[0]
    template.has_output(
        "ApiUrl",
        {
            "Value": {
                "Fn::Sub": [
                    "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + settings.name,
                    {"Api": {"Ref": api_id}},
                ]
            }
        },
    )
    template.has_output("PairingsTableName", {"Value": {"Ref": ids["pairings"]}})
    template.has_output("DirectoryTableName", {"Value": {"Ref": ids["directory"]}})
    template.has_output("Region", {"Value": {"Ref": "AWS::Region"}})
    template.has_output("AlarmTopicArn", {"Value": {"Ref": alarm_topic_id(template)}})


def test_alarm_email_is_subscribed_when_configured() -> None:
    require_node()
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from pairings_infra.stack import alarm_topic

    stack = Stack(App(), "Alarms")
    alarm_topic(stack, "temporary-enrollment-pairings-qa", "ops@example.com")
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    quiet = Stack(App(), "Quiet")
    alarm_topic(quiet, "temporary-enrollment-pairings-qa", None)
    Template.from_stack(quiet).resource_count_is("AWS::SNS::Subscription", 0)
