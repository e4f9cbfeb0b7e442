"""The five endpoints through Chalice's test client: every client-visible rule of SPEC.md."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib import admin, repository

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
FORBIDDEN = {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}
FIELDS = {
    "id", "root_account_id", "workflow_state", "ending_enrollment_state",
    "created_by_id", "deleted_by_id", "created_at", "updated_at",
}
TIMESTAMP = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


# --- the resource -------------------------------------------------------------------------


def test_create_returns_the_full_bare_object(api):
    response = api.post()
    assert response.status == 201
    body = response.json
    assert set(body) == FIELDS  # bare: no "temporary_enrollment_pairing" root key
    assert body["root_account_id"] == api.account
    assert body["workflow_state"] == "active"
    assert body["ending_enrollment_state"] == "deleted"
    assert body["created_by_id"] == 7
    assert body["deleted_by_id"] is None
    assert TIMESTAMP.match(body["created_at"]) and body["updated_at"] == body["created_at"]
    assert response.headers["content-type"].startswith("application/json")


def test_ids_are_safe_integers_increasing_with_creation(api):
    ids = [api.create()["id"] for _ in range(5)]
    assert all(isinstance(i, int) and 0 < i < 2**53 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_created_at_comes_from_the_id(api):
    from chalicelib.ids import created_at_of
    from chalicelib.schemas import iso_utc

    body = api.create()
    assert body["created_at"] == iso_utc(created_at_of(body["id"]))


def test_string_ids_on_canvas_accept_header(api):
    accept = {"Accept": "application/json+canvas-string-ids"}
    created = api.post(headers=accept).json
    assert isinstance(created["id"], str) and isinstance(created["root_account_id"], str)
    assert created["created_by_id"] == "7" and created["deleted_by_id"] is None
    shown = api.get(f"/{created['id']}", headers=accept).json
    assert shown["id"] == created["id"]
    listed = api.get(headers=accept).json
    assert listed[0]["id"] == created["id"] and listed[0]["root_account_id"] == str(api.account)
    assert isinstance(api.get(f"/{created['id']}").json["id"], int)


# --- account id forms -----------------------------------------------------------------------


def test_self_and_numeric_account_ids(api):
    created = api.create()
    assert api.get(f"/{created['id']}", account="self").status == 200
    assert api.get(f"/{created['id']}", account=str(api.account)).status == 200


@pytest.mark.parametrize("form", ["sis_account_id:1", "abc", "1.0", "-1", "SELF", "1" * 20])
def test_other_account_id_forms_are_404(api, form):
    response = api.get(account=form)
    assert (response.status, response.json) == (404, NOT_FOUND)


# --- list -----------------------------------------------------------------------------------


def test_list_oldest_first_active_only_by_default(api):
    first, second, third = (api.create()["id"] for _ in range(3))
    api.delete(f"/{second}")
    assert [p["id"] for p in api.get().json] == [first, third]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("workflow_state[]=deleted", "deleted"),
        ("workflow_state=deleted", "deleted"),
        ("workflow_state[]=active", "active"),
        ("workflow_state[]=active&workflow_state[]=deleted", "both"),
        ("workflow_state[]=deleted&workflow_state[]=active", "both"),
    ],
)
def test_list_workflow_state_filter(api, query, expected):
    active = api.create()["id"]
    deleted = api.create(workflow_state="deleted")["id"]
    ids = [p["id"] for p in api.get(query=query).json]
    assert ids == {"deleted": [deleted], "active": [active], "both": [active, deleted]}[expected]


@pytest.mark.parametrize("query", ["workflow_state[]=gone", "workflow_state=Active", "workflow_state[]=active&workflow_state[]=x"])
def test_list_bad_workflow_state_is_400(api, query):
    response = api.get(query=query)
    assert response.status == 400
    assert response.json["errors"]["workflow_state"][0]["attribute"] == "workflow_state"


def _links(response) -> dict[str, str]:
    links = {}
    for part in response.headers["link"].split(","):
        url, rel = re.fullmatch(r'<([^>]+)>; rel="(\w+)"', part).groups()
        links[rel] = url
    return links


def _relative(url: str) -> str:
    return re.sub(r"\Ahttps?://[^/]+", "", url)


def _walk(api, query: str) -> tuple[list[int], int]:
    seen, pages = [], 0
    response = api.get(query=query)
    while True:
        pages += 1
        assert response.status == 200, response
        seen += [p["id"] for p in response.json]
        links = _links(response)
        if "next" not in links:
            return seen, pages
        path, _, next_query = _relative(links["next"]).partition("?")
        assert path == api.path()
        response = api.call("GET", query=next_query)


def test_pagination_walk_over_27_pairings(api):
    ids = [api.create()["id"] for _ in range(27)]
    for per_page, pages in ((10, 3), (5, 6), (27, 1), (9, 3), (100, 1)):
        seen, count = _walk(api, f"per_page={per_page}")
        assert seen == ids, per_page
        assert count == pages, per_page  # no empty trailing page, even for 27 / 9 and 27 / 27


def test_default_per_page_is_10_and_link_format(api):
    for _ in range(11):
        api.create()
    response = api.get()
    assert len(response.json) == 10
    link = response.headers["link"]
    parts = link.split(",")
    assert [re.search(r'rel="(\w+)"', p).group(1) for p in parts] == ["current", "next", "first"]
    assert ", " not in link
    links = _links(response)
    assert links["current"].startswith("http://") and "page=first&per_page=10" in links["current"]
    assert links["first"].endswith("?page=first&per_page=10")
    assert re.search(r"\?page=bookmark:[A-Za-z0-9_-]+&per_page=10\Z", links["next"])
    last = api.call("GET", query=_relative(links["next"]).split("?", 1)[1])
    assert len(last.json) == 1
    assert [re.search(r'rel="(\w+)"', p).group(1) for p in last.headers["link"].split(",")] == ["current", "first"]
    assert "prev" not in last.headers["link"] and "last" not in last.headers["link"]


def test_links_keep_other_parameters_with_page_and_per_page_last(api):
    for _ in range(3):
        api.create(workflow_state="deleted")
    response = api.get(query="per_page=2&workflow_state[]=deleted")
    for url in _links(response).values():
        query = url.split("?", 1)[1]
        names = [pair.split("=")[0] for pair in query.split("&")]
        assert names == ["workflow_state%5B%5D", "page", "per_page"]
    assert len(api.call("GET", query=_links(response)["next"].split("?", 1)[1]).json) == 1


def test_per_page_above_100_means_100(api):
    from chalicelib.schemas import PairingPublic

    # Written straight to the table: 101 creates through HTTP would only slow the suite.
    for n in range(1, 102):
        repository.create_pairing(PairingPublic(
            id=n + api.account * 1000, root_account_id=api.account, workflow_state="active",
            ending_enrollment_state="deleted", created_by_id=1, created_at=0, updated_at=0,
        ))
    response = api.get(query="per_page=1000000000000000000000")
    assert len(response.json) == 100
    assert "per_page=100" in _links(response)["current"]
    assert "next" in _links(response)


def test_a_per_page_of_thousands_of_digits_is_100_not_a_crash(api):
    api.create()
    response = api.get(query="per_page=" + "9" * 5000)
    assert response.status == 200 and "per_page=100" in _links(response)["current"]
    assert api.get(query="per_page=" + "0" * 5000 + "7").status == 200


def test_links_never_carry_an_access_token(api):
    response = api.get(query="access_token=leaked&per_page=1")
    assert response.status == 200 and "leaked" not in response.headers["link"]


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", " 5", "1e3", "000", "0" * 5000])
def test_per_page_not_a_positive_integer_is_400(api, value):
    response = api.get(query=f"per_page={value}")
    assert response.status == 400
    assert response.json["errors"]["per_page"][0]["attribute"] == "per_page"


@pytest.mark.parametrize(
    "page",
    ["2", "bookmark:", "bookmark:!!!", "bookmark:WzFd%3D%3D%3D%3D", "bookmark:eyJhIjoxfQ",  # {"a":1}
     "bookmark:WyJ4Il0", "bookmark:Wy0xXQ", "bookmark:WzEsMl0", "bookmark:" + "A" * 200, "bookmark:W251bGxd"],
)
def test_undecodable_page_token_is_400(api, page):
    response = api.get(query=f"page={page}")
    assert response.status == 400, page
    assert response.json["errors"]["page"][0]["attribute"] == "page"


def test_a_bookmark_never_reaches_another_account(api, make_token, account_id, chalice_client):
    from support import Api

    mine = api.create()["id"]
    admin.create_account(account_id + 500_000)
    other = Api(chalice_client, account_id + 500_000, make_token(account_id=account_id + 500_000))
    theirs = other.create()["id"]
    from chalicelib.pagination import encode_bookmark

    for after in (0, mine - 1, theirs - 1):
        ids = [p["id"] for p in api.get(query=f"page={encode_bookmark(after)}").json]
        assert theirs not in ids


# --- show -----------------------------------------------------------------------------------


def test_show_returns_deleted_pairings_too(api):
    pairing = api.create()
    api.delete(f"/{pairing['id']}")
    shown = api.get(f"/{pairing['id']}")
    assert shown.status == 200 and shown.json["workflow_state"] == "deleted"


@pytest.mark.parametrize("suffix", ["/1", "/abc", "/1.5", "/-1", "/0", "/" + "9" * 19, "/" + "1" * 20, "/%31"])
def test_show_unknown_or_malformed_id_is_404(api, suffix):
    response = api.get(suffix)
    assert (response.status, response.json) == (404, NOT_FOUND)


def test_show_another_accounts_pairing_is_404(api, chalice_client, make_token, account_id):
    from support import Api

    admin.create_account(account_id + 600_000)
    other = Api(chalice_client, account_id + 600_000, make_token(account_id=account_id + 600_000))
    theirs = other.create()["id"]
    assert api.get(f"/{theirs}").status == 404
    assert api.delete(f"/{theirs}").status == 404
    assert other.get(f"/{theirs}").json["workflow_state"] == "active"


# --- new ------------------------------------------------------------------------------------


def test_new_returns_an_unsaved_pairing_and_writes_nothing(api, ddb_requests):
    api.get("/new")  # warms the token and account caches
    ddb_requests.reset()
    response = api.get("/new")
    assert response.status == 200
    assert response.json == {
        "id": None, "root_account_id": api.account, "workflow_state": "active",
        "ending_enrollment_state": "deleted", "created_by_id": None, "deleted_by_id": None,
        "created_at": None, "updated_at": None,
    }
    assert ddb_requests.count == 0
    assert api.get().json == []


# --- create ---------------------------------------------------------------------------------


def _form(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "XyZzY"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("carrier", ["query", "form", "multipart", "json"])
def test_create_reads_parameters_from_every_carrier(api, carrier):
    params = {"workflow_state": "deleted", "ending_enrollment_state": "inactive"}
    if carrier == "query":
        response = api.call("POST", query="workflow_state=deleted&ending_enrollment_state=inactive")
    elif carrier == "form":
        response = api.call("POST", body="workflow_state=deleted&ending_enrollment_state=inactive",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    elif carrier == "multipart":
        body, content_type = _form(params)
        response = api.call("POST", body=body, headers={"Content-Type": content_type})
    else:
        response = api.post(params)
    assert response.status == 201, response
    assert response.json["workflow_state"] == "deleted"
    assert response.json["ending_enrollment_state"] == "inactive"
    assert response.json["deleted_by_id"] == 7  # created deleted: the creator is its deleter


def test_body_wins_over_query_string(api):
    response = api.call("POST", query="ending_enrollment_state=inactive", body={"ending_enrollment_state": "completed"})
    assert response.json["ending_enrollment_state"] == "completed"


def test_an_empty_body_value_does_not_override_the_query(api):
    response = api.call("POST", query="ending_enrollment_state=completed", body="ending_enrollment_state=",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 201 and response.json["ending_enrollment_state"] == "completed"
    response = api.call("POST", query="workflow_state=deleted", body={"workflow_state": None})
    assert response.json["workflow_state"] == "deleted"


def test_every_bad_parameter_is_reported(api):
    response = api.post({"workflow_state": "x", "ending_enrollment_state": "y"})
    assert response.status == 400
    assert set(response.json["errors"]) == {"workflow_state", "ending_enrollment_state"}


def test_a_bad_query_value_is_400_even_where_the_body_overrides_it(api):
    response = api.call("POST", query="ending_enrollment_state=complete", body={"ending_enrollment_state": "completed"})
    assert response.status == 400 and "ending_enrollment_state" in response.json["errors"]


def test_empty_strings_and_nulls_count_as_absent(api):
    body = api.create(workflow_state="", ending_enrollment_state="")
    assert (body["workflow_state"], body["ending_enrollment_state"]) == ("active", "deleted")
    body = api.post({"workflow_state": None, "ending_enrollment_state": None}).json
    assert (body["workflow_state"], body["ending_enrollment_state"]) == ("active", "deleted")


def test_protected_fields_are_ignored(api, account_id):
    body = api.create(id=5, root_account_id=account_id + 1, created_by_id=99, deleted_by_id=98,
                      created_at="2000-01-01T00:00:00Z", updated_at="2000-01-01T00:00:00Z", account_id=3)
    assert body["id"] != 5 and body["root_account_id"] == api.account
    assert body["created_by_id"] == 7 and body["deleted_by_id"] is None
    assert not body["created_at"].startswith("2000")


def test_unknown_ending_enrollment_state_is_a_canvas_field_error(api):
    response = api.post({"ending_enrollment_state": "complete"})
    assert response.status == 400
    assert response.json == {"errors": {"ending_enrollment_state": [{
        "attribute": "ending_enrollment_state", "type": "inclusion",
        "message": "ending_enrollment_state must be one of deleted, completed, inactive",
    }]}}
    assert api.get(query="workflow_state[]=active&workflow_state[]=deleted").json == []


@pytest.mark.parametrize(
    "body",
    [{"workflow_state": "archived"}, {"workflow_state": 1}, {"workflow_state": ["active"]},
     {"ending_enrollment_state": True}, {"ending_enrollment_state": {"a": 1}}, {"workflow_state": "x" * 10000}],
)
def test_wrong_values_and_types_are_400(api, body):
    response = api.post(body)
    assert response.status == 400
    (attribute,) = response.json["errors"]
    assert attribute in ("workflow_state", "ending_enrollment_state")
    assert response.json["errors"][attribute][0]["type"] == "inclusion"


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"text"', "application/json", 400),
        (b"[" * 60000, "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"workflow_state=%ff", "application/x-www-form-urlencoded", 400),
        (b"garbage", "multipart/form-data; boundary=abc", 400),
        (b"hello", "text/plain", 415),
        (b"hello", "", 415),
        (b"<a/>", "application/xml", 415),
    ],
)
def test_malformed_bodies_are_4xx_in_canvas_shape(api, body, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.call("POST", body=body, headers=headers)
    assert response.status == status, response
    assert isinstance(response.json["errors"][0]["message"], str)
    assert api.get(query="workflow_state[]=active&workflow_state[]=deleted").json == []


def test_any_endpoint_refuses_a_body_over_64_kib(api):
    pairing = api.create()
    for method, suffix in (("GET", ""), ("GET", f"/{pairing['id']}"), ("DELETE", f"/{pairing['id']}")):
        response = api.call(method, suffix, body=b"x" * 65_537, headers={"Content-Type": "text/plain"})
        assert response.status == 413, (method, suffix)
    assert api.get(f"/{pairing['id']}").json["workflow_state"] == "active"


def test_body_over_64_kib_is_413(api):
    body = json.dumps({"workflow_state": "active", "pad": "x" * 65_536})
    response = api.call("POST", body=body, headers={"Content-Type": "application/json"})
    assert response.status == 413
    exactly = json.dumps({"pad": "x" * (65_536 - 11)})
    assert len(exactly) == 65_536
    assert api.call("POST", body=exactly, headers={"Content-Type": "application/json"}).status == 201


def test_create_location_header(api):
    response = api.post()
    location = response.headers["location"]
    assert location.endswith(f"/api/v1/accounts/{api.account}/temporary_enrollment_pairings/{response.json['id']}")
    assert location.startswith("http")
    assert api.get(_relative(location).rsplit("temporary_enrollment_pairings", 1)[1]).json == response.json


# --- idempotency ----------------------------------------------------------------------------


def test_idempotent_retry_returns_the_first_response(api):
    key = {"Idempotency-Key": "abc-123"}
    first = api.call("POST", body={"ending_enrollment_state": "completed"}, headers=key)
    again = api.call("POST", body={"ending_enrollment_state": "completed"}, headers=key)
    assert first.status == again.status == 201
    assert again.text == first.text and again.headers["location"] == first.headers["location"]
    assert len(api.get().json) == 1


def test_idempotency_compares_effective_parameters(api):
    key = {"Idempotency-Key": "defaults"}
    first = api.call("POST", headers=key)
    again = api.call("POST", body={"workflow_state": "active", "ending_enrollment_state": "deleted"}, headers=key)
    assert again.text == first.text


def test_same_key_with_other_parameters_is_409(api):
    key = {"Idempotency-Key": "k1"}
    assert api.call("POST", headers=key).status == 201
    response = api.call("POST", body={"ending_enrollment_state": "inactive"}, headers=key)
    assert response.status == 409 and response.json["errors"][0]["message"]
    assert len(api.get().json) == 1


def test_key_is_scoped_to_user_and_account(api, make_token):
    key = {"Idempotency-Key": "shared"}
    first = api.call("POST", headers=key)
    other_user = api.call("POST", headers=key, token=make_token(user=8))
    assert other_user.status == 201 and other_user.json["id"] != first.json["id"]


def test_duplicate_while_in_flight_is_409_with_retry_after(api):
    from chalicelib import service

    record = service.idempotency_record_key(
        repository.Account(api.account, None, "active", True),
        type("P", (), {"user_id": 7})(), "busy",
    )
    import time

    assert repository.begin_idempotent(record, "someone-else", "active|deleted", int(time.time()), 60, 86400) is None
    response = api.call("POST", headers={"Idempotency-Key": "busy"})
    assert response.status == 409 and response.headers["retry-after"] == "1"
    assert api.get().json == []


def test_failed_first_attempt_is_not_remembered(api, monkeypatch):
    calls = {"n": 0}
    original = repository.create_pairing

    def failing_once(pairing, remember=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original(pairing, remember)

    monkeypatch.setattr(repository, "create_pairing", failing_once)
    key = {"Idempotency-Key": "retry-me"}
    assert api.call("POST", headers=key).status == 500
    retried = api.call("POST", headers=key)
    assert retried.status == 201
    assert len(api.get().json) == 1


def test_idempotency_key_over_255_characters_is_400(api):
    assert api.call("POST", headers={"Idempotency-Key": "k" * 256}).status == 400
    assert api.call("POST", headers={"Idempotency-Key": "k" * 255}).status == 201


# --- delete ---------------------------------------------------------------------------------


def test_delete_is_soft_and_keeps_the_first_deleter(api, make_token):
    pairing = api.create()
    deleted = api.delete(f"/{pairing['id']}")
    assert deleted.status == 200
    assert deleted.json["workflow_state"] == "deleted" and deleted.json["deleted_by_id"] == 7
    assert deleted.json["created_at"] == pairing["created_at"]
    assert TIMESTAMP.match(deleted.json["updated_at"]) and deleted.json["updated_at"] >= pairing["updated_at"]
    again = api.delete(f"/{pairing['id']}", token=make_token(user=9))
    assert again.status == 200 and again.json == deleted.json
    assert api.get(f"/{pairing['id']}").json == deleted.json  # still in the table


def test_delete_unknown_is_404(api):
    assert api.delete("/12345").status == 404
    assert api.delete("/abc").status == 404


# --- round trips ------------------------------------------------------------------------------


def test_dynamodb_requests_per_api_request(api, ddb_requests):
    pairing = api.create()
    for _ in range(12):
        api.delete(f"/{api.create()['id']}")  # deleted pairings must not cost a list page reads
    cases = [
        ("new", lambda: api.get("/new"), 0),
        ("show", lambda: api.get(f"/{pairing['id']}"), 1),
        ("list", lambda: api.get(query="per_page=1"), 1),
        ("list deleted", lambda: api.get(query="workflow_state[]=deleted&per_page=5"), 1),
        ("create", lambda: api.post(), 1),
        ("delete", lambda: api.delete(f"/{api.create()['id']}"), None),
    ]
    for name, call, expected in cases:
        if expected is None:
            target = api.create()["id"]
            ddb_requests.reset()
            api.delete(f"/{target}")
            expected = 1
        else:
            ddb_requests.reset()
            call()
        assert ddb_requests.count == expected, (name, ddb_requests.operations)
