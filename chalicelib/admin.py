"""Admin command: manage accounts and tokens wherever the app's DynamoDB is.

    python -m chalicelib.admin account create --id 2 [--name NAME] [--feature-off]
    python -m chalicelib.admin account feature --id 2 --on|--off
    python -m chalicelib.admin token create --account 2 --user 7 --permission P [...]
        [--scope 'url:GET|/api/v1/…' ...] [--expires-in SECONDS]
    python -m chalicelib.admin token revoke TOKEN

It reads the same settings as the app (PAIRINGS_TABLE, DIRECTORY_TABLE, the AWS region)
and honours AWS_ENDPOINT_URL_DYNAMODB. ``token create`` prints the token and nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Optional, Sequence

from chalicelib.config import ConfigurationError, get_settings

if __name__ == "__main__":
    # The models read their table names on import: say what is missing, not a traceback.
    try:
        get_settings()
    except ConfigurationError as missing:
        sys.exit(f"error: {missing}")

from chalicelib import repository  # noqa: E402
from chalicelib.auth import PERMISSIONS, generate_token, hash_token  # noqa: E402
from chalicelib.errors import ServiceUnavailable  # noqa: E402
from chalicelib.repository import Account, TokenRecord  # noqa: E402


class AdminError(Exception):
    """A request the admin command refuses, with the reason to show the operator."""


def create_account(
    account_id: int, name: Optional[str] = None, feature: bool = True, replace: bool = False
) -> Account:
    """Create an active account; an existing one is kept unless ``replace`` is set."""
    account = Account(account_id, name, "active", feature)
    if not repository.put_account(account, replace=replace):
        raise AdminError(
            f"account {account_id} exists; change its feature with `account feature`, "
            "or pass --replace to overwrite it"
        )
    return account


def ensure_account(account_id: int, name: str) -> None:
    """Make sure the account exists with the feature on (``make run``'s account 1), keeping
    an existing account's other settings."""
    if not repository.put_account(Account(account_id, name, "active", True)):
        repository.set_account_feature(account_id, True)


def create_token(
    account_id: int,
    user_id: int,
    permissions: Sequence[str],
    scopes: Sequence[str] = (),
    expires_in: Optional[int] = None,
    clock: Callable[[], float] = time.time,
) -> str:
    """Mint a token, store its hash, and return the token (shown once, never stored)."""
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown:
        raise AdminError(f"unknown permission(s): {', '.join(sorted(unknown))}")
    if repository.get_account(account_id) is None:
        raise AdminError(f"no account {account_id}: create it first")
    now = int(clock())
    token = generate_token()
    record = TokenRecord(
        account_id=account_id, user_id=user_id, permissions=frozenset(permissions),
        scopes=frozenset(scopes) or None,
        expires_at=None if expires_in is None else now + expires_in, revoked_at=None,
    )
    repository.put_token(hash_token(token), record, now)
    return token


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.admin", description=__doc__.splitlines()[0])
    kinds = parser.add_subparsers(dest="kind", required=True)

    account = kinds.add_parser("account", help="manage root accounts").add_subparsers(dest="action", required=True)
    create = account.add_parser("create", help="create (or replace) an account")
    create.add_argument("--id", type=_positive, required=True)
    create.add_argument("--name")
    create.add_argument("--feature-off", action="store_true", help="create with temporary_enrollments off")
    create.add_argument("--replace", action="store_true", help="overwrite an existing account")
    feature = account.add_parser("feature", help="turn the temporary_enrollments feature on or off")
    feature.add_argument("--id", type=_positive, required=True)
    switch = feature.add_mutually_exclusive_group(required=True)
    switch.add_argument("--on", dest="enabled", action="store_true")
    switch.add_argument("--off", dest="enabled", action="store_false")

    token = kinds.add_parser("token", help="manage access tokens").add_subparsers(dest="action", required=True)
    mint = token.add_parser("create", help="mint a token and print it")
    mint.add_argument("--account", type=_positive, required=True)
    mint.add_argument("--user", type=_positive, required=True)
    mint.add_argument("--permission", action="append", choices=PERMISSIONS, default=[])
    mint.add_argument("--scope", action="append", default=[])
    mint.add_argument("--expires-in", type=_positive, metavar="SECONDS")
    revoke = token.add_parser("revoke", help="revoke a token")
    revoke.add_argument("token")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ServiceUnavailable:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        where = f"at {endpoint} (AWS_ENDPOINT_URL_DYNAMODB)" if endpoint else "in the configured AWS region"
        print(f"error: cannot reach DynamoDB {where}, or it keeps throttling", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    if (args.kind, args.action) == ("account", "create"):
        create_account(args.id, args.name, not args.feature_off, args.replace)
        print(f"account {args.id} {'replaced' if args.replace else 'created'}", file=sys.stderr)
    elif (args.kind, args.action) == ("account", "feature"):
        if not repository.set_account_feature(args.id, args.enabled):
            raise AdminError(f"no account {args.id}")
        print(f"account {args.id}: temporary_enrollments {'on' if args.enabled else 'off'}", file=sys.stderr)
    elif (args.kind, args.action) == ("token", "create"):
        print(create_token(args.account, args.user, args.permission, args.scope, args.expires_in))
    else:
        if not repository.revoke_token(hash_token(args.token), int(time.time())):
            raise AdminError("no such token")
        print("token revoked (running processes notice within AUTH_CACHE_SECONDS, 60 s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
