"""The HTTP edge in isolation: absolute URLs behind API Gateway, bodies, string ids."""

from __future__ import annotations

import base64
import json

import pytest
from chalice.app import Request

from chalicelib import http
from chalicelib.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType


def make_request(*, context=None, headers=None, body=None, b64=False, path="/api/v1/accounts/{account_id}/temporary_enrollment_pairings"):
    return Request({
        "multiValueQueryStringParameters": None,
        "headers": headers or {},
        "pathParameters": {},
        "requestContext": {"httpMethod": "GET", "resourcePath": path, **(context or {})},
        "body": body,
        "isBase64Encoded": b64,
        "stageVariables": None,
    })


def test_deployed_urls_use_the_api_domain_and_stage_never_the_host_header():
    request = make_request(
        headers={"host": "evil.example"},
        context={"domainName": "abc123.execute-api.us-east-1.amazonaws.com", "stage": "prod",
                 "path": "/prod/api/v1/accounts/1/temporary_enrollment_pairings"},
    )
    assert http.public_url(request) == (
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod/api/v1/accounts/1/temporary_enrollment_pairings"
    )
    assert http.public_url(request, "/api/v1/accounts/1/temporary_enrollment_pairings/5") == (
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod/api/v1/accounts/1/temporary_enrollment_pairings/5"
    )


def test_custom_domain_urls_have_no_stage_prefix():
    request = make_request(context={"domainName": "lms-api.example.edu", "stage": "prod",
                                    "path": "/api/v1/accounts/1/temporary_enrollment_pairings"})
    assert http.public_url(request) == "https://lms-api.example.edu/api/v1/accounts/1/temporary_enrollment_pairings"


@pytest.mark.parametrize("host, origin", [("127.0.0.1:8000", "http://127.0.0.1:8000"), ("localhost", "http://localhost"),
                                           ("[::1]:8000", "http://[::1]:8000"), ("a b>", "http://127.0.0.1"), ("", "http://127.0.0.1")])
def test_local_urls_use_a_well_formed_host(host, origin):
    request = make_request(headers={"host": host}, context={"path": "/api/v1/x"})
    assert http.public_url(request) == origin + "/api/v1/x"


def test_multipart_arrives_base64_encoded_when_deployed():
    raw = b'--b\r\nContent-Disposition: form-data; name="workflow_state"\r\n\r\ndeleted\r\n--b--\r\n'
    deployed = make_request(headers={"content-type": "multipart/form-data; boundary=b"},
                            body=base64.b64encode(raw).decode(), b64=True)
    local = make_request(headers={"content-type": "multipart/form-data; boundary=b"}, body=raw)
    assert http.parse_body(deployed) == http.parse_body(local) == {"workflow_state": "deleted"}


def test_multipart_file_parts_are_not_parameters():
    raw = (b'--b\r\nContent-Disposition: form-data; name="workflow_state"; filename="x.txt"\r\n\r\ndeleted\r\n'
           b'--b\r\nContent-Disposition: form-data; name="ending_enrollment_state"\r\n\r\ninactive\r\n--b--\r\n')
    request = make_request(headers={"content-type": "multipart/form-data; boundary=b"}, body=raw)
    assert http.parse_body(request) == {"ending_enrollment_state": "inactive"}


@pytest.mark.parametrize(
    "content_type, body, error",
    [
        ("application/json", "{", MalformedBody),
        ("application/json", "null", MalformedBody),
        ("application/json; charset=utf-8", "[]", MalformedBody),
        ("text/csv", "a,b", UnsupportedMediaType),
        ("multipart/form-data", "--x\r\n", MalformedBody),  # no boundary
        ("application/json", "{" + " " * 65_536 + "}", PayloadTooLarge),
    ],
)
def test_bad_bodies(content_type, body, error):
    with pytest.raises(error):
        http.parse_body(make_request(headers={"content-type": content_type}, body=body))


def test_json_with_charset_parameter():
    request = make_request(headers={"content-type": "Application/JSON; charset=UTF-8"}, body='{"a": "b"}')
    assert http.parse_body(request) == {"a": "b"}


def test_string_ids_convert_only_integer_id_keys():
    payload = {"id": 1, "root_account_id": 2, "deleted_by_id": None, "flag": True, "nested": [{"user_id": 3, "idx": 4}],
               "bool_id": True}
    assert json.loads(http.render_json(payload, string_ids=True)) == {
        "id": "1", "root_account_id": "2", "deleted_by_id": None, "flag": True,
        "nested": [{"user_id": "3", "idx": 4}], "bool_id": True,
    }


def test_chalice_errors_are_reshaped_by_the_middleware():
    from chalice import Response

    request = make_request()

    def chalice_answer(status, body, headers=None):
        return lambda event: Response(body=body, status_code=status, headers=headers or {})

    reshaped = http.canvas_errors(request, chalice_answer(415, {"Code": "UnsupportedMediaType", "Message": "Unsupported media type: x"}))
    assert reshaped.status_code == 415
    assert json.loads(reshaped.body) == {"errors": [{"message": "Unsupported media type: x"}]}
    method = http.canvas_errors(request, chalice_answer(405, {"Code": "MethodNotAllowedError", "Message": "m"}, {"Allow": "GET"}))
    assert method.headers["Allow"] == "GET"
    crashed = http.canvas_errors(request, chalice_answer(500, {"Code": "InternalServerError", "Message": "An internal server error occurred."}))
    body = json.loads(crashed.body)
    assert crashed.status_code == 500 and body["errors"][0]["error_code"] == "internal_server_error" and body["request_id"]
    ours = http.canvas_errors(request, chalice_answer(200, "[]"))
    assert ours.body == "[]"
