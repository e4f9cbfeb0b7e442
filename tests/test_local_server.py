"""The real local server (``make run``'s code path: scripts/run_local.py, chalice local over
an embedded moto server), started on free ports and exercised over HTTP with ``requests``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from typing import Iterator

import pytest
import requests

from support import PROJECT, LocalServer, free_port, port_is_free

COLLECTION = "/api/v1/accounts/:account_id/temporary_enrollment_pairings"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    running = LocalServer(free_port(), free_port())
    yield running
    running.stop()


@pytest.fixture
def session(server: LocalServer) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {server.token}"
    return http


def url(server: LocalServer, suffix: str = "", account: str = "1") -> str:
    return f"{server.base}/api/v1/accounts/{account}/temporary_enrollment_pairings{suffix}"


def test_the_printed_curl_line_creates_and_the_list_shows_it(server, session):
    # As a newcomer does: export the printed token, paste the printed curl line.
    done = subprocess.run(
        ["bash", "-c", server.curl + " -s"], env=dict(os.environ, TOKEN=server.token),
        capture_output=True, text=True, timeout=30,
    )
    assert done.stdout.startswith("HTTP/1.1 201"), done.stdout
    created = json.loads(done.stdout.split("\n\n", 1)[1])
    listed = session.get(url(server)).json()
    assert created in listed


def test_create_list_show_delete_walkthrough(server, session):
    created = session.post(url(server), data={"ending_enrollment_state": "completed"})
    assert created.status_code == 201
    pairing = created.json()
    assert created.headers["Location"] == url(server, f"/{pairing['id']}")
    assert session.get(created.headers["Location"]).json() == pairing
    deleted = session.delete(url(server, f"/{pairing['id']}"))
    assert deleted.status_code == 200 and deleted.json()["workflow_state"] == "deleted"
    assert pairing["id"] not in [p["id"] for p in session.get(url(server), params={"per_page": 100}).json()]
    assert session.get(url(server, f"/{pairing['id']}")).json()["deleted_by_id"] == 1


def test_pagination_follows_absolute_links(server, session):
    server.admin("account", "create", "--id", "21")
    token = server.admin("token", "create", "--account", "21", "--user", "3",
                         "--permission", "temporary_enrollments_add").strip()
    session.headers["Authorization"] = f"Bearer {token}"
    ids = [session.post(url(server, account="21"), json={}).json()["id"] for _ in range(26)]
    seen, pages = [], 0
    response = session.get(url(server, account="self"), params={"per_page": 5})
    while True:
        pages += 1
        seen += [p["id"] for p in response.json()]
        if "next" not in response.links:
            break
        response = session.get(response.links["next"]["url"])
        assert response.status_code == 200
    assert seen == ids and pages == 6
    assert response.links["first"]["url"].startswith(server.base)


def test_authentication_over_http(server, session):
    anonymous = requests.get(url(server))
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    assert anonymous.json()["status"] == "unauthenticated"
    assert requests.get(url(server), params={"access_token": server.token}).status_code == 401
    invalid = requests.get(url(server), headers={"Authorization": "Bearer wrong"})
    assert invalid.json() == {"errors": [{"message": "Invalid access token."}]}

    scoped = server.admin("token", "create", "--account", "1", "--user", "4", "--permission",
                          "temporary_enrollments_add", "--scope", f"url:GET|{COLLECTION}").strip()
    headers = {"Authorization": f"Bearer {scoped}"}
    assert requests.get(url(server), headers=headers).status_code == 200
    assert requests.head(url(server), headers=headers).status_code == 200
    refused = requests.post(url(server), headers=headers)
    assert refused.status_code == 401 and "WWW-Authenticate" not in refused.headers

    editor = server.admin("token", "create", "--account", "1", "--user", "5",
                          "--permission", "temporary_enrollments_edit").strip()
    forbidden = requests.post(url(server), headers={"Authorization": f"Bearer {editor}"})
    assert forbidden.status_code == 403 and forbidden.json()["status"] == "unauthorized"
    assert requests.get(url(server, account="2"), headers={"Authorization": f"Bearer {editor}"}).status_code == 403

    server.admin("token", "revoke", scoped)
    # This process cached the token: revocation shows within the cache lifetime (60 s), so
    # only a token the process has not yet seen can prove the revoked answer here.
    fresh = server.admin("token", "create", "--account", "1", "--user", "6", "--permission",
                         "temporary_enrollments_add").strip()
    server.admin("token", "revoke", fresh)
    revoked = requests.get(url(server), headers={"Authorization": f"Bearer {fresh}"})
    assert revoked.json() == {"errors": [{"message": "Revoked access token."}]}


def test_feature_off_account_is_404_over_http(server):
    server.admin("account", "create", "--id", "31", "--feature-off")
    token = server.admin("token", "create", "--account", "31", "--user", "1",
                         "--permission", "temporary_enrollments_add").strip()
    response = requests.get(url(server, account="31"), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


def test_unknown_paths_and_methods_answer_in_canvas_shape(server, session):
    for path in ("/api/v1/nothing", "/api/v1/accounts/1/temporary_enrollment_pairings/1/extra", "/"):
        response = session.get(server.base + path)
        assert response.status_code == 404, path
        assert response.json() == {"errors": [{"message": "The specified resource does not exist."}]}
        assert server.token not in response.text  # chalice local would echo the header
    response = requests.put(url(server))
    assert response.status_code == 405 and response.json()["errors"][0]["message"]


def test_bad_input_over_http(server, session):
    def post(**kwargs) -> requests.Response:
        return session.post(url(server), **kwargs)

    assert post(data=b"{oops", headers={"Content-Type": "application/json"}).status_code == 400
    assert post(data=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert post(json={"ending_enrollment_state": "nope"}).json()["errors"]["ending_enrollment_state"]
    too_big = post(data=b"a=" + b"x" * 70_000, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413
    # API Gateway reads chunked bodies (chalice local alone would drop them).
    chunked = post(data=iter([b'{"ending_enrollment_', b'state": "inactive"}']), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 201 and chunked.json()["ending_enrollment_state"] == "inactive"
    empty_chunked = post(data=iter([]), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert empty_chunked.status_code == 201
    huge_chunked = post(data=(b"x" * 1_048_576 for _ in range(11)), headers={"Content-Type": "application/json"})
    assert huge_chunked.status_code == 413
    assert session.get(url(server), params={"per_page": "0"}).status_code == 400
    assert session.get(url(server), params={"page": "bookmark:zzz"}).status_code == 400
    assert session.get(url(server, "/abc")).status_code == 404
    assert post(data=b"{oops", headers={"Content-Type": "application/json"}).headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("length", ["99999999999999999999", "\u00b2", "-1", "1 2"])
def test_a_malformed_content_length_is_a_400_not_a_dropped_connection(server, length):
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST /api/v1/accounts/1/temporary_enrollment_pairings HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {length}\r\n\r\n".encode("utf-8")
        )
        answer = b""
        while chunk := sock.recv(4096):  # the server closes the connection after answering
            answer += chunk
        answer = answer.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 400") and '"errors"' in answer


def test_head_answers_carry_no_body_so_keep_alive_works(server, session):
    for path in ("/api/v1/a/b/c", "/api/v1/accounts/1/temporary_enrollment_pairings"):
        head = session.head(server.base + path)
        assert head.status_code in (200, 404) and head.content == b""
        follow = session.get(url(server, "/new"))  # the same connection, still in step
        assert follow.status_code == 200 and follow.json()["id"] is None


def test_sigterm_stops_everything_too():
    running = LocalServer(free_port(), free_port())
    running.process.terminate()
    assert running.process.wait(timeout=20) == 0
    assert port_is_free(running.port) and port_is_free(running.dynamodb_port)


def test_ctrl_c_stops_everything_and_a_second_run_works():
    ports = (free_port(), free_port())
    for _ in range(2):  # a second time in a row, on the same ports
        running = LocalServer(*ports)
        assert requests.get(url(running, "/new"), headers={"Authorization": f"Bearer {running.token}"}).status_code == 200
        assert running.stop() == 0
        assert port_is_free(ports[0]) and port_is_free(ports[1])


def test_make_run_and_ctrl_c_through_make():
    """``make run`` itself, stopped the way a terminal does it: SIGINT to the whole
    foreground process group (make and the server). Nothing may keep running."""
    api_port, dynamodb_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PAIRINGS_", "DIRECTORY_", "MAKE"))}
    env.update(PORT=str(api_port), DYNAMODB_PORT=str(dynamodb_port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(["make", "-s", "run"], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("Serving on"):
                break
        token = re.search(r"export TOKEN=(\S+)", "".join(output)).group(1)
        base = f"http://127.0.0.1:{api_port}/api/v1/accounts/1/temporary_enrollment_pairings"
        created = requests.post(base, headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201
        assert created.json() in requests.get(base, headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
        process.stdout.close()
    time.sleep(0.2)
    assert port_is_free(api_port) and port_is_free(dynamodb_port)
    leftovers = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
