"""All DynamoDB access: pairings, accounts, tokens, id claims and idempotency records.

Every function here costs a known number of DynamoDB requests (noted in its docstring),
and turns botocore failures into domain errors: throttling, DynamoDB 5xx and connection
failures that outlast botocore's own retries become ``ServiceUnavailable`` (503).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

from botocore.exceptions import BotoCoreError
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, ServiceUnavailable
from chalicelib.models import (
    DIRECTORY_TTL_ATTRIBUTE,
    AccountModel,
    DirectoryModel,
    IdempotencyModel,
    PairingIdClaimModel,
    PairingModel,
    TokenModel,
)
from chalicelib.schemas import PairingPublic

# Error codes that mean "DynamoDB is overloaded or failing", not "your request is wrong".
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_CONDITION_FAILED = "ConditionalCheckFailedException"
# Cancellation reasons of a transaction that say "try again later".
_CANCELLED_UNAVAILABLE = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
IN_FLIGHT, DONE = "in_flight", "done"


class IdCollision(Exception):
    """The pairing id drawn for a create is already claimed; draw another."""


class ConditionFailed(Exception):
    """A conditional write found the item in another state than it required."""


@contextlib.contextmanager
def _dynamodb_errors() -> Iterator[None]:
    """Translate exhausted-retry and connection failures into ``ServiceUnavailable``."""
    try:
        yield
    except PynamoDBException as exc:
        if isinstance(exc.cause, BotoCoreError) or exc.cause_response_code in _UNAVAILABLE_CODES:
            raise ServiceUnavailable() from exc
        raise
    except BotoCoreError as exc:
        raise ServiceUnavailable() from exc


def _condition_failed(exc: PynamoDBException) -> bool:
    return exc.cause_response_code == _CONDITION_FAILED


# --- pairings -----------------------------------------------------------------------------


def _to_public(item: PairingModel) -> PairingPublic:
    return PairingPublic.model_construct(
        id=item.id,
        root_account_id=item.account_id,
        workflow_state=item.workflow_state,
        ending_enrollment_state=item.ending_enrollment_state,
        created_by_id=item.created_by_id,
        deleted_by_id=item.deleted_by_id,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _to_item(pairing: PairingPublic) -> PairingModel:
    assert pairing.id is not None
    active = pairing.workflow_state == "active"
    return PairingModel(
        pairing.root_account_id,
        pairing.id,
        workflow_state=pairing.workflow_state,
        ending_enrollment_state=pairing.ending_enrollment_state,
        created_by_id=pairing.created_by_id,
        deleted_by_id=pairing.deleted_by_id,
        created_at=pairing.created_at,
        updated_at=pairing.updated_at,
        active_id=pairing.id if active else None,
        deleted_id=None if active else pairing.id,
    )


def get_pairing(account_id: int, pairing_id: int) -> Optional[PairingPublic]:
    """One consistent GetItem."""
    with _dynamodb_errors():
        try:
            item = PairingModel.get(account_id, pairing_id, consistent_read=True)
        except PairingModel.DoesNotExist:
            return None
    return _to_public(item)


def list_pairings(
    account_id: int, states: frozenset[str], after_id: int, limit: int
) -> tuple[list[PairingPublic], bool]:
    """Up to ``limit`` pairings with ids above ``after_id``, oldest first, and whether more
    follow. One consistent Query of ``limit + 1`` items from the index holding exactly the
    requested states, so deleted pairings never cost an active page a read."""
    if states == {"active"}:
        results = PairingModel.active_pairings.query(
            account_id, PairingModel.active_id > after_id,
            limit=limit + 1, page_size=limit + 1, consistent_read=True,
        )
    elif states == {"deleted"}:
        results = PairingModel.deleted_pairings.query(
            account_id, PairingModel.deleted_id > after_id,
            limit=limit + 1, page_size=limit + 1, consistent_read=True,
        )
    else:
        results = PairingModel.query(
            account_id, PairingModel.id > after_id,
            limit=limit + 1, page_size=limit + 1, consistent_read=True,
        )
    with _dynamodb_errors():
        items = [_to_public(item) for item in results]
    return items[:limit], len(items) > limit


@dataclass(frozen=True)
class IdempotentWrite:
    """The response to remember with a create, and the lease that allows writing it."""

    key: str
    owner: str
    status: int
    body: str
    location: str


def create_pairing(pairing: PairingPublic, remember: Optional[IdempotentWrite] = None) -> None:
    """One TransactWriteItems: the pairing, the service-wide claim on its id and, with an
    ``Idempotency-Key``, the remembered response. Raises ``IdCollision`` when the id is
    taken, ``Conflict`` when the idempotency lease was lost to another attempt."""
    assert pairing.id is not None
    connection = PairingModel._get_connection().connection
    with _dynamodb_errors():
        try:
            with TransactWrite(connection=connection) as transaction:
                transaction.save(_to_item(pairing), condition=PairingModel.id.does_not_exist())
                transaction.save(
                    PairingIdClaimModel(f"pairing_id#{pairing.id}", account_id=pairing.root_account_id),
                    condition=PairingIdClaimModel.pk.does_not_exist(),
                )
                if remember is not None:
                    transaction.update(
                        IdempotencyModel(remember.key),
                        actions=[
                            IdempotencyModel.state.set(DONE),
                            IdempotencyModel.status.set(remember.status),
                            IdempotencyModel.body.set(remember.body),
                            IdempotencyModel.location.set(remember.location),
                        ],
                        condition=(IdempotencyModel.state == IN_FLIGHT)
                        & (IdempotencyModel.owner == remember.owner),
                    )
        except TransactWriteError as exc:
            reasons = [reason.code if reason else None for reason in exc.cancellation_reasons]
            if "ConditionalCheckFailed" in reasons[:2]:
                raise IdCollision(pairing.id) from exc
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise Conflict("Another request with this Idempotency-Key took over.") from exc
            if set(reasons) & _CANCELLED_UNAVAILABLE:
                raise ServiceUnavailable() from exc
            raise


def soft_delete_pairing(
    account_id: int, pairing_id: int, user_id: int, now: int
) -> Optional[PairingPublic]:
    """Mark an active pairing deleted: one conditional UpdateItem. A pairing already
    deleted is returned unchanged (one more GetItem); ``None`` if there is none."""
    item = PairingModel(account_id, pairing_id)
    with _dynamodb_errors():
        try:
            item.update(
                actions=[
                    PairingModel.workflow_state.set("deleted"),
                    PairingModel.deleted_by_id.set(user_id),
                    PairingModel.updated_at.set(now),
                    PairingModel.deleted_id.set(pairing_id),
                    PairingModel.active_id.remove(),
                ],
                condition=PairingModel.workflow_state == "active",
            )
        except PynamoDBException as exc:
            if not _condition_failed(exc):
                raise
            return get_pairing(account_id, pairing_id)
    return _to_public(item)


# --- idempotency --------------------------------------------------------------------------


@dataclass(frozen=True)
class RememberedResponse:
    """What an earlier attempt with the same key left behind."""

    state: str
    fingerprint: str
    status: Optional[int]
    body: Optional[str]
    location: Optional[str]


def begin_idempotent(
    key: str, owner: str, fingerprint: str, now: int, lease_seconds: int, keep_seconds: int
) -> Optional[RememberedResponse]:
    """Take the in-flight lease on ``key`` (one conditional PutItem) and return ``None``, or
    return the record that holds it (one more consistent GetItem)."""
    record = IdempotencyModel(
        key, state=IN_FLIGHT, owner=owner, fingerprint=fingerprint,
        lease_until=now + lease_seconds, purge_at=now + keep_seconds,
    )
    free = (
        IdempotencyModel.pk.does_not_exist()
        | (IdempotencyModel.purge_at < now)
        | ((IdempotencyModel.state == IN_FLIGHT) & (IdempotencyModel.lease_until < now))
    )
    with _dynamodb_errors():
        for _ in range(3):
            try:
                record.save(condition=free)
                return None
            except PynamoDBException as exc:
                if not _condition_failed(exc):
                    raise
            try:
                held = IdempotencyModel.get(key, consistent_read=True)
            except IdempotencyModel.DoesNotExist:
                continue  # released between our two requests: try to take it again
            return RememberedResponse(held.state, held.fingerprint, held.status, held.body, held.location)
    raise Conflict("A request with this Idempotency-Key is in progress.")


def release_idempotent(key: str, owner: str) -> None:
    """Forget a failed attempt so that its retry runs afresh. Conditional on the record
    still being our in-flight lease: if the create did commit (say the connection broke
    after DynamoDB applied it), the record is ``done`` and stays."""
    with _dynamodb_errors():
        try:
            IdempotencyModel(key).delete(
                condition=(IdempotencyModel.state == IN_FLIGHT) & (IdempotencyModel.owner == owner)
            )
        except PynamoDBException as exc:
            if not _condition_failed(exc):
                raise


# --- accounts and tokens ------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A root account as the API sees it."""

    id: int
    name: Optional[str]
    workflow_state: str
    temporary_enrollments: bool


@dataclass(frozen=True)
class TokenRecord:
    """A stored token: only its hash is kept."""

    account_id: int
    user_id: int
    permissions: frozenset[str]
    scopes: Optional[frozenset[str]]
    expires_at: Optional[int]
    revoked_at: Optional[int]


def _account_key(account_id: int) -> str:
    return f"account#{account_id}"


def _token_key(token_hash: str) -> str:
    return f"token#{token_hash}"


def get_account(account_id: int) -> Optional[Account]:
    """One consistent GetItem."""
    with _dynamodb_errors():
        try:
            item = AccountModel.get(_account_key(account_id), consistent_read=True)
        except AccountModel.DoesNotExist:
            return None
    return Account(item.account_id, item.name, item.workflow_state, bool(item.temporary_enrollments))


def put_account(account: Account) -> None:
    """Create or replace an account (one PutItem)."""
    with _dynamodb_errors():
        AccountModel(
            _account_key(account.id), account_id=account.id, name=account.name,
            workflow_state=account.workflow_state,
            temporary_enrollments=account.temporary_enrollments,
        ).save()


def set_account_feature(account_id: int, enabled: bool) -> bool:
    """Turn the ``temporary_enrollments`` feature on or off; ``False`` if no such account."""
    with _dynamodb_errors():
        try:
            AccountModel(_account_key(account_id)).update(
                actions=[AccountModel.temporary_enrollments.set(enabled)],
                condition=AccountModel.pk.exists(),
            )
        except PynamoDBException as exc:
            if _condition_failed(exc):
                return False
            raise
    return True


def get_token(token_hash: str) -> Optional[TokenRecord]:
    """One consistent GetItem."""
    with _dynamodb_errors():
        try:
            item = TokenModel.get(_token_key(token_hash), consistent_read=True)
        except TokenModel.DoesNotExist:
            return None
    return TokenRecord(
        account_id=item.account_id, user_id=item.user_id,
        permissions=frozenset(item.permissions or ()),
        scopes=frozenset(item.scopes) if item.scopes else None,
        expires_at=item.expires_at, revoked_at=item.revoked_at,
    )


def put_token(token_hash: str, record: TokenRecord, now: int) -> None:
    """Store a new token's hash (one conditional PutItem)."""
    with _dynamodb_errors():
        TokenModel(
            _token_key(token_hash), account_id=record.account_id, user_id=record.user_id,
            permissions=set(record.permissions) or None,
            scopes=set(record.scopes) if record.scopes else None,
            created_at=now, expires_at=record.expires_at, revoked_at=None,
        ).save(condition=TokenModel.pk.does_not_exist())


def revoke_token(token_hash: str, now: int) -> bool:
    """Mark a token revoked, keeping the first revocation time; ``False`` if unknown."""
    with _dynamodb_errors():
        try:
            TokenModel(_token_key(token_hash)).update(
                actions=[TokenModel.revoked_at.set(TokenModel.revoked_at | now)],
                condition=TokenModel.pk.exists(),
            )
        except PynamoDBException as exc:
            if _condition_failed(exc):
                return False
            raise
    return True


# --- tables -------------------------------------------------------------------------------


def create_tables() -> None:
    """Create both tables if missing (local development and tests; CDK does it in AWS)."""
    with _dynamodb_errors():
        if not PairingModel.exists():
            PairingModel.create_table(wait=True)
        if not DirectoryModel.exists():
            DirectoryModel.create_table(wait=True)
            DirectoryModel._get_connection().connection.client.update_time_to_live(
                TableName=DirectoryModel.Meta.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": DIRECTORY_TTL_ATTRIBUTE},
            )
