"""Helpers the tests share (fixtures live in conftest.py): ports, the app client wrapper,
a fake clock and the real local server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiResponse:
    """A response with its JSON body parsed."""

    def __init__(self, status: int, headers, body: bytes) -> None:
        import json

        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.text = body.decode() if body else ""
        self.json = json.loads(self.text) if self.text else None

    def __repr__(self) -> str:
        return f"<{self.status} {self.text[:300]}>"


class Api:
    """The app through ``chalice.test.Client``: real routing, middleware and views."""

    def __init__(self, client, account: int, token: str) -> None:
        self.client = client
        self.account = account
        self.token = token

    def path(self, suffix: str = "", account=None) -> str:
        return f"/api/v1/accounts/{self.account if account is None else account}/temporary_enrollment_pairings{suffix}"

    def call(self, method: str, suffix: str = "", *, token=..., headers=None, body=None, account=None, query: str = "") -> ApiResponse:
        import json as _json

        all_headers = {}
        token = self.token if token is ... else token
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = _json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        path = self.path(suffix, account) + (f"?{query}" if query else "")
        response = self.client.http.request(method, path, headers=all_headers, body=body or b"")
        return ApiResponse(response.status_code, response.headers, response.body)

    def get(self, suffix: str = "", **kwargs) -> ApiResponse:
        return self.call("GET", suffix, **kwargs)

    def post(self, body=None, **kwargs) -> ApiResponse:
        return self.call("POST", body=body, **kwargs)

    def delete(self, suffix: str, **kwargs) -> ApiResponse:
        return self.call("DELETE", suffix, **kwargs)

    def create(self, **params) -> dict:
        response = self.post(params or None)
        assert response.status == 201, response
        return response.json


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LocalServer:
    """A running ``scripts/run_local.py`` and what it printed."""

    def __init__(self, port: int, dynamodb_port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PAIRINGS_", "DIRECTORY_"))}
        env.update(PORT=str(port), DYNAMODB_PORT=str(dynamodb_port), PYTHONUNBUFFERED="1")
        self.port, self.dynamodb_port, self.env = port, dynamodb_port, env
        self.base = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "scripts/run_local.py"], cwd=PROJECT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("local server exited:\n" + "".join(self.output))
            self.output.append(line)
            if line.startswith("Serving on"):
                break
        else:
            raise RuntimeError("local server did not start:\n" + "".join(self.output))
        printed = "".join(self.output)
        self.token = re.search(r"export TOKEN=(\S+)", printed).group(1)
        self.curl = re.search(r"^\s*(curl -i -X POST .*)$", printed, re.M).group(1)
        # Keep reading what the server prints (a JSON line per request): a full pipe would
        # block the server.
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def admin(self, *args: str) -> str:
        """Run the admin command against this server's DynamoDB, as an operator would."""
        env = dict(self.env, AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{self.dynamodb_port}")
        config = json.loads((PROJECT / ".chalice/config.json").read_text())
        env.update(config["stages"]["dev"]["environment_variables"])
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.admin", *args], cwd=PROJECT, env=env,
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = self.process.wait(timeout=20)
        self._drain.join(timeout=5)
        return code


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (connections left in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
