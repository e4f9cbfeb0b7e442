"""Pydantic models of the API's request parameters and response objects."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from chalicelib.errors import InvalidParameter

WorkflowState = Literal["active", "deleted"]
EndingEnrollmentState = Literal["deleted", "completed", "inactive"]

WORKFLOW_STATES: tuple[str, ...] = get_args(WorkflowState)
ENDING_ENROLLMENT_STATES: tuple[str, ...] = get_args(EndingEnrollmentState)


def inclusion_error(attribute: str, allowed: tuple[str, ...]) -> InvalidParameter:
    """Canvas's ``inclusion`` field error for a value outside ``allowed``."""
    return InvalidParameter(attribute, f"{attribute} must be one of {', '.join(allowed)}")


def iso_utc(epoch_seconds: Optional[int]) -> Optional[str]:
    """Canvas's timestamp form: ISO 8601, UTC, to the second, with ``Z``."""
    if epoch_seconds is None:
        return None
    return _iso_utc(epoch_seconds)


@lru_cache(maxsize=1024)
def _iso_utc(epoch_seconds: int) -> str:
    # Every rendered pairing formats two timestamps, usually equal (created = updated):
    # time.gmtime is a third of the cost of a timezone-aware datetime, and the cache
    # serves the second one and any page rendered again.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


class PairingCreate(BaseModel):
    """The parameters of a create, after defaults; anything else the client sent is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    workflow_state: WorkflowState = "active"
    ending_enrollment_state: EndingEnrollmentState = "deleted"

    @classmethod
    def present(cls, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters this model reads; an empty string or null counts as absent."""
        return {
            name: value
            for name, value in params.items()
            if name in cls.model_fields and not (value is None or (isinstance(value, str) and value == ""))
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "PairingCreate":
        """Validate raw parameters; every bad one is reported."""
        try:
            return cls.model_validate(cls.present(params))
        except ValidationError as exc:
            attributes = dict.fromkeys(str(error["loc"][0]) for error in exc.errors())
            raise InvalidParameter.combine([
                inclusion_error(attribute, get_args(cls.model_fields[attribute].annotation))
                for attribute in attributes
            ]) from None

    def fingerprint(self) -> str:
        """A stable description of the effective parameters (for idempotency)."""
        return f"{self.workflow_state}|{self.ending_enrollment_state}"


class PairingPublic(BaseModel):
    """A pairing as the API returns it: the documented fields plus Canvas's columns."""

    model_config = ConfigDict(frozen=True)

    id: Optional[int]
    root_account_id: int
    workflow_state: WorkflowState
    ending_enrollment_state: EndingEnrollmentState
    created_by_id: Optional[int] = None
    deleted_by_id: Optional[int] = None
    created_at: Optional[int] = None  # epoch seconds; rendered as ISO 8601
    updated_at: Optional[int] = None

    @field_serializer("created_at", "updated_at")
    def _timestamp(self, value: Optional[int]) -> Optional[str]:
        return iso_utc(value)
