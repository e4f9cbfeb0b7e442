"""The DynamoDB tables: exactly the keys and indexes of the PynamoDB models, on-demand,
point-in-time recovery, encryption, TTL, and data kept safe in production."""

from __future__ import annotations

from typing import Any

from chalicelib import models
from infra_helpers import only, table_ids


def _model_schema(model: Any) -> dict[str, Any]:
    """What DynamoDB must have for ``model``, in CloudFormation's shape."""
    schema = model._get_schema()

    def keys(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
        order = {"HASH": 0, "RANGE": 1}
        return sorted(
            ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
            key=lambda k: order[k["KeyType"]],
        )

    return {
        "KeySchema": keys(schema["key_schema"]),
        "AttributeDefinitions": sorted(
            (dict(a) for a in schema["attribute_definitions"]), key=lambda a: a["AttributeName"]
        ),
        "LocalSecondaryIndexes": sorted(
            (
                {
                    "IndexName": index["index_name"],
                    "KeySchema": keys(index["key_schema"]),
                    "Projection": dict(index["projection"]),
                }
                for index in schema["local_secondary_indexes"]
            ),
            key=lambda i: i["IndexName"],
        ),
        "GlobalSecondaryIndexes": schema["global_secondary_indexes"],
    }


def _table_schema(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": sorted(
            properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        ),
        "LocalSecondaryIndexes": sorted(
            properties.get("LocalSecondaryIndexes", []), key=lambda i: i["IndexName"]
        ),
        "GlobalSecondaryIndexes": properties.get("GlobalSecondaryIndexes", []),
    }


def test_tables_match_the_pynamodb_models(template: Any) -> None:
    ids = table_ids(template)
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert len(tables) == 2
    for role, model in (("pairings", models.PairingModel), ("directory", models.DirectoryModel)):
        assert _table_schema(tables[ids[role]]["Properties"]) == _model_schema(model), role


def test_pairings_table_has_the_two_sparse_local_indexes(template: Any) -> None:
    from aws_cdk.assertions import Match

    # Spelled out as well, so that a model change shows up here as a readable diff.
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "account_id", "KeyType": "HASH"},
                {"AttributeName": "id", "KeyType": "RANGE"},
            ],
            "LocalSecondaryIndexes": Match.array_equals(
                [
                    {
                        "IndexName": name,
                        "KeySchema": [
                            {"AttributeName": "account_id", "KeyType": "HASH"},
                            {"AttributeName": sort_key, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                    for name, sort_key in (
                        ("active_pairings", "active_id"), ("deleted_pairings", "deleted_id"),
                    )
                ]
            ),
        },
    )


def test_every_table_is_on_demand_recoverable_and_encrypted(template: Any) -> None:
    for logical_id, resource in template.find_resources("AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert "ProvisionedThroughput" not in properties, logical_id
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }, logical_id
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical_id


def test_directory_table_expires_idempotency_records(template: Any) -> None:
    _, directory = only(
        template.find_resources(
            "AWS::DynamoDB::Table",
            {"Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}},
        )
    )
    assert directory["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": models.DIRECTORY_TTL_ATTRIBUTE,
        "Enabled": True,
    }


def test_production_data_is_protected_and_dev_can_be_torn_down(template: Any, settings) -> None:
    expected_policy = "Retain" if settings.name == "prod" else "Delete"
    assert settings.retain_data is (settings.name == "prod")
    for logical_id, resource in template.find_resources("AWS::DynamoDB::Table").items():
        assert resource["Properties"]["DeletionProtectionEnabled"] is settings.retain_data, logical_id
        assert resource["DeletionPolicy"] == expected_policy, logical_id
        assert resource["UpdateReplacePolicy"] == expected_policy, logical_id


def test_production_stack_has_termination_protection(cloud_assembly, stage: str) -> None:
    import json

    manifest = json.loads((cloud_assembly.outdir / "manifest.json").read_text())
    artifact = manifest["artifacts"][f"TemporaryEnrollmentPairings-{stage}"]
    assert artifact["properties"].get("terminationProtection", False) is (stage == "prod")
