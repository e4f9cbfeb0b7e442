"""Bearer tokens: minting, hashing, and the authentication and authorization checks.

Tokens are 256 random bits; only their SHA-256 is stored (a slow hash buys nothing for
secrets this long). A warm process keeps what it read of tokens and accounts for at most
``AUTH_CACHE_SECONDS`` (60 s), so revocation and feature changes reach every process within
that time while a busy process reads neither on every request. Expiry is checked against
the clock on every request, so it is exact.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Generic, Hashable, Optional, TypeVar

from chalicelib import repository
from chalicelib.config import get_settings
from chalicelib.errors import Forbidden, InsufficientScopes, NotFound, Unauthenticated
from chalicelib.repository import Account, TokenRecord

ADD = "temporary_enrollments_add"
EDIT = "temporary_enrollments_edit"
DELETE = "temporary_enrollments_delete"
PERMISSIONS: tuple[str, ...] = (ADD, EDIT, DELETE)

_BEARER = re.compile(r"\ABearer +([A-Za-z0-9._~+/=-]+) *\Z", re.IGNORECASE)
_ACCOUNT_ID = re.compile(r"\A[0-9]{1,19}\Z")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


TOKEN_PREFIX = "tep_"


def generate_token() -> str:
    """A new opaque token: 256 random bits, URL-safe. The prefix lets secret scanners spot a
    leaked token, and keeps a token from starting with "-" (which command lines would take
    for an option)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The only form in which a token is stored or used as a cache key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's account and user, and what the token allows."""

    account_id: int
    user_id: int
    permissions: frozenset[str]


@dataclass(frozen=True)
class Endpoint:
    """What an endpoint requires: its Canvas scope and the permissions that allow it."""

    name: str
    method: str
    path: str  # Canvas's form, e.g. /api/v1/accounts/:account_id/temporary_enrollment_pairings
    permissions: frozenset[str]

    @property
    def scope(self) -> str:
        return f"url:{self.method}|{self.path}"


class TtlCache(Generic[K, V]):
    """A small thread-safe LRU whose entries expire ``ttl`` seconds after they were loaded.
    Misses are cached too (as ``None``), so unknown tokens do not cost a read each time."""

    def __init__(self, ttl: float, clock: Callable[[], float], max_entries: int = 4096) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, Optional[V]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[K], Optional[V]]) -> Optional[V]:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                return entry[1]
        value = load(key)
        with self._lock:
            self._entries[key] = (now + self._ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Authenticator:
    """Runs the contract's checks in their order, reading through the per-process caches."""

    def __init__(self, cache_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tokens: TtlCache[str, TokenRecord] = TtlCache(cache_seconds, clock)
        self._accounts: TtlCache[int, Account] = TtlCache(cache_seconds, clock)

    def clear(self) -> None:
        self._tokens.clear()
        self._accounts.clear()

    def authenticate(self, authorization: Optional[str], endpoint: Endpoint) -> Principal:
        """Checks 1 (a valid token) and 2 (scopes covering the endpoint)."""
        if not authorization or not authorization.strip():
            raise Unauthenticated("user authorization required", missing=True)
        match = _BEARER.match(authorization)
        if match is None:
            raise Unauthenticated("Invalid access token.")
        record = self._tokens.get(hash_token(match.group(1)), repository.get_token)
        if record is None:
            raise Unauthenticated("Invalid access token.")
        if record.revoked_at is not None:
            raise Unauthenticated("Revoked access token.")
        if record.expires_at is not None and record.expires_at <= self._clock():
            raise Unauthenticated("Expired access token.")
        if record.scopes is not None and endpoint.scope not in record.scopes:
            raise InsufficientScopes()
        return Principal(record.account_id, record.user_id, record.permissions)

    def authorize(self, principal: Principal, path_account: str, endpoint: Endpoint) -> Account:
        """Checks 3 (the path names the token's account), 4 (the account exists, is active
        and has the feature on) and 5 (the token has one of the endpoint's permissions)."""
        if path_account == "self":
            account_id = principal.account_id
        elif _ACCOUNT_ID.match(path_account):
            account_id = int(path_account)
        else:
            raise NotFound()
        if account_id != principal.account_id:
            raise Forbidden()
        account = self._accounts.get(account_id, repository.get_account)
        if account is None or account.workflow_state != "active" or not account.temporary_enrollments:
            raise NotFound()
        if not endpoint.permissions & principal.permissions:
            raise Forbidden()
        return account


@lru_cache(maxsize=1)
def get_authenticator() -> Authenticator:
    """The process's authenticator: one per warm Lambda, so its caches outlive requests."""
    return Authenticator(get_settings().auth_cache_seconds)
