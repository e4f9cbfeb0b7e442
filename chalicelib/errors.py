"""Domain and HTTP errors, each knowing its status, headers and Canvas-shaped body.

Routes and the repository raise these; ``http.endpoint`` is the one place that turns them
into responses.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

NOT_FOUND_MESSAGE = "The specified resource does not exist."
UNAUTHORIZED_MESSAGE = "user not authorized to perform that action"
WWW_AUTHENTICATE = 'Bearer realm="canvas-lms"'


class ApiError(Exception):
    """An error with a defined HTTP answer."""

    status: ClassVar[int] = 400
    message: str = "Bad request."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message}]}

    def headers(self) -> Mapping[str, str]:
        return {}


class NotFound(ApiError):
    """The resource does not exist, or is not visible to this caller."""

    status = 404
    message = NOT_FOUND_MESSAGE


class Unauthenticated(ApiError):
    """The token is missing, unknown, expired or revoked."""

    status = 401

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.missing:
            return {"status": "unauthenticated", **body}
        return body

    def headers(self) -> Mapping[str, str]:
        return {"WWW-Authenticate": WWW_AUTHENTICATE}


class InsufficientScopes(ApiError):
    """The token's scopes do not cover this request (no WWW-Authenticate, as in Canvas)."""

    status = 401
    message = "Insufficient scopes on access token."


class Forbidden(ApiError):
    """The caller may not act on this account or lacks the endpoint's permission."""

    status = 403
    message = UNAUTHORIZED_MESSAGE

    def body(self) -> dict[str, Any]:
        return {"status": "unauthorized", **super().body()}


class InvalidParameter(ApiError):
    """A parameter has a value outside its allowed set or of the wrong type."""

    status = 400

    def __init__(self, attribute: str, message: str, error_type: str = "inclusion") -> None:
        super().__init__(message)
        self.attribute = attribute
        self.fields: dict[str, list[dict[str, str]]] = {
            attribute: [{"attribute": attribute, "type": error_type, "message": message}]
        }

    @classmethod
    def combine(cls, errors: "list[InvalidParameter]") -> "InvalidParameter":
        """One error answering for several parameters, as Canvas lists every bad field."""
        combined = errors[0]
        for error in errors[1:]:
            for attribute, entries in error.fields.items():
                combined.fields.setdefault(attribute, []).extend(entries)
        return combined

    def body(self) -> dict[str, Any]:
        return {"errors": self.fields}


class MalformedBody(ApiError):
    """The request body cannot be parsed."""

    status = 400


class UnsupportedMediaType(ApiError):
    """The request body's content type is not one the endpoint reads."""

    status = 415


class PayloadTooLarge(ApiError):
    """The request body is larger than the service accepts."""

    status = 413


class MethodNotAllowed(ApiError):
    """The path exists but does not answer this method."""

    status = 405

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"Method {method} is not allowed here; allowed: {', '.join(allowed)}.")
        self.allowed = allowed

    def headers(self) -> Mapping[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class Conflict(ApiError):
    """The request collides with another one (an ``Idempotency-Key`` reused or in flight)."""

    status = 409


class InFlight(Conflict):
    """The first request with this ``Idempotency-Key`` has not finished: retry shortly."""

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": "1"}


class ServiceUnavailable(ApiError):
    """DynamoDB throttled or could not be reached after the client's retries."""

    status = 503
    message = "The service is temporarily unavailable; retry later."
    retry_after_seconds = 1

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class FrameworkError(ApiError):
    """An error Chalice itself answered, re-shaped as Canvas's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status  # type: ignore[misc]


class InternalError(ApiError):
    """Anything unexpected: the generic Canvas body with the request's id."""

    status = 500
    message = "An error occurred."

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def body(self) -> dict[str, Any]:
        return {
            "errors": [{"message": self.message, "error_code": "internal_server_error"}],
            "request_id": self.request_id,
        }
