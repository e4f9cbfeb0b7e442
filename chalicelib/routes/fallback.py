"""Unknown paths: the contract's 404 JSON, before any authentication.

Deployed, API Gateway would answer a path no resource matches with its own 403 ("Missing
Authentication Token"), and which gateway response applies changes when an Authorization
header is present; a greedy catch-all resource makes the answer ours in every case (more
specific resources still win). Locally, scripts/run_local.py answers the same way.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.errors import NotFound
from chalicelib.http import ROUTED_METHODS, error_response

fallback = Blueprint(__name__)

ALL_METHODS = list(ROUTED_METHODS)


@fallback.route("/", methods=ALL_METHODS, content_types=["*/*"], name="not_found_root")
@fallback.route("/{proxy+}", methods=ALL_METHODS, content_types=["*/*"])
def not_found(**_: str) -> Response:
    return error_response(NotFound())
