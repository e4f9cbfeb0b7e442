"""`make run`: the API on chalice local over an embedded DynamoDB (a moto server).

One process, so Ctrl-C stops everything: the moto server runs in a thread (unless
AWS_ENDPOINT_URL_DYNAMODB points at another DynamoDB), the tables are created if missing,
account 1 is provisioned with the feature on, a token for user 1 with all three permissions
is printed with a curl line, and chalice local's own server (the `chalice local` code path,
stage ``dev`` of .chalice/config.json, one app object as with ``--no-autoreload``) serves on
127.0.0.1:$PORT.

Unknown paths get the contract's 404 JSON, as the deployed API's gateway responses give:
chalice local would answer API Gateway's 403 and echo the Authorization header back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Optional

PROJECT_DIR = Path(__file__).resolve().parent.parent
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
NOT_FOUND_BODY = json.dumps({"errors": [{"message": "The specified resource does not exist."}]})


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "") or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"{name} must be a TCP port number, got {raw!r}")
    return int(raw)


def _ensure_free(port: int, name: str) -> None:
    with socket.socket() as sock:
        # As the servers themselves bind: connections of a previous run in TIME_WAIT are fine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(f"port {port} on 127.0.0.1 is in use; set {name} to another port")


class EmbeddedDynamoDB:
    """The moto server in a thread, one request at a time.

    moto's backends are not thread-safe: a transaction copies tables while other requests
    change them, and concurrent clients then get HTML 500s ("dictionary changed size").
    DynamoDB isolates requests itself; here one lock does. Connections stay concurrent
    (threaded server, keep-alive); only the backend work is serialized.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serialized(environ: dict[str, Any], start_response: Any) -> Any:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(self.host, self.port, serialized, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _gateway_handler() -> Any:
    """chalice local's request handler with API Gateway's edge behaviour where chalice
    local differs: body limits, chunked bodies, 404 JSON for unknown paths, and an
    access log without query strings (they could carry secrets)."""
    from chalice.local import ChaliceRequestHandler, LocalGatewayException

    class BadBody(Exception):
        """A request body the gateway refuses, with its status."""

        def __init__(self, status: int, message: str) -> None:
            super().__init__(message)
            self.status = status

    class GatewayHandler(ChaliceRequestHandler):
        def _generic_handle(self) -> None:
            try:
                self._body = self._read_body()
            except BadBody as refused:
                self.close_connection = True
                return self._reply(refused.status, str(refused))
            super()._generic_handle()

        def _read_body(self) -> bytes:
            # API Gateway accepts chunked bodies and caps every body at 10 MB; chalice local
            # would ignore a chunked body and read any Content-Length whole.
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                return self._read_chunked()
            length = self.headers.get("content-length", "0")
            if not re.fullmatch(r"[0-9]{1,12}", length):
                raise BadBody(400, "Content-Length is not a number.")
            if int(length) > API_GATEWAY_MAX_BODY:
                raise BadBody(413, "The request body is too large.")
            return self.rfile.read(int(length)) if int(length) else b""

        def _read_chunked(self) -> bytes:
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadBody(400, "Malformed chunked body.") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > API_GATEWAY_MAX_BODY:
                    raise BadBody(413, "The request body is too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk

        def _parse_payload(self) -> tuple[dict[str, str], Optional[bytes]]:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
            headers["Content-Length"] = str(len(self._body))
            return headers, self._body or None

        def _send_http_response(self, code: int, headers: Any, body: Any) -> None:
            # A HEAD answer has no body, whoever wrote the response.
            super()._send_http_response(code, headers, None if self.command == "HEAD" else body)

        def _send_error_response(self, error: LocalGatewayException) -> None:
            self._send_http_response(404, {"Content-Type": "application/json"}, NOT_FOUND_BODY)

        def _reply(self, status: int, message: str, headers: Optional[dict[str, str]] = None) -> None:
            body = json.dumps({"errors": [{"message": message}]})
            self._send_http_response(status, {"Content-Type": "application/json", **(headers or {})}, body)

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(
                f"{self.address_string()} {self.command} {self.path.split('?', 1)[0]} "
                f"{args[1] if len(args) > 1 else ''}\n"
            )

        # The base class binds its do_* methods to its own _generic_handle.
        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def __getattr__(self, name: str) -> Any:
            # Methods no route can have (TRACE, CONNECT, made-up ones): 405 in JSON, where
            # http.server would answer an HTML 501.
            if name.startswith("do_"):
                return self._method_not_allowed
            raise AttributeError(name)

        def _method_not_allowed(self) -> None:
            self.close_connection = True
            self._reply(405, f"Method {self.command} is not allowed.", {"Allow": "GET, HEAD, POST, DELETE"})

    return GatewayHandler


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C and a plain `kill` both stop the server the same way. SIGINT is set explicitly:
    # a shell without job control starts background commands with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    port = _port("PORT", 8000)
    host = "127.0.0.1"
    os.chdir(PROJECT_DIR)
    sys.path.insert(0, str(PROJECT_DIR))
    # Fake credentials only matter for the embedded server; real ones win if present.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))

    # As `chalice local` does: the app's log lines on stdout. The moto server's access log
    # would drown them.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    for noisy in ("werkzeug", "botocore", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name="dev")
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)

    _ensure_free(port, "PORT")
    moto_server = None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if not endpoint:
        dynamodb_port = _port("DYNAMODB_PORT", 8001)
        _ensure_free(dynamodb_port, "DYNAMODB_PORT")
        moto_server = EmbeddedDynamoDB(host, dynamodb_port)
        moto_server.start()
        endpoint = f"http://{host}:{dynamodb_port}"
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint

    try:
        from chalice.local import create_local_server

        from chalicelib import admin, repository
        from chalicelib.auth import PERMISSIONS
        from chalicelib.errors import ServiceUnavailable

        try:
            repository.create_tables()
            admin.ensure_account(1, "Local root account")
        except ServiceUnavailable:
            sys.exit(
                f"cannot reach DynamoDB at {endpoint}"
                + ("" if moto_server else " (AWS_ENDPOINT_URL_DYNAMODB is set; unset it to use the embedded one)")
            )
        token = admin.create_token(1, 1, PERMISSIONS)
        server = create_local_server(config.chalice_app, config, host, port)
        server.server.RequestHandlerClass = _with_app(_gateway_handler(), config)
        base = f"http://{host}:{port}/api/v1/accounts/1/temporary_enrollment_pairings"
        print(
            f"DynamoDB: {endpoint}{' (embedded moto server)' if moto_server else ''}\n"
            f"Account 1 is ready. A token for user 1 with all three permissions:\n\n"
            f"  export TOKEN={token}\n\n"
            f"Try:\n\n"
            f'  curl -i -X POST -H "Authorization: Bearer $TOKEN" -d ending_enrollment_state=completed {base}\n'
            f'  curl -i -H "Authorization: Bearer $TOKEN" {base}\n\n'
            f"Press Ctrl-C to stop.",
            flush=True,
        )
        server.serve_forever()  # prints "Serving on http://127.0.0.1:PORT"
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
    finally:
        if moto_server is not None:
            moto_server.stop()
    return 0


def _with_app(handler_cls: Any, config: Any) -> Any:
    import functools

    return functools.partial(handler_cls, app_object=config.chalice_app, config=config)


if __name__ == "__main__":
    sys.exit(main())
