"""The domain operations behind the five endpoints, independent of HTTP."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

from chalicelib import repository
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, InFlight, InvalidParameter, NotFound
from chalicelib.ids import MAX_ID, created_at_of, new_pairing_id
from chalicelib.pagination import PageRequest
from chalicelib.repository import Account, IdempotentWrite, RememberedResponse
from chalicelib.schemas import WORKFLOW_STATES, PairingCreate, PairingPublic, inclusion_error

_PAIRING_ID = re.compile(r"\A[0-9]{1,19}\Z")
ID_ATTEMPTS = 5
IDEMPOTENCY_KEY_MAX = 255
# Longer than any Lambda run of a create (the deployed timeout is 20 s), and short, since a
# lease a crashed or throttled attempt could not release blocks retries until it lapses.
IDEMPOTENCY_LEASE_SECONDS = 30
IDEMPOTENCY_KEEP_SECONDS = 24 * 3600


def _pairing_id(text: str) -> int:
    """Ids are 1 to 19 digits; anything else, or beyond the id space, cannot exist."""
    if not _PAIRING_ID.match(text) or int(text) > MAX_ID:
        raise NotFound()
    return int(text)


def new_pairing(account: Account) -> PairingPublic:
    """An unsaved pairing with the defaults; no DynamoDB request."""
    return PairingPublic(
        id=None, root_account_id=account.id,
        workflow_state="active", ending_enrollment_state="deleted",
    )


def show_pairing(account: Account, pairing_id: str) -> PairingPublic:
    pairing = repository.get_pairing(account.id, _pairing_id(pairing_id))
    if pairing is None:
        raise NotFound()
    return pairing


def workflow_states_filter(values: list[str]) -> frozenset[str]:
    """``workflow_state[]`` (or ``workflow_state``) values; only active ones by default."""
    states = frozenset(value for value in values if value != "")
    if not states:
        return frozenset({"active"})
    if not states <= set(WORKFLOW_STATES):
        raise inclusion_error("workflow_state", WORKFLOW_STATES)
    return states


@dataclass(frozen=True)
class Page:
    """One page of pairings and the id the next page starts after (``None`` on the last)."""

    pairings: list[PairingPublic]
    next_after: Optional[int]


def list_pairings(account: Account, states: frozenset[str], page: PageRequest) -> Page:
    pairings, more = repository.list_pairings(account.id, states, page.after_id, page.per_page)
    return Page(pairings, pairings[-1].id if more and pairings else None)


@dataclass(frozen=True)
class Created:
    """The answer to a create: the first response, replayed when a key was reused."""

    status: int
    body: str
    location: str


def idempotency_record_key(account: Account, principal: Principal, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"idempotency#{account.id}#{principal.user_id}#{digest}"


def create_pairing(
    account: Account,
    principal: Principal,
    params: PairingCreate,
    idempotency_key: Optional[str],
    render: Callable[[PairingPublic], tuple[str, str]],
    clock: Callable[[], float] = time.time,
) -> Created:
    """Create a pairing (one transactional write), or replay the first response to a
    retried ``Idempotency-Key``. ``render`` gives a pairing's body and Location."""
    if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidParameter(
            "Idempotency-Key", f"Idempotency-Key must be at most {IDEMPOTENCY_KEY_MAX} characters",
            "too_long",
        )
    if not idempotency_key:
        return _create(account, principal, params, render, None, clock)

    record_key = idempotency_record_key(account, principal, idempotency_key)
    owner = uuid.uuid4().hex
    held = repository.begin_idempotent(
        record_key, owner, params.fingerprint(), int(clock()),
        IDEMPOTENCY_LEASE_SECONDS, IDEMPOTENCY_KEEP_SECONDS,
    )
    if held is not None:
        return _replay(held, params)
    try:
        return _create(account, principal, params, render, (record_key, owner), clock)
    except BaseException:
        repository.release_idempotent(record_key, owner)
        raise


def _replay(held: RememberedResponse, params: PairingCreate) -> Created:
    if held.fingerprint != params.fingerprint():
        raise Conflict("This Idempotency-Key was already used with different parameters.")
    if held.state != repository.DONE or held.status is None:
        raise InFlight("A request with this Idempotency-Key is still in progress.")
    return Created(held.status, held.body or "", held.location or "")


def _create(
    account: Account,
    principal: Principal,
    params: PairingCreate,
    render: Callable[[PairingPublic], tuple[str, str]],
    lease: Optional[tuple[str, str]],
    clock: Callable[[], float],
) -> Created:
    deleted = params.workflow_state == "deleted"
    for _ in range(ID_ATTEMPTS):
        pairing_id = new_pairing_id(clock)
        created_at = created_at_of(pairing_id)
        pairing = PairingPublic(
            id=pairing_id, root_account_id=account.id,
            workflow_state=params.workflow_state,
            ending_enrollment_state=params.ending_enrollment_state,
            created_by_id=principal.user_id,
            deleted_by_id=principal.user_id if deleted else None,
            created_at=created_at, updated_at=created_at,
        )
        body, location = render(pairing)
        remember = None if lease is None else IdempotentWrite(lease[0], lease[1], 201, body, location)
        try:
            repository.create_pairing(pairing, remember)
        except repository.IdCollision:
            continue
        return Created(201, body, location)
    raise RuntimeError(f"no free pairing id after {ID_ATTEMPTS} attempts")


def delete_pairing(account: Account, principal: Principal, pairing_id: str, clock: Callable[[], float] = time.time) -> PairingPublic:
    pairing = repository.soft_delete_pairing(
        account.id, _pairing_id(pairing_id), principal.user_id, int(clock())
    )
    if pairing is None:
        raise NotFound()
    return pairing
