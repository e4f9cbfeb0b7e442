"""The admin command, run as ``python -m chalicelib.admin`` would run it."""

from __future__ import annotations

import pytest

from chalicelib import admin, repository
from chalicelib.auth import hash_token


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = admin.main(list(argv))
    except SystemExit as exit:  # argparse errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_account_create_and_feature_switch(capsys, account_id):
    assert run(capsys, "account", "create", "--id", str(account_id), "--name", "North")[0] == 0
    account = repository.get_account(account_id)
    assert account.name == "North" and account.temporary_enrollments and account.workflow_state == "active"
    assert run(capsys, "account", "feature", "--id", str(account_id), "--off")[0] == 0
    assert not repository.get_account(account_id).temporary_enrollments
    assert run(capsys, "account", "feature", "--id", str(account_id), "--on")[0] == 0
    assert repository.get_account(account_id).temporary_enrollments
    assert run(capsys, "account", "create", "--id", str(account_id + 1), "--feature-off")[0] == 0
    assert not repository.get_account(account_id + 1).temporary_enrollments


def test_feature_of_an_unknown_account_fails(capsys, account_id):
    code, _, err = run(capsys, "account", "feature", "--id", str(account_id + 5_000_000), "--on")
    assert code == 1 and "no account" in err


def test_token_create_prints_only_the_token_and_stores_only_its_hash(capsys, account):
    code, out, _ = run(
        capsys, "token", "create", "--account", str(account), "--user", "7",
        "--permission", "temporary_enrollments_add", "--permission", "temporary_enrollments_delete",
        "--scope", "url:GET|/api/v1/accounts/:account_id/temporary_enrollment_pairings", "--expires-in", "3600",
    )
    assert code == 0
    token = out.strip()
    assert out == token + "\n" and len(token) >= 43  # 256 bits, URL-safe base64
    record = repository.get_token(hash_token(token))
    assert record.account_id == account and record.user_id == 7
    assert record.permissions == {"temporary_enrollments_add", "temporary_enrollments_delete"}
    assert record.scopes == {"url:GET|/api/v1/accounts/:account_id/temporary_enrollment_pairings"}
    assert record.expires_at is not None and record.revoked_at is None


def test_tokens_are_unique(account):
    assert len({admin.create_token(account, 1, ["temporary_enrollments_add"]) for _ in range(20)}) == 20


@pytest.mark.parametrize("bad", [["--permission", "admin"], ["--user", "0"], ["--expires-in", "-5"]])
def test_token_create_rejects_bad_arguments(capsys, account, bad):
    args = ["token", "create", "--account", str(account), "--user", "1", "--permission", "temporary_enrollments_add"]
    code, out, _ = run(capsys, *args, *bad)
    assert code != 0 and out == ""


def test_token_for_an_unknown_account_fails(capsys, account_id):
    code, out, err = run(capsys, "token", "create", "--account", str(account_id + 5_000_000), "--user", "1")
    assert code == 1 and out == "" and "no account" in err


def test_token_revoke(capsys, token):
    assert run(capsys, "token", "revoke", token)[0] == 0
    first = repository.get_token(hash_token(token)).revoked_at
    assert first is not None
    assert run(capsys, "token", "revoke", token)[0] == 0
    assert repository.get_token(hash_token(token)).revoked_at == first  # first revocation kept
    code, _, err = run(capsys, "token", "revoke", "not-a-token")
    assert code == 1 and "not-a-token" not in err


def test_account_create_refuses_an_existing_account_unless_replace(capsys, account_id):
    assert run(capsys, "account", "create", "--id", str(account_id), "--name", "First")[0] == 0
    code, _, err = run(capsys, "account", "create", "--id", str(account_id), "--name", "Second", "--feature-off")
    assert code == 1 and "exists" in err
    assert repository.get_account(account_id).name == "First"
    code, _, err = run(capsys, "account", "create", "--id", str(account_id), "--name", "Second", "--replace")
    assert code == 0 and "replaced" in err
    assert repository.get_account(account_id).name == "Second"


def test_ensure_account_keeps_an_existing_account_and_turns_the_feature_on(account_id):
    admin.create_account(account_id, "Kept", feature=False)
    admin.ensure_account(account_id, "Local root account")
    account = repository.get_account(account_id)
    assert account.name == "Kept" and account.temporary_enrollments
    admin.ensure_account(account_id + 7_000_000, "New")
    assert repository.get_account(account_id + 7_000_000).name == "New"


def test_unreachable_dynamodb_is_one_line_not_a_traceback(capsys, account_id, monkeypatch):
    from chalicelib.errors import ServiceUnavailable

    def unavailable(*args, **kwargs):
        raise ServiceUnavailable()

    monkeypatch.setattr(repository, "put_account", unavailable)
    code, out, err = run(capsys, "account", "create", "--id", str(account_id))
    assert code == 1 and out == "" and err.startswith("error: cannot reach DynamoDB") and "Traceback" not in err
