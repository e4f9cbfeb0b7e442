"""Per-stage deployment settings, read from CDK context (``infra/cdk.json``).

Every stage is one entry under the ``pairings:stages`` context key; ``-c stage=NAME`` picks
the stage(s) to synthesize (a comma-separated list; all of them when absent, which is what
``make synth`` and the tests use). The values are checked here, when the app starts, so a
typo fails synthesis with a clear message instead of producing a broken stack.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:  # importing constructs starts the jsii (Node.js) runtime; keep this light
    from constructs import Node

#: Context key holding the settings of every stage.
STAGES_CONTEXT_KEY = "pairings:stages"
#: Context key choosing the stage(s) to synthesize: ``-c stage=prod``.
STAGE_CONTEXT_KEY = "stage"

#: API Gateway gives up on an integration after 29 s; the function must finish (or time out
#: and be counted as a Lambda error) before that, or the client sees a bare gateway 504.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29

#: The retention periods CloudWatch Logs accepts (days), with CDK's names for them.
RETENTION_DAYS = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
VALID_LOG_RETENTION_DAYS = frozenset(RETENTION_DAYS)


class SettingsError(ValueError):
    """The CDK context holds a missing, unknown or out-of-range stage setting."""


@dataclass(frozen=True)
class StageSettings:
    """Everything that differs between deployed stages (dev, prod, ...)."""

    name: str
    #: API Gateway stage throttling: steady-state requests per second, and burst.
    throttling_rate_limit: float
    throttling_burst_limit: int
    #: Lambda memory (MB; CPU scales with it) and timeout (seconds, below 29).
    lambda_memory_size: int
    lambda_timeout_seconds: int
    #: Retention of the function's log group and of the API access log group.
    log_retention_days: int
    #: Production data: tables get deletion protection and, like the log groups,
    #: RemovalPolicy.RETAIN; the stack gets termination protection. A dev stage sets this
    #: to false so that ``make destroy`` removes everything it created.
    retain_data: bool
    #: Create the (regional, account-wide) IAM role API Gateway needs to write access logs,
    #: and register it in the account's API Gateway settings.
    manage_api_gateway_account_role: bool
    #: Where alarm notifications go (an SNS email subscription), or none.
    alarm_email: Optional[str] = None
    #: The app's own settings (see chalicelib/config.py), passed as environment variables.
    auth_cache_seconds: float = 60.0
    dynamodb_connect_timeout: int = 2
    dynamodb_read_timeout: int = 5
    dynamodb_max_retries: int = 3
    #: REGIONAL (no CloudFront in front) or EDGE.
    api_endpoint_type: str = "REGIONAL"

    @classmethod
    def from_mapping(cls, name: str, values: Mapping[str, Any]) -> "StageSettings":
        """Build and validate one stage's settings from its context entry."""
        known = {field.name for field in fields(cls)} - {"name"}
        unknown = set(values) - known
        if unknown:
            raise SettingsError(f"stage {name!r}: unknown setting(s) {sorted(unknown)}")
        try:
            settings = cls(name=name, **values)
        except TypeError as exc:  # a required setting is missing
            raise SettingsError(f"stage {name!r}: {exc}") from exc
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject values AWS would refuse, or that break the service's promises."""
        problems = []
        if not self.name.isalnum() or not self.name.islower():
            problems.append("the stage name must be lower-case letters and digits")
        if self.throttling_rate_limit <= 0 or self.throttling_burst_limit <= 0:
            problems.append("throttling limits must be positive")
        if not 128 <= self.lambda_memory_size <= 10240:
            problems.append("lambda_memory_size must be 128..10240 MB")
        if not 1 <= self.lambda_timeout_seconds < API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
            problems.append(
                f"lambda_timeout_seconds must be 1..{API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1}"
                " (API Gateway's integration timeout is 29 s)"
            )
        if self.log_retention_days not in VALID_LOG_RETENTION_DAYS:
            problems.append(
                f"log_retention_days must be one of {sorted(VALID_LOG_RETENTION_DAYS)}"
            )
        if not 0 <= self.auth_cache_seconds <= 60:
            # The contract: revocations and feature changes take effect within 60 s.
            problems.append("auth_cache_seconds must be 0..60")
        if min(self.dynamodb_connect_timeout, self.dynamodb_read_timeout) < 1:
            problems.append("DynamoDB timeouts must be at least 1 s")
        if self.dynamodb_max_retries < 0:
            problems.append("dynamodb_max_retries must not be negative")
        if self.api_endpoint_type not in {"REGIONAL", "EDGE"}:
            problems.append("api_endpoint_type must be REGIONAL or EDGE")
        if problems:
            raise SettingsError(f"stage {self.name!r}: " + "; ".join(problems))

    def function_environment(self) -> dict[str, str]:
        """The app settings (chalicelib/config.py) this stage sets, table names aside."""
        return {
            "AUTH_CACHE_SECONDS": _number(self.auth_cache_seconds),
            "DYNAMODB_CONNECT_TIMEOUT": str(self.dynamodb_connect_timeout),
            "DYNAMODB_READ_TIMEOUT": str(self.dynamodb_read_timeout),
            "DYNAMODB_MAX_RETRIES": str(self.dynamodb_max_retries),
        }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def all_stages(node: "Node") -> dict[str, StageSettings]:
    """Every stage defined in the context, validated."""
    raw = node.try_get_context(STAGES_CONTEXT_KEY)
    if not isinstance(raw, dict) or not raw:
        raise SettingsError(f"CDK context {STAGES_CONTEXT_KEY!r} must map stage names to settings")
    return {name: StageSettings.from_mapping(name, values) for name, values in raw.items()}


def selected_stages(node: "Node") -> list[StageSettings]:
    """The stages chosen with ``-c stage=a[,b]``, or every stage when none is chosen."""
    stages = all_stages(node)
    chosen = node.try_get_context(STAGE_CONTEXT_KEY)
    if chosen in (None, ""):
        return list(stages.values())
    names = [name.strip() for name in str(chosen).split(",") if name.strip()]
    unknown = [name for name in names if name not in stages]
    if unknown:
        raise SettingsError(f"unknown stage(s) {unknown}; defined: {sorted(stages)}")
    return [stages[name] for name in names]
