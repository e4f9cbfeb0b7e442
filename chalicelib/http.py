"""The HTTP edge: the request pipeline every route runs through, parsing and rendering.

``endpoint`` is the one place that authenticates, maps exceptions to Canvas-shaped
responses and logs: routes only parse, call one domain function and render.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import parse_qsl

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import logs
from chalicelib.auth import Endpoint, Principal, get_authenticator
from chalicelib.errors import (
    ApiError,
    FrameworkError,
    InternalError,
    MalformedBody,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from chalicelib.repository import Account

MAX_BODY_BYTES = 65_536
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
STRING_IDS_MEDIA_TYPE = "application/json+canvas-string-ids"
API_PREFIX = "/api/v1/"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON = "application/json"
BODY_CONTENT_TYPES = (JSON, FORM, MULTIPART)
_HOST = re.compile(r"\A[A-Za-z0-9.\-]+(:[0-9]{1,5})?\Z|\A\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?\Z")


@dataclass(frozen=True)
class Call:
    """One authenticated, authorized API request, as a route sees it."""

    request: Request
    principal: Principal
    account: Account

    def query_items(self) -> list[tuple[str, str]]:
        """The query string's parameters as (name, value) pairs, repeated names kept."""
        params = self.request.query_params
        if params is None:
            return []
        return [(name, value) for name in params for value in params.getlist(name)]

    def query_values(self, name: str) -> list[str]:
        params = self.request.query_params
        return params.getlist(name) if params is not None and name in params else []

    def query_value(self, name: str) -> Optional[str]:
        values = self.query_values(name)
        return values[-1] if values else None

    def param_sources(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The query string's parameters and the body's (Canvas reads both; the body wins)."""
        return dict(self.query_items()), parse_body(self.request)

    @property
    def wants_string_ids(self) -> bool:
        return STRING_IDS_MEDIA_TYPE in self.request.headers.get("accept", "")

    def public_url(self, path: Optional[str] = None) -> str:
        """An absolute URL a client can follow as is: API Gateway's domain and stage prefix
        when deployed (never the client's ``Host``), the local server's address otherwise."""
        return public_url(self.request, path)


def public_url(request: Request, path: Optional[str] = None) -> str:
    context = request.context
    requested = context.get("path") or request.path
    # Behind API Gateway's default endpoint the path starts with the stage ("/dev/api/v1/…").
    prefix = requested[: max(requested.find(API_PREFIX), 0)]
    domain = context.get("domainName")
    if domain:
        origin = f"https://{domain}"
    else:
        host = request.headers.get("host", "")
        origin = f"http://{host if _HOST.match(host) else '127.0.0.1'}"
    return origin + (requested if path is None else prefix + path)


# --- bodies -------------------------------------------------------------------------------


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def check_body_size(request: Request) -> None:
    """Any endpoint refuses a body over the limit, whether it reads one or not."""
    if len(request.raw_body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")


def parse_body(request: Request) -> dict[str, Any]:
    """The body's parameters: JSON object, urlencoded form or multipart form fields."""
    raw = request.raw_body
    if not raw:
        return {}
    check_body_size(request)
    content_type = request.headers.get("content-type", "")
    media_type = _media_type(content_type)
    if media_type == JSON:
        return _parse_json(raw)
    if media_type == FORM:
        return _parse_form(raw)
    if media_type == MULTIPART:
        return _parse_multipart(raw, content_type)
    raise UnsupportedMediaType(
        f"Unsupported Content-Type {media_type or '(none)'!r}; "
        f"send one of {', '.join(BODY_CONTENT_TYPES)}."
    )


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedBody("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise MalformedBody("The JSON request body must be an object.")
    return body


def _parse_form(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("The form body is not valid UTF-8 urlencoded data.") from None


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    # Imported here: only multipart requests pay for the email package.
    from email.parser import BytesParser
    from email.policy import HTTP

    malformed = MalformedBody("The multipart body is malformed.")
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
        )
    except (UnicodeEncodeError, ValueError):
        raise malformed from None
    if not message.is_multipart() or message.defects:
        raise malformed
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue  # files and unnamed parts are not parameters
        payload = part.get_payload(decode=True)
        try:
            fields[name] = (payload or b"").decode(part.get_content_charset() or "utf-8")
        except (LookupError, UnicodeDecodeError):
            raise malformed from None
    return fields


# --- responses ----------------------------------------------------------------------------


def _stringify_ids(value: Any) -> Any:
    """Canvas's ``StringifyIds``: integer values of ``id`` and ``*_id`` keys become strings."""
    if isinstance(value, dict):
        return {
            key: str(item)
            if (key == "id" or key.endswith("_id")) and type(item) is int
            else _stringify_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_stringify_ids(item) for item in value]
    return value


def render_json(payload: Any, string_ids: bool = False) -> str:
    if string_ids:
        payload = _stringify_ids(payload)
    return json.dumps(payload, separators=(",", ":"))


def json_response(
    body: str, status: int = 200, headers: Optional[Mapping[str, str]] = None
) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def error_response(error: ApiError) -> Response:
    return json_response(render_json(error.body()), error.status, error.headers())


# --- the pipeline -------------------------------------------------------------------------


def request_id_of(request: Optional[Request]) -> str:
    """API Gateway's request id when deployed; a fresh one locally."""
    context = request.context if request is not None else {}
    return str(context.get("requestId") or uuid.uuid4())


def _without_body_for_head(request: Request, response: Response) -> Response:
    if request.method == "HEAD":
        response.body = ""
    return response


def endpoint(blueprint: Blueprint, spec: Endpoint) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Wrap a view: authenticate and authorize per the contract, then map errors."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def handler(account_id: str, **path_params: str) -> Response:
            request = blueprint.current_request
            log = logs.current() or logs.begin(request_id_of(request), request.method, request.path)
            request_id = log.request_id
            try:
                authenticator = get_authenticator()
                principal = authenticator.authenticate(request.headers.get("authorization"), spec)
                log.user_id = principal.user_id
                account = authenticator.authorize(principal, account_id, spec)
                log.account_id = account.id
                check_body_size(request)
                call = Call(request, principal, account)
                response = view(call, **path_params)
            except ApiError as error:
                response = error_response(error)
            except Exception:
                # Never the request or its headers: they carry the token.
                logs.logger.exception(
                    "unhandled error in %s", spec.name,
                    extra={"fields": {"request_id": request_id, "route": request.path, "method": request.method}},
                )
                response = error_response(InternalError(request_id))
            return _without_body_for_head(request, response)

        return handler

    return decorate


def method_not_allowed(blueprint: Blueprint, allowed: tuple[str, ...]) -> Callable[..., Response]:
    """A view for the methods a path does not have: 405 before any authentication."""

    def handler(**_: str) -> Response:
        return error_response(MethodNotAllowed(blueprint.current_request.method, allowed))

    return handler


def request_logging(event: Request, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: one structured log line per request, whatever answered it."""
    log = logs.begin(request_id_of(event), event.method, event.path)
    response = get_response(event)
    logs.end(log, response.status_code)
    return response


def canvas_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: turn Chalice's own error bodies (``{"Code": …, "Message": …}``) into
    Canvas's shape, so no client ever sees a framework-specific error."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        if response.status_code >= 500:
            log = logs.current()
            return error_response(InternalError(log.request_id if log else request_id_of(event)))
        error = FrameworkError(response.status_code, str(body.get("Message", "Bad request.")))
        headers = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
        return json_response(render_json(error.body()), error.status, headers)
    return response


#: Every method a route can have (API Gateway's, less ANY).
ROUTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def methods_except(allowed: Iterable[str]) -> list[str]:
    """The other methods API Gateway routes, to answer them with 405 ourselves."""
    return [method for method in ROUTED_METHODS if method not in set(allowed)]
