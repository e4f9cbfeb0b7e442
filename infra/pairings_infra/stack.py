"""One deployed stage of the Temporary Enrollment Pairings API, as a CDK stack.

Laid out like Chalice's own ``cdk-ddb`` template: the Chalice app (repository root) is
packaged by the ``chalice.cdk`` construct, the DynamoDB tables are created here and handed
to the function through environment variables, and access is granted to the function's role.
Beyond the template, this stack owns the function role (least privilege, instead of
Chalice's generated one), the log groups (with retention), API Gateway's stage settings and
gateway responses, alarms and outputs. What Chalice generates (function, REST API, invoke
permission) is adjusted through CloudFormation property overrides on the included SAM
template, so ``chalice package`` stays the single source of the routes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from constructs import Construct

from pairings_infra.chalice_app import SlimChalice
from pairings_infra.settings import RETENTION_DAYS, StageSettings

APP_NAME = "temporary-enrollment-pairings"
#: Logical ids of the resources ``chalice package`` generates.
CHALICE_FUNCTION = "APIHandler"
CHALICE_REST_API = "RestAPI"

# --- what the function may do in DynamoDB -------------------------------------------------
# Exactly the operations chalicelib/repository.py performs at request time (a test records
# them against moto and compares). TransactWriteItems has no IAM action of its own: each of
# its items is authorized as the PutItem/UpdateItem/DeleteItem it contains. Table creation,
# DescribeTable and TTL set-up happen only in repository.create_tables (local use), and
# PynamoDB 6 builds its table metadata from the models instead of calling DescribeTable.

#: get_pairing (GetItem), create_pairing's transaction (Put), soft_delete_pairing (UpdateItem).
PAIRINGS_ITEM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
#: list_pairings: a Query on the table or on one of its local secondary indexes.
PAIRINGS_QUERY_ACTIONS = ("dynamodb:Query",)
#: get_token, get_account, begin_idempotent and _claimed_by read the directory (GetItem).
DIRECTORY_READ_ACTIONS = ("dynamodb:GetItem",)
#: begin_idempotent (PutItem), create_pairing's transaction (Put of the id claim, Update of
#: the idempotency record), release_idempotent (DeleteItem)...
DIRECTORY_WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
#: ...and only on those two item types: tokens and accounts are the admin command's to
#: write, so a compromised function cannot mint a token or switch a feature on.
DIRECTORY_WRITABLE_KEYS = ("pairing_id#*", "idempotency#*")
#: Active tracing: the Lambda runtime sends segments on the function's behalf. X-Ray has no
#: resource-level permissions, so these two actions are granted on "*" (the only "*").
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

# --- the contract's error bodies, as API Gateway gateway responses --------------------------
#: SPEC.md, Errors: "unknown path under the API".
NOT_FOUND_BODY = {"errors": [{"message": "The specified resource does not exist."}]}
#: Without a route, API Gateway answers 403 {"message": "Missing Authentication Token"}
#: (MISSING_AUTHENTICATION_TOKEN). The API uses no IAM authorization, so the signature
#: errors can only come from such an unknown route too (an Authorization header that is not
#: SigV4 on a path without a method).
NOT_FOUND_RESPONSE_TYPES = (
    "MISSING_AUTHENTICATION_TOKEN", "RESOURCE_NOT_FOUND", "INVALID_SIGNATURE", "EXPIRED_TOKEN",
    # "Authorization header requires 'Credential' …": API Gateway's own body echoes the
    # header, that is the bearer token; answered with the 404 instead.
    "INCOMPLETE_SIGNATURE",
)


def _json_template(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(", ", ": "))


def gateway_responses() -> dict[str, Any]:
    """``x-amazon-apigateway-gateway-responses`` for the API's OpenAPI definition.

    Part of the REST API's body (not separate GatewayResponse resources), so a change is
    deployed together with the API definition it belongs to.
    """
    json_header = {"gatewayresponse.header.Content-Type": "'application/json'"}
    responses: dict[str, Any] = {
        response_type: {
            "statusCode": "404",
            "responseParameters": json_header,
            "responseTemplates": {"application/json": _json_template(NOT_FOUND_BODY)},
        }
        for response_type in NOT_FOUND_RESPONSE_TYPES
    }
    responses["THROTTLED"] = {
        "statusCode": "429",
        "responseParameters": {**json_header, "gatewayresponse.header.Retry-After": "'1'"},
        "responseTemplates": {
            "application/json": _json_template({"errors": [{"message": "Rate limit exceeded."}]})
        },
    }
    # Anything else the gateway itself rejects keeps its status but gets the contract's
    # JSON error shape ($context.error.messageString is already a quoted JSON string).
    responses["DEFAULT_4XX"] = {
        "responseParameters": json_header,
        "responseTemplates": {
            "application/json": '{"errors": [{"message": $context.error.messageString}]}'
        },
    }
    # A crashed or timed-out function (502/504) answers like the app's own 500.
    responses["DEFAULT_5XX"] = {
        "responseParameters": json_header,
        "responseTemplates": {
            "application/json": (
                '{"errors": [{"message": "An error occurred.", "error_code": '
                '"internal_server_error"}], "request_id": "$context.requestId"}'
            )
        },
    }
    return responses


#: One JSON object per request. No headers (Authorization) and no error message (which can
#: echo a header back) are logged.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "errorResponseType": "$context.error.responseType",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


def alarm_topic(scope: Construct, api_name: str, alarm_email: Optional[str]) -> sns.Topic:
    """The SNS topic every alarm notifies, with an email subscription when configured."""
    topic = sns.Topic(scope, "AlarmTopic", display_name=f"{api_name} alarms")
    if alarm_email:
        topic.add_subscription(sns_subscriptions.EmailSubscription(alarm_email))
    return topic


class PairingsStack(cdk.Stack):
    """Tables, function, API, logs, alarms and outputs of one stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        source_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Temporary Enrollment Pairings API ({settings.name})",
            termination_protection=settings.retain_data,
            **kwargs,
        )
        self.settings = settings
        self.api_name = f"{APP_NAME}-{settings.name}"
        removal = cdk.RemovalPolicy.RETAIN if settings.retain_data else cdk.RemovalPolicy.DESTROY

        self.pairings_table, self.directory_table = self._tables(removal)
        retention = logs.RetentionDays[RETENTION_DAYS[settings.log_retention_days]]
        self.function_log_group = logs.LogGroup(
            self, "FunctionLogs",
            retention=retention,
            removal_policy=removal,
        )
        self.access_log_group = logs.LogGroup(
            self, "ApiAccessLogs",
            retention=retention,
            removal_policy=removal,
        )
        self.function_role = self._function_role()
        self.chalice = self._chalice_app(source_dir)
        self.function = self.chalice.get_resource(CHALICE_FUNCTION)
        self.rest_api = self.chalice.get_resource(CHALICE_REST_API)
        self._configure_function()
        self._configure_api()
        self.alarm_topic = self._alarms()
        self._outputs()
        cdk.Tags.of(self).add("service", APP_NAME)
        cdk.Tags.of(self).add("stage", settings.name)

    # --- storage ----------------------------------------------------------------------------

    def _tables(self, removal: cdk.RemovalPolicy) -> tuple[dynamodb.Table, dynamodb.Table]:
        """The two tables of chalicelib/models.py (keys and indexes compared by a test)."""
        common: dict[str, Any] = dict(
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self.settings.retain_data,
            # A KMS key (AWS managed, aws/dynamodb) rather than the default owned key, so
            # key use shows in CloudTrail; the function needs no KMS permission for it.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=removal,
        )
        number = dynamodb.AttributeType.NUMBER
        pairings = dynamodb.Table(
            self, "PairingsTable",
            table_name=f"temporary-enrollment-pairings-{self.settings.name}",
            partition_key=dynamodb.Attribute(name="account_id", type=number),
            sort_key=dynamodb.Attribute(name="id", type=number),
            **common,
        )
        # Sparse local indexes: consistent reads, one Query per page of either state.
        for index_name, sort_key in (("active_pairings", "active_id"), ("deleted_pairings", "deleted_id")):
            pairings.add_local_secondary_index(
                index_name=index_name,
                sort_key=dynamodb.Attribute(name=sort_key, type=number),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        directory = dynamodb.Table(
            self, "DirectoryTable",
            table_name=f"temporary-enrollment-directory-{self.settings.name}",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            # Idempotency records expire 24 h after the first attempt (models.IdempotencyModel).
            time_to_live_attribute="purge_at",
            **common,
        )
        return pairings, directory

    def pairings_index_arns(self) -> list[str]:
        return [
            f"{self.pairings_table.table_arn}/index/{name}"
            for name in ("active_pairings", "deleted_pairings")
        ]

    # --- function ---------------------------------------------------------------------------

    def _function_role(self) -> iam.Role:
        """The function's role: its own logs, X-Ray, and the DynamoDB calls the code makes.

        Inline policies (part of the role resource), so the function, which references the
        role, is never created before its permissions exist.
        """
        statements = [
            iam.PolicyStatement(
                sid="OwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.function_log_group.log_group_arn],
            ),
            iam.PolicyStatement(sid="XRay", actions=list(XRAY_ACTIONS), resources=["*"]),
            iam.PolicyStatement(
                sid="PairingsItems",
                actions=list(PAIRINGS_ITEM_ACTIONS),
                resources=[self.pairings_table.table_arn],
            ),
            iam.PolicyStatement(
                sid="PairingsQueries",
                actions=list(PAIRINGS_QUERY_ACTIONS),
                resources=[self.pairings_table.table_arn, *self.pairings_index_arns()],
            ),
            iam.PolicyStatement(
                sid="DirectoryReads",
                actions=list(DIRECTORY_READ_ACTIONS),
                resources=[self.directory_table.table_arn],
            ),
            iam.PolicyStatement(
                sid="DirectoryWrites",
                actions=list(DIRECTORY_WRITE_ACTIONS),
                resources=[self.directory_table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(DIRECTORY_WRITABLE_KEYS)}},
            ),
        ]
        return iam.Role(
            self, "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.api_name} Lambda function",
            inline_policies={"function": iam.PolicyDocument(statements=statements)},
        )

    def _chalice_app(self, source_dir: Path) -> SlimChalice:
        settings = self.settings
        stage_config: dict[str, Any] = {
            # The API Gateway stage is named after the deployment stage, so the default
            # endpoint reads https://…/prod/api/v1/accounts/… (a stage called "api" would
            # give /api/api/v1/…).
            "api_gateway_stage": settings.name,
            "api_gateway_endpoint_type": settings.api_endpoint_type,
            "lambda_memory_size": settings.lambda_memory_size,
            "lambda_timeout": settings.lambda_timeout_seconds,
            "xray": True,
            # Our role, not one Chalice generates from the code (it cannot see PynamoDB's
            # calls, and its default grants logs on every log group).
            "manage_iam_role": False,
            "iam_role_arn": self.function_role.role_arn,
            "environment_variables": {
                # Tokens: CDK resolves them to Refs of the tables when synthesizing.
                "PAIRINGS_TABLE": self.pairings_table.table_name,
                "DIRECTORY_TABLE": self.directory_table.table_name,
                **settings.function_environment(),
            },
        }
        return SlimChalice(self, "ChaliceApp", source_dir=str(source_dir), stage_config=stage_config)

    def _configure_function(self) -> None:
        # Logs go to our log group (retention set) instead of /aws/lambda/<name>, which
        # Lambda would create on first use with infinite retention.
        self.function.add_property_override(
            "LoggingConfig", {"LogGroup": self.function_log_group.log_group_name}
        )

    # --- API Gateway ------------------------------------------------------------------------

    def _configure_api(self) -> None:
        api = self.rest_api
        settings = self.settings
        # A stage-specific name: alarms find the API's metrics by name and stage, and dev
        # and prod may share an account.
        api.add_property_override("Name", self.api_name)
        api.add_property_override("DefinitionBody.info.title", self.api_name)
        api.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses()
        )
        # Chalice's definition is Swagger 2.0. Declaring it also stops SAM from creating its
        # extra default stage named "Stage", which would serve the same API with none of
        # the throttling and logging below.
        api.add_property_override("OpenApiVersion", "2.0")
        api.add_property_override("TracingEnabled", True)
        api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": settings.throttling_rate_limit,
                    "ThrottlingBurstLimit": settings.throttling_burst_limit,
                }
            ],
        )
        # The log group's ARN without the ":*" suffix of its Arn attribute (what CDK's own
        # RestApi uses under its apigateway:logGroupDestinationArnWithoutWildcard flag).
        destination = cdk.Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.access_log_group.log_group_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        api.add_property_override(
            "AccessLogSetting", {"DestinationArn": destination, "Format": ACCESS_LOG_FORMAT}
        )
        if settings.manage_api_gateway_account_role:
            api.add_resource_dependency(
                self._api_gateway_account(), "access logging needs the account's CloudWatch role"
            )

    def _api_gateway_account(self) -> apigateway.CfnAccount:
        """API Gateway writes access logs with a role set once per account and region.

        Retained on delete (as CDK's own RestApi does): another API in the region may rely
        on the setting after this stack is gone.
        """
        role = iam.Role(
            self, "ApiGatewayCloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigateway.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        return account

    # --- alarms and outputs -----------------------------------------------------------------

    def _alarms(self) -> sns.Topic:
        topic = alarm_topic(self, self.api_name, self.settings.alarm_email)
        five_minutes = cdk.Duration.minutes(5)

        def metric(namespace: str, name: str, dimensions: dict[str, str]) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace, metric_name=name, dimensions_map=dimensions,
                statistic=cloudwatch.Stats.SUM, period=five_minutes,
            )

        function_name = self.function.ref
        operations = [
            dynamodb.Operation.GET_ITEM, dynamodb.Operation.PUT_ITEM,
            dynamodb.Operation.UPDATE_ITEM, dynamodb.Operation.DELETE_ITEM,
            dynamodb.Operation.QUERY, dynamodb.Operation.TRANSACT_WRITE_ITEMS,
        ]
        alarms: dict[str, tuple[cloudwatch.IMetric, str]] = {
            "Api5xxAlarm": (
                metric("AWS/ApiGateway", "5XXError", {"ApiName": self.api_name, "Stage": self.settings.name}),
                "The API answered 5xx (function errors, timeouts, DynamoDB unavailable).",
            ),
            "FunctionErrorsAlarm": (
                metric("AWS/Lambda", "Errors", {"FunctionName": function_name}),
                "The function raised or timed out.",
            ),
            "FunctionThrottlesAlarm": (
                metric("AWS/Lambda", "Throttles", {"FunctionName": function_name}),
                "Lambda throttled invocations (concurrency limit reached).",
            ),
        }
        for label, table in (("Pairings", self.pairings_table), ("Directory", self.directory_table)):
            alarms[f"{label}TableThrottlesAlarm"] = (
                table.metric_throttled_requests_for_operations(
                    operations=operations, statistic=cloudwatch.Stats.SUM, period=five_minutes,
                ),
                f"DynamoDB throttled requests on the {label.lower()} table.",
            )
        for alarm_id, (alarm_metric, description) in alarms.items():
            alarm = cloudwatch.Alarm(
                self, alarm_id,
                metric=alarm_metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{self.api_name}: {description}",
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
        return topic

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (
                # The stage's base URL: requests go to $ApiUrl/api/v1/accounts/...
                cdk.Fn.sub(
                    "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + self.settings.name,
                    {"Api": self.rest_api.ref},
                ),
                "Base URL: requests go to <ApiUrl>/api/v1/accounts/...",
            ),
            "PairingsTableName": (self.pairings_table.table_name, "PAIRINGS_TABLE for the admin command"),
            "DirectoryTableName": (self.directory_table.table_name, "DIRECTORY_TABLE for the admin command"),
            "Region": (cdk.Aws.REGION, "AWS_REGION for the admin command"),
            "FunctionName": (self.function.ref, "The Lambda function"),
            "AlarmTopicArn": (self.alarm_topic.topic_arn, "SNS topic the alarms notify"),
        }
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
