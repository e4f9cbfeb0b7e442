"""Concurrent clients against the real local server (threaded chalice local over the moto
server): nothing lost, nothing duplicated, nothing crossing accounts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support import LocalServer, free_port

CREATES = 200
THREADS = 16


@pytest.fixture(scope="module")
def server():
    running = LocalServer(free_port(), free_port())
    yield running
    running.stop()


def _url(server: LocalServer, account: str, suffix: str = "") -> str:
    return f"{server.base}/api/v1/accounts/{account}/temporary_enrollment_pairings{suffix}"


def _token(server: LocalServer, account: int, user: int) -> str:
    return server.admin("token", "create", "--account", str(account), "--user", str(user),
                        "--permission", "temporary_enrollments_add",
                        "--permission", "temporary_enrollments_delete").strip()


def _list_all(server: LocalServer, account: str, token: str) -> list[int]:
    ids, url = [], _url(server, account) + "?per_page=100&workflow_state[]=active&workflow_state[]=deleted"
    while url:
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 200
        ids += [p["id"] for p in response.json()]
        url = response.links.get("next", {}).get("url")
    return ids


def _create(server: LocalServer, account: str, token: str) -> requests.Response:
    return requests.post(_url(server, account), headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_concurrent_creates_lose_nothing(server):
    server.admin("account", "create", "--id", "41")
    token = _token(server, 41, 1)
    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(lambda _: _create(server, "41", token), range(CREATES)))
    assert [r.status_code for r in responses] == [201] * CREATES
    created = [r.json()["id"] for r in responses]
    listed = _list_all(server, "41", token)
    print(f"\nconcurrency: {CREATES} creates on {THREADS} threads -> {len(set(created))} distinct ids, "
          f"{len(listed)} listed, {CREATES - len(set(listed))} lost")
    assert len(set(created)) == CREATES
    assert listed == sorted(created)  # each once, oldest first


def test_concurrent_deletes_keep_one_deleter(server):
    server.admin("account", "create", "--id", "42")
    tokens = [_token(server, 42, user) for user in range(1, 11)]
    pairing = _create(server, "42", tokens[0]).json()

    def delete(token: str) -> requests.Response:
        return requests.delete(_url(server, "42", f"/{pairing['id']}"),
                               headers={"Authorization": f"Bearer {token}"}, timeout=60)

    with ThreadPoolExecutor(len(tokens)) as pool:
        responses = list(pool.map(delete, tokens * 2))
    assert {r.status_code for r in responses} == {200}
    deleters = {r.json()["deleted_by_id"] for r in responses}
    updated = {r.json()["updated_at"] for r in responses}
    print(f"\nconcurrency: {len(responses)} concurrent deletes -> deleted_by_id values seen: {deleters}")
    assert len(deleters) == 1 and len(updated) == 1
    shown = requests.get(_url(server, "42", f"/{pairing['id']}"), headers={"Authorization": f"Bearer {tokens[0]}"}).json()
    assert shown["deleted_by_id"] in deleters


def test_concurrent_creates_in_two_accounts_stay_apart(server):
    for account in (43, 44):
        server.admin("account", "create", "--id", str(account))
    tokens = {"43": _token(server, 43, 1), "44": _token(server, 44, 1)}
    jobs = [("43" if n % 2 else "44") for n in range(100)]
    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(lambda account: (account, _create(server, account, tokens[account])), jobs))
    by_account = {"43": set(), "44": set()}
    for account, response in responses:
        assert response.status_code == 201 and response.json()["root_account_id"] == int(account)
        by_account[account].add(response.json()["id"])
    for account, token in tokens.items():
        assert set(_list_all(server, account, token)) == by_account[account]
        assert set(_list_all(server, "self", token)) == by_account[account]
    assert not by_account["43"] & by_account["44"]
