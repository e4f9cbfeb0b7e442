"""All DynamoDB access: pairings, accounts, tokens, id claims and idempotency records.

Every function here costs a known number of DynamoDB requests (noted in its docstring),
and turns botocore failures into domain errors: throttling, DynamoDB 5xx and connection
failures that outlast botocore's own retries become ``ServiceUnavailable`` (503).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.constants import ALL_NEW, UPDATE_ITEM
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
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


@contextlib.contextmanager
def _dynamodb_errors() -> Iterator[None]:
    """Translate exhausted-retry and connection failures into ``ServiceUnavailable``."""
    try:
        yield
    except PynamoDBException as exc:
        if isinstance(exc.cause, BotoCoreError) or (
            isinstance(exc.cause, ClientError) and _unavailable(exc.cause)
        ):
            raise ServiceUnavailable() from exc
        raise
    except ClientError as exc:  # requests sent with Connection.dispatch, unwrapped
        if _unavailable(exc):
            raise ServiceUnavailable() from exc
        raise
    except BotoCoreError as exc:
        raise ServiceUnavailable() from exc


def _unavailable(error: ClientError) -> bool:
    """Throttling, or any 5xx that outlasted botocore's retries (whatever its error code)."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    # PynamoDB keeps only the error of a failed call, not its HTTP status; a 5xx without a
    # DynamoDB error code (an HTML page from a proxy, say) comes back coded by its status.
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or (int(code) if code.isdigit() else 0)
    return code in _UNAVAILABLE_CODES or status >= 500


def _condition_failed(exc: PynamoDBException) -> bool:
    return exc.cause_response_code == _CONDITION_FAILED


# --- pairings -----------------------------------------------------------------------------


# Stored attribute names, from the model (the one place that defines them).
_ACCOUNT_ID = PairingModel.account_id.attr_name
_ID = PairingModel.id.attr_name
_WORKFLOW_STATE = PairingModel.workflow_state.attr_name
_ENDING_STATE = PairingModel.ending_enrollment_state.attr_name
_CREATED_BY_ID = PairingModel.created_by_id.attr_name
_DELETED_BY_ID = PairingModel.deleted_by_id.attr_name
_CREATED_AT = PairingModel.created_at.attr_name
_UPDATED_AT = PairingModel.updated_at.attr_name
_ACTIVE_ID = PairingModel.active_id.attr_name
_DELETED_ID = PairingModel.deleted_id.attr_name


def _number(item: Mapping[str, Mapping[str, Any]], name: str) -> Optional[int]:
    value = item.get(name)
    return None if value is None or "N" not in value else int(value["N"])


def _from_raw(item: Mapping[str, Mapping[str, Any]]) -> PairingPublic:
    """A stored pairing (DynamoDB JSON, as botocore returns it) as the API shows it.

    Pairings are read through PynamoDB's table connection, which builds the requests from
    the model, but decoded here rather than into model instances: PynamoDB parses every
    number with ``json.loads`` and sets each attribute through a descriptor, about 14 µs an
    item, which made a page of 100 cost twice the baseline. Every number we store is an
    integer; validating construction is cheaper than ``model_construct`` (pydantic-core)."""
    return PairingPublic(
        id=int(item[_ID]["N"]),
        root_account_id=int(item[_ACCOUNT_ID]["N"]),
        workflow_state=item[_WORKFLOW_STATE]["S"],
        ending_enrollment_state=item[_ENDING_STATE]["S"],
        created_by_id=_number(item, _CREATED_BY_ID),
        deleted_by_id=_number(item, _DELETED_BY_ID),
        created_at=_number(item, _CREATED_AT),
        updated_at=_number(item, _UPDATED_AT),
    )


def _condition(condition: Condition) -> dict[str, Any]:
    """A PynamoDB condition as request parameters, serialized once (at import)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    expression = condition.serialize(names, values)
    parameters: dict[str, Any] = {
        "ConditionExpression": expression,
        "ExpressionAttributeNames": {placeholder: name for name, placeholder in names.items()},
    }
    if values:
        parameters["ExpressionAttributeValues"] = values
    return parameters


_PAIRING_IS_NEW = _condition(PairingModel.id.does_not_exist())
_CLAIM_IS_NEW = _condition(PairingIdClaimModel.pk.does_not_exist())
_CLAIM_KEY = PairingIdClaimModel.pk.attr_name
_CLAIM_ACCOUNT_ID = PairingIdClaimModel.account_id.attr_name
_CLAIM_ATTEMPT = PairingIdClaimModel.attempt.attr_name


def _pairing_put(pairing: PairingPublic) -> dict[str, Any]:
    """The Put of a new pairing, exactly as ``TransactWrite.save`` of the PynamoDB model
    would send it (tests/test_performance.py compares the two), built directly: PynamoDB
    took about 60 µs to build a model and serialize it, a sixth of a whole create."""
    assert pairing.id is not None
    pairing_id = str(pairing.id)
    item: dict[str, Any] = {
        _ACCOUNT_ID: {"N": str(pairing.root_account_id)},
        _ID: {"N": pairing_id},
        _WORKFLOW_STATE: {"S": pairing.workflow_state},
        _ENDING_STATE: {"S": pairing.ending_enrollment_state},
    }
    for name, value in (
        (_CREATED_BY_ID, pairing.created_by_id),
        (_DELETED_BY_ID, pairing.deleted_by_id),
        (_CREATED_AT, pairing.created_at),
        (_UPDATED_AT, pairing.updated_at),
    ):
        if value is not None:  # PynamoDB leaves null attributes out of the item
            item[name] = {"N": str(value)}
    # The one sparse-index key that places the pairing in the index of its state.
    item[_ACTIVE_ID if pairing.workflow_state == "active" else _DELETED_ID] = {"N": pairing_id}
    return {"TableName": PairingModel.Meta.table_name, "Item": item, **_PAIRING_IS_NEW}


def _claim_put(pairing: PairingPublic, attempt: str) -> dict[str, Any]:
    """The Put of the service-wide claim on a pairing's id (see ``_pairing_put``)."""
    assert pairing.id is not None
    item = {
        _CLAIM_KEY: {"S": _claim_key(pairing.id)},
        _CLAIM_ACCOUNT_ID: {"N": str(pairing.root_account_id)},
        _CLAIM_ATTEMPT: {"S": attempt},
    }
    return {"TableName": PairingIdClaimModel.Meta.table_name, "Item": item, **_CLAIM_IS_NEW}


class _CreateTransaction(TransactWrite):
    """PynamoDB's TransactWrite (its request, its errors, its cancellation reasons), which
    also takes Puts already built (``_pairing_put``, ``_claim_put``). PynamoDB 6.1 keeps
    the Puts of a transaction in ``_put_items`` and sends them in the order added, after
    any condition checks and deletes and before any updates."""

    def put(self, operation: dict[str, Any]) -> None:
        self._put_items.append(operation)


def get_pairing(account_id: int, pairing_id: int) -> Optional[PairingPublic]:
    """One consistent GetItem."""
    with _dynamodb_errors():
        data = PairingModel._get_connection().get_item(str(account_id), str(pairing_id), consistent_read=True)
    item = data.get("Item")
    return None if item is None else _from_raw(item)


def list_pairings(
    account_id: int, states: frozenset[str], after_id: int, limit: int
) -> tuple[list[PairingPublic], bool]:
    """Up to ``limit`` pairings with ids above ``after_id``, oldest first, and whether more
    follow. One consistent Query of ``limit + 1`` items from the index holding exactly the
    requested states, so deleted pairings never cost an active page a read."""
    if states == {"active"}:
        index, condition = PairingModel.active_pairings.Meta.index_name, PairingModel.active_id > after_id
    elif states == {"deleted"}:
        index, condition = PairingModel.deleted_pairings.Meta.index_name, PairingModel.deleted_id > after_id
    else:
        index, condition = None, PairingModel.id > after_id
    with _dynamodb_errors():
        data = PairingModel._get_connection().query(
            str(account_id), condition, index_name=index, limit=limit + 1, consistent_read=True,
        )
    # A Query stops at Limit items or 1 MB: a page of 101 pairings is far below 1 MB.
    items = [_from_raw(item) for item in data.get("Items", ())]
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
    taken, ``Conflict`` when the idempotency lease was lost to another attempt.

    botocore retries a write whose answer was lost (a timeout after DynamoDB applied it).
    The ClientRequestToken makes DynamoDB accept such a retry as the same write; where a
    retry still finds its own items (after the token's 10 minutes, or on a backend that
    ignores tokens), the claim's ``attempt`` shows that the write was ours, not a collision.
    """
    assert pairing.id is not None
    attempt = uuid.uuid4().hex
    connection = PairingModel._get_connection().connection
    with _dynamodb_errors():
        try:
            with _CreateTransaction(connection=connection, client_request_token=attempt) as transaction:
                transaction.put(_pairing_put(pairing))
                transaction.put(_claim_put(pairing, attempt))
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
            if "ConditionalCheckFailed" in reasons and _claimed_by(pairing.id, attempt):
                return  # our own write, applied before its answer was lost
            if "ConditionalCheckFailed" in reasons[:2]:
                raise IdCollision(pairing.id) from exc
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise Conflict("Another request with this Idempotency-Key took over.") from exc
            if set(reasons) & _CANCELLED_UNAVAILABLE:
                raise ServiceUnavailable() from exc
            raise


def _claim_key(pairing_id: int) -> str:
    return f"pairing_id#{pairing_id}"


def _claimed_by(pairing_id: int, attempt: str) -> bool:
    """Whether the id's claim was written by this create attempt (one consistent GetItem)."""
    try:
        claim = PairingIdClaimModel.get(_claim_key(pairing_id), consistent_read=True)
    except PairingIdClaimModel.DoesNotExist:
        return False
    return claim.attempt == attempt


def soft_delete_pairing(
    account_id: int, pairing_id: int, user_id: int, now: int
) -> Optional[PairingPublic]:
    """Mark an active pairing deleted: one conditional UpdateItem. A pairing already
    deleted is returned unchanged (one more GetItem); ``None`` if there is none."""
    # Written out rather than built from PynamoDB actions, which cost about 45 µs a request
    # (a tenth of a delete); it still goes through PynamoDB's connection (its settings, its
    # signals). tests/test_repository.py checks its effect on the item and the indexes.
    request = {
        "TableName": PairingModel.Meta.table_name,
        "Key": {_ACCOUNT_ID: {"N": str(account_id)}, _ID: {"N": str(pairing_id)}},
        "ConditionExpression": "#state = :active",
        "UpdateExpression": "SET #state = :deleted, #by = :user, #at = :now, #deleted = :id REMOVE #active",
        "ExpressionAttributeNames": {
            "#state": _WORKFLOW_STATE, "#by": _DELETED_BY_ID, "#at": _UPDATED_AT,
            "#deleted": _DELETED_ID, "#active": _ACTIVE_ID,
        },
        "ExpressionAttributeValues": {
            ":active": {"S": "active"}, ":deleted": {"S": "deleted"}, ":user": {"N": str(user_id)},
            ":now": {"N": str(now)}, ":id": {"N": str(pairing_id)},
        },
        "ReturnValues": ALL_NEW,
    }
    with _dynamodb_errors():
        try:
            data = PairingModel._get_connection().connection.dispatch(UPDATE_ITEM, request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            return get_pairing(account_id, pairing_id)
    return _from_raw(data["Attributes"])


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


_Item = TypeVar("_Item", bound=DirectoryModel)


def _get_directory_item(model: type[_Item], key: str) -> Optional[_Item]:
    """One consistent GetItem; ``None`` when there is no such item."""
    with _dynamodb_errors():
        try:
            return model.get(key, consistent_read=True)
        except model.DoesNotExist:
            return None


def _update_existing(item: DirectoryModel, actions: list[Any]) -> bool:
    """One UpdateItem conditional on the item existing; ``False`` when it does not."""
    with _dynamodb_errors():
        try:
            item.update(actions=actions, condition=DirectoryModel.pk.exists())
        except PynamoDBException as exc:
            if _condition_failed(exc):
                return False
            raise
    return True


def get_account(account_id: int) -> Optional[Account]:
    """One consistent GetItem."""
    item = _get_directory_item(AccountModel, _account_key(account_id))
    if item is None:
        return None
    return Account(item.account_id, item.name, item.workflow_state, bool(item.temporary_enrollments))


def put_account(account: Account, replace: bool = False) -> bool:
    """Create an account (one conditional PutItem), or replace it when ``replace`` is set;
    ``False`` when it exists and may not be replaced."""
    item = AccountModel(
        _account_key(account.id), account_id=account.id, name=account.name,
        workflow_state=account.workflow_state,
        temporary_enrollments=account.temporary_enrollments,
    )
    with _dynamodb_errors():
        try:
            item.save(condition=None if replace else AccountModel.pk.does_not_exist())
        except PynamoDBException as exc:
            if _condition_failed(exc):
                return False
            raise
    return True


def set_account_feature(account_id: int, enabled: bool) -> bool:
    """Turn the ``temporary_enrollments`` feature on or off; ``False`` if no such account."""
    return _update_existing(
        AccountModel(_account_key(account_id)), [AccountModel.temporary_enrollments.set(enabled)]
    )


def get_token(token_hash: str) -> Optional[TokenRecord]:
    """One consistent GetItem."""
    item = _get_directory_item(TokenModel, _token_key(token_hash))
    if item is None:
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
    return _update_existing(
        TokenModel(_token_key(token_hash)), [TokenModel.revoked_at.set(TokenModel.revoked_at | now)]
    )


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
