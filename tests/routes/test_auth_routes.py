"""Authentication and authorization through the app: each check, its answer and its order."""

from __future__ import annotations

import json

import pytest

from chalicelib import admin, repository
from chalicelib.auth import get_authenticator, hash_token

WWW = 'Bearer realm="canvas-lms"'
FORBIDDEN = {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
COLLECTION = "/api/v1/accounts/:account_id/temporary_enrollment_pairings"


def test_no_token_is_401_unauthenticated(api):
    response = api.get(token=None)
    assert response.status == 401
    assert response.json == {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
    assert response.headers["www-authenticate"] == WWW


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer", "Basic dXNlcjpwYXNz", "token abc", "Bearer a b"])
def test_unknown_or_malformed_token_is_invalid(api, header):
    response = api.get(token=None, headers={"Authorization": header})
    assert response.status == 401
    assert response.json == {"errors": [{"message": "Invalid access token."}]}
    assert response.headers["www-authenticate"] == WWW
    assert "nope" not in response.text and "dXNl" not in response.text


def test_token_in_query_string_is_not_accepted(api):
    response = api.get(token=None, query=f"access_token={api.token}")
    assert response.status == 401 and response.json["status"] == "unauthenticated"


def test_expired_token(api, make_token, clock):
    token = make_token(expires_in=30)
    clock.now = repository.get_token(hash_token(token)).expires_at - 0.1
    assert api.get(token=token).status == 200
    clock.advance(0.1)  # expiry is exact, even while the token is cached
    response = api.get(token=token)
    assert response.status == 401
    assert response.json == {"errors": [{"message": "Expired access token."}]}
    assert response.headers["www-authenticate"] == WWW


def test_revoked_token(api, make_token):
    token = make_token()
    assert repository.revoke_token(hash_token(token), 1)
    response = api.get(token=token)
    assert response.status == 401 and response.json == {"errors": [{"message": "Revoked access token."}]}
    assert response.headers["www-authenticate"] == WWW


def test_insufficient_scopes_is_401_without_www_authenticate(api, make_token):
    token = make_token(scopes=[f"url:GET|{COLLECTION}/:id"])
    response = api.get(token=token)
    assert response.status == 401
    assert response.json == {"errors": [{"message": "Insufficient scopes on access token."}]}
    assert "www-authenticate" not in response.headers


def test_scopes_cover_exactly_their_endpoints(api, make_token):
    pairing = api.create()
    scopes = {
        "list": f"url:GET|{COLLECTION}",
        "show": f"url:GET|{COLLECTION}/:id",
        "new": f"url:GET|{COLLECTION}/new",
        "create": f"url:POST|{COLLECTION}",
        "delete": f"url:DELETE|{COLLECTION}/:id",
    }
    calls = {
        "list": lambda t: api.get(token=t),
        "show": lambda t: api.get(f"/{pairing['id']}", token=t),
        "new": lambda t: api.get("/new", token=t),
        "create": lambda t: api.post(token=t),
        "delete": lambda t: api.delete(f"/{api.create()['id']}", token=t),
    }
    for granted, scope in scopes.items():
        token = make_token(scopes=[scope])
        for name, call in calls.items():
            status = call(token).status
            assert (status < 400) == (name == granted), (granted, name, status)


def test_head_counts_as_get_for_scopes(api, make_token):
    token = make_token(scopes=[f"url:GET|{COLLECTION}"])
    response = api.call("HEAD", token=token)
    assert response.status == 200 and response.text == ""
    assert "link" in response.headers


def test_token_without_scopes_may_call_every_endpoint(api):
    pairing = api.create()
    assert api.get().status == 200 and api.get("/new").status == 200
    assert api.get(f"/{pairing['id']}").status == 200 and api.delete(f"/{pairing['id']}").status == 200


def test_another_account_is_403_whether_or_not_it_exists(api, account_id):
    admin.create_account(account_id + 700_000)
    for other in (account_id + 700_000, account_id + 800_000):
        response = api.get(account=str(other))
        assert (response.status, response.json) == (403, FORBIDDEN)


@pytest.mark.parametrize("state", ["deleted", "feature_off", "missing"])
def test_unusable_account_is_404(chalice_client, make_token, account_id, state):
    from support import Api

    target = account_id + 900_000
    if state == "deleted":
        repository.put_account(repository.Account(target, None, "deleted", True))
    elif state == "feature_off":
        admin.create_account(target, feature=False)
    token = make_token(account_id=target) if state != "missing" else None
    if token is None:
        admin.create_account(target)
        token = make_token(account_id=target)
        repository.AccountModel(f"account#{target}").delete()
        get_authenticator().clear()
    response = Api(chalice_client, target, token).get()
    assert (response.status, response.json) == (404, NOT_FOUND)


@pytest.mark.parametrize(
    "permissions, allowed",
    [
        (["temporary_enrollments_add"], {"list", "show", "new", "create"}),
        (["temporary_enrollments_edit"], {"list", "show", "new"}),
        (["temporary_enrollments_delete"], {"list", "show", "new", "delete"}),
        ([], set()),
    ],
)
def test_permissions_per_endpoint(api, make_token, permissions, allowed):
    pairing = api.create()
    token = make_token(permissions)
    results = {
        "list": api.get(token=token),
        "show": api.get(f"/{pairing['id']}", token=token),
        "new": api.get("/new", token=token),
        "create": api.post(token=token),
        "delete": api.delete(f"/{pairing['id']}", token=token),
    }
    for name, response in results.items():
        if name in allowed:
            assert response.status in (200, 201), (name, response)
        else:
            assert (response.status, response.json) == (403, FORBIDDEN), name


def test_checks_run_in_the_contracts_order(api, make_token, account_id):
    admin.create_account(account_id + 1_000_000, feature=False)
    expired = make_token(expires_in=1)
    scoped = make_token([], scopes=[f"url:GET|{COLLECTION}/new"])
    no_permission = make_token([])
    import time

    time.sleep(1.1)
    # 1 before 3: an expired token on a foreign account is still 401
    assert api.get(token=expired, account=str(account_id + 1)).status == 401
    # 2 before 3 and 5: scopes first
    assert api.get(token=scoped, account="garbage").json["errors"][0]["message"] == "Insufficient scopes on access token."
    # 3 (form) before 5: 404 for a malformed account even without permissions
    assert api.get(token=no_permission, account="garbage").status == 404
    # 3 (foreign) before 4: a foreign account with the feature off is 403, not 404
    assert api.get(token=no_permission, account=str(account_id + 1_000_000)).status == 403
    # 4 before 5: the token's own account, feature off, without permissions: 404
    assert repository.set_account_feature(api.account, False)
    get_authenticator().clear()
    assert api.get(token=no_permission).status == 404


def test_unknown_method_is_405_before_authentication(api):
    for method, suffix in (("PUT", ""), ("PATCH", "/1"), ("POST", "/new"), ("DELETE", ""), ("POST", "/1"), ("OPTIONS", "")):
        response = api.call(method, suffix, token=None)
        assert response.status == 405, (method, suffix)
        assert response.json["errors"][0]["message"]
        assert "allow" in response.headers


def test_revocation_and_feature_changes_take_effect_within_the_cache_time(api, make_token, clock, ddb_requests):
    token = make_token()
    assert api.get(token=token).status == 200
    repository.revoke_token(hash_token(token), 1)
    repository.set_account_feature(api.account, False)
    clock.advance(59)
    ddb_requests.reset()
    assert api.get(token=token).status == 200  # still cached: no read per request
    assert ddb_requests.operations == ["Query"]
    clock.advance(1.01)
    assert api.get(token=token).json == {"errors": [{"message": "Revoked access token."}]}
    fresh = make_token()
    assert api.get(token=fresh).status == 404  # the account was re-read: feature off


def test_tokens_are_stored_only_hashed(token):
    from chalicelib.models import TokenModel

    items = list(TokenModel.scan())
    assert all(token not in item.pk and token not in str(item.attribute_values) for item in items)
    assert TokenModel.get(f"token#{hash_token(token)}")


# Multi-segment paths reach {proxy+} only behind API Gateway (chalice local matches one
# segment); the local server answers those itself (tests/test_local_server.py).
@pytest.mark.parametrize("path", ["/foo", "/api", "/"])
def test_unknown_paths_are_404_before_authentication(chalice_client, path):
    """The catch-all route: what answers an unknown path once deployed."""
    for method in ("GET", "POST", "DELETE"):
        response = chalice_client.http.request(method, path, headers={"Authorization": "Bearer secret-token"})
        assert response.status_code == 404, (method, path)
        assert json.loads(response.body) == NOT_FOUND
        assert b"secret-token" not in response.body
