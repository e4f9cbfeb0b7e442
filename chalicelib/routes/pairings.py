"""The five Temporary Enrollment Pairings endpoints. Each parses, calls one domain
function from ``service`` and renders; ``http.endpoint`` does the rest."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import service
from chalicelib.auth import ADD, DELETE, EDIT, Endpoint
from chalicelib.http import (
    Call,
    endpoint,
    json_response,
    method_not_allowed,
    methods_except,
    render_json,
)
from chalicelib.pagination import link_header, page_request
from chalicelib.schemas import PairingCreate, PairingPublic

pairings = Blueprint(__name__)

COLLECTION = "/api/v1/accounts/{account_id}/temporary_enrollment_pairings"
NEW = COLLECTION + "/new"
MEMBER = COLLECTION + "/{id}"
_CANVAS_COLLECTION = "/api/v1/accounts/:account_id/temporary_enrollment_pairings"
_ANY = frozenset({ADD, EDIT, DELETE})

LIST = Endpoint("list", "GET", _CANVAS_COLLECTION, _ANY)
SHOW = Endpoint("show", "GET", _CANVAS_COLLECTION + "/:id", _ANY)
NEW_ENDPOINT = Endpoint("new", "GET", _CANVAS_COLLECTION + "/new", _ANY)
CREATE = Endpoint("create", "POST", _CANVAS_COLLECTION, frozenset({ADD}))
DESTROY = Endpoint("delete", "DELETE", _CANVAS_COLLECTION + "/:id", frozenset({DELETE}))
ENDPOINTS = (LIST, SHOW, NEW_ENDPOINT, CREATE, DESTROY)

# Every method is routed so that a wrong one gets the contract's 405, not the gateway's 403.
# Bodies are parsed (and their type checked) by http.parse_body, hence content_types */*.
_ALL_TYPES = ["*/*"]


def _render(call: Call, pairing: PairingPublic) -> str:
    return render_json(pairing.model_dump(), call.wants_string_ids)


@pairings.route(COLLECTION, methods=["GET", "HEAD"], content_types=_ALL_TYPES)
@endpoint(pairings, LIST)
def list_pairings(call: Call) -> Response:
    states = service.workflow_states_filter(
        call.query_values("workflow_state[]") + call.query_values("workflow_state")
    )
    page = page_request(call.query_value("page"), call.query_value("per_page"))
    result = service.list_pairings(call.account, states, page)
    body = render_json([pairing.model_dump() for pairing in result.pairings], call.wants_string_ids)
    link = link_header(call.public_url(), call.query_items(), page, result.next_after)
    return json_response(body, headers={"Link": link})


@pairings.route(COLLECTION, methods=["POST"], content_types=_ALL_TYPES)
@endpoint(pairings, CREATE)
def create_pairing(call: Call) -> Response:
    query, body = (PairingCreate.present(source) for source in call.param_sources())
    PairingCreate.from_params(query)  # a bad value is a 400 even where the body overrides it
    params = PairingCreate.from_params({**query, **body})  # empty body values do not override

    def render(pairing: PairingPublic) -> tuple[str, str]:
        location = call.public_url(
            f"/api/v1/accounts/{pairing.root_account_id}/temporary_enrollment_pairings/{pairing.id}"
        )
        return _render(call, pairing), location

    created = service.create_pairing(
        call.account, call.principal, params, call.request.headers.get("idempotency-key"), render
    )
    return json_response(created.body, created.status, {"Location": created.location})


@pairings.route(NEW, methods=["GET", "HEAD"], content_types=_ALL_TYPES)
@endpoint(pairings, NEW_ENDPOINT)
def new_pairing(call: Call) -> Response:
    return json_response(_render(call, service.new_pairing(call.account)))


@pairings.route(MEMBER, methods=["GET", "HEAD"], content_types=_ALL_TYPES)
@endpoint(pairings, SHOW)
def show_pairing(call: Call, id: str) -> Response:
    return json_response(_render(call, service.show_pairing(call.account, id)))


@pairings.route(MEMBER, methods=["DELETE"], content_types=_ALL_TYPES)
@endpoint(pairings, DESTROY)
def delete_pairing(call: Call, id: str) -> Response:
    return json_response(_render(call, service.delete_pairing(call.account, call.principal, id)))


for _path, _allowed in (
    (COLLECTION, ("GET", "HEAD", "POST")),
    (NEW, ("GET", "HEAD")),
    (MEMBER, ("GET", "HEAD", "DELETE")),
):
    pairings.route(_path, methods=methods_except(_allowed), content_types=_ALL_TYPES,
                   name=f"not_allowed_{_path.rsplit('/', 1)[-1].strip('{}')}")(
        method_not_allowed(pairings, _allowed)
    )
