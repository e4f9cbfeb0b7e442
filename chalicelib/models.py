"""PynamoDB models: the pairings table and the directory table (accounts, tokens, claims).

Two tables, both created by the CDK app in production and by ``repository.create_tables``
locally:

* ``pairings``: partition key ``account_id`` (the root account), sort key ``id``. Two sparse
  local secondary indexes hold only the active (``active_id``) or only the deleted
  (``deleted_id``) pairings, so a page of either kind is one consistent query however the
  account's pairings are split between the states.
* ``directory``: one string key ``pk`` with a prefix per item type: accounts, hashed tokens,
  pairing-id claims (which make ids unique across accounts) and idempotency records
  (which expire through the ``purge_at`` TTL attribute; tokens keep their ``expires_at``
  so that an expired token can still be told apart from an unknown one).

Every model talks to DynamoDB through one process-wide PynamoDB ``Connection``, so through
one botocore client. Left alone, PynamoDB gives each model class a connection of its own,
each with a botocore session and client of its own: a warm process that had served every
endpoint held four clients, and each one cost about 45 ms to create on its model's first
request and about 10 MiB that stayed (measured with ``make bench``). Nothing is created at
import: the connection and its client come with the first DynamoDB request.
"""

from __future__ import annotations

import threading
from typing import Optional

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import TableError
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import get_settings

_settings = get_settings()


class _Meta:
    """Connection settings shared by every model."""

    connect_timeout_seconds = _settings.dynamodb_connect_timeout
    read_timeout_seconds = _settings.dynamodb_read_timeout
    max_retry_attempts = _settings.dynamodb_max_retries
    billing_mode = "PAY_PER_REQUEST"


_shared: Optional[Connection] = None
_shared_lock = threading.Lock()


def shared_connection() -> Connection:
    """The process's one PynamoDB connection (its botocore client is made on first use)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = Connection(
                    connect_timeout_seconds=_Meta.connect_timeout_seconds,
                    read_timeout_seconds=_Meta.read_timeout_seconds,
                    max_retry_attempts=_Meta.max_retry_attempts,
                )
    return _shared


class _SharedConnectionModel(Model):
    """Makes every model's table connection run on ``shared_connection()``."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # PynamoDB builds (once per class) the table connection with the table's key schema;
        # only the Connection under it is swapped for the shared one, which learns the
        # schema of each table it serves. Per request this is two attribute checks.
        table_connection = super()._get_connection()
        shared = shared_connection()
        if table_connection.connection is not shared:
            with _shared_lock:
                try:
                    shared.get_meta_table(cls.Meta.table_name)
                except TableError:
                    shared.add_meta_table(table_connection.get_meta_table())
                table_connection.connection = shared
        return table_connection


class ActivePairingsIndex(LocalSecondaryIndex["PairingModel"]):
    """Sparse index of an account's active pairings, ordered by id."""

    class Meta:
        index_name = "active_pairings"
        projection = AllProjection()

    account_id = NumberAttribute(hash_key=True)
    active_id = NumberAttribute(range_key=True)


class DeletedPairingsIndex(LocalSecondaryIndex["PairingModel"]):
    """Sparse index of an account's deleted pairings, ordered by id."""

    class Meta:
        index_name = "deleted_pairings"
        projection = AllProjection()

    account_id = NumberAttribute(hash_key=True)
    deleted_id = NumberAttribute(range_key=True)


class PairingModel(_SharedConnectionModel):
    """One temporary enrollment pairing, stored under its root account."""

    class Meta(_Meta):
        table_name = _settings.pairings_table

    account_id = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    workflow_state = UnicodeAttribute()
    ending_enrollment_state = UnicodeAttribute()
    created_by_id = NumberAttribute(null=True)
    deleted_by_id = NumberAttribute(null=True)
    created_at = NumberAttribute()  # epoch seconds
    updated_at = NumberAttribute()  # epoch seconds
    # Exactly one of these is set (equal to ``id``): it places the item in one sparse index.
    active_id = NumberAttribute(null=True)
    deleted_id = NumberAttribute(null=True)

    active_pairings = ActivePairingsIndex()
    deleted_pairings = DeletedPairingsIndex()


class DirectoryModel(_SharedConnectionModel):
    """Base of the item types that share the directory table, keyed by a prefixed ``pk``."""

    class Meta(_Meta):
        table_name = _settings.directory_table

    pk = UnicodeAttribute(hash_key=True)


class AccountModel(DirectoryModel):
    """A root account: ``pk`` is ``account#<id>``."""

    account_id = NumberAttribute()
    name = UnicodeAttribute(null=True)
    workflow_state = UnicodeAttribute(default="active")
    temporary_enrollments = BooleanAttribute(default=True)  # the feature flag


class TokenModel(DirectoryModel):
    """An access token, stored only as ``token#<sha256 of the token>``."""

    account_id = NumberAttribute()
    user_id = NumberAttribute()
    permissions = UnicodeSetAttribute(default=set)
    scopes = UnicodeSetAttribute(null=True)
    created_at = NumberAttribute()
    expires_at = NumberAttribute(null=True)
    revoked_at = NumberAttribute(null=True)


class PairingIdClaimModel(DirectoryModel):
    """Proof that a pairing id is taken service-wide: ``pk`` is ``pairing_id#<id>``."""

    account_id = NumberAttribute()
    attempt = UnicodeAttribute(null=True)  # the create attempt that wrote it (see repository)


class IdempotencyModel(DirectoryModel):
    """A create remembered for its ``Idempotency-Key``: ``pk`` is ``idempotency#…``."""

    state = UnicodeAttribute()  # "in_flight" or "done"
    owner = UnicodeAttribute()  # nonce of the request holding the in-flight lease
    fingerprint = UnicodeAttribute()  # hash of the effective parameters
    lease_until = NumberAttribute()  # an in-flight record older than this is abandoned
    purge_at = NumberAttribute()  # DynamoDB TTL: 24 h after the first attempt
    status = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)


#: The name of the directory table's TTL attribute (the CDK app enables TTL on it).
DIRECTORY_TTL_ATTRIBUTE = "purge_at"
