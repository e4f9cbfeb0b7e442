"""DynamoDB access: conditional writes, id claims, idempotency records, sparse indexes."""

from __future__ import annotations

import time

import pytest

from chalicelib import repository, service
from chalicelib.auth import Principal
from chalicelib.models import PairingIdClaimModel, PairingModel
from chalicelib.schemas import PairingCreate, PairingPublic


def pairing(account_id: int, pairing_id: int, state: str = "active") -> PairingPublic:
    return PairingPublic(id=pairing_id, root_account_id=account_id, workflow_state=state,
                         ending_enrollment_state="deleted", created_by_id=1, created_at=0, updated_at=0)


def test_an_id_is_unique_across_accounts(account_id):
    repository.create_pairing(pairing(account_id, 77_000_001))
    with pytest.raises(repository.IdCollision):
        repository.create_pairing(pairing(account_id + 1, 77_000_001))
    assert repository.get_pairing(account_id + 1, 77_000_001) is None  # nothing half-written
    assert PairingIdClaimModel.get("pairing_id#77000001").account_id == account_id


def test_create_retries_a_collision_with_a_fresh_id(account_id, monkeypatch):
    repository.create_pairing(pairing(account_id, 88_000_001))
    drawn = iter([88_000_001, 88_000_001, 88_000_002])
    monkeypatch.setattr(service, "new_pairing_id", lambda clock: next(drawn))
    account = repository.Account(account_id, None, "active", True)
    created = service.create_pairing(account, Principal(account_id, 5, frozenset()), PairingCreate(), None,
                                     lambda p: ("{}", "loc"))
    assert created.status == 201
    assert repository.get_pairing(account_id, 88_000_002).created_by_id == 5


def test_sparse_indexes_hold_exactly_one_state(account_id):
    for n, state in enumerate(["active", "deleted", "active"], start=1):
        repository.create_pairing(pairing(account_id, 99_000_000 + n, state))
    repository.soft_delete_pairing(account_id, 99_000_001, 3, 10)
    active, _ = repository.list_pairings(account_id, frozenset({"active"}), 0, 10)
    deleted, _ = repository.list_pairings(account_id, frozenset({"deleted"}), 0, 10)
    assert [p.id for p in active] == [99_000_003]
    assert [p.id for p in deleted] == [99_000_001, 99_000_002]
    raw = PairingModel.get(account_id, 99_000_001)
    assert raw.active_id is None and raw.deleted_id == 99_000_001


def test_soft_delete_of_a_deleted_pairing_keeps_it(account_id):
    repository.create_pairing(pairing(account_id, 66_000_001))
    first = repository.soft_delete_pairing(account_id, 66_000_001, 3, 10)
    second = repository.soft_delete_pairing(account_id, 66_000_001, 4, 20)
    assert first == second and second.deleted_by_id == 3 and second.updated_at == 10
    assert repository.soft_delete_pairing(account_id, 66_000_999, 4, 20) is None


def test_idempotency_records_expire_after_24_hours(account_id):
    account = repository.Account(account_id, None, "active", True)
    principal = Principal(account_id, 5, frozenset())
    now = time.time()
    first = service.create_pairing(account, principal, PairingCreate(), "day", lambda p: (str(p.id), "l"), clock=lambda: now)
    replay = service.create_pairing(account, principal, PairingCreate(), "day", lambda p: (str(p.id), "l"),
                                    clock=lambda: now + 24 * 3600 - 1)
    assert replay == first
    later = service.create_pairing(account, principal, PairingCreate(), "day", lambda p: (str(p.id), "l"),
                                   clock=lambda: now + 24 * 3600 + 1)
    assert later.body != first.body


def test_an_abandoned_in_flight_lease_can_be_taken_over(account_id):
    key = f"idempotency#test#{account_id}"
    now = int(time.time())
    assert repository.begin_idempotent(key, "a", "f", now, 60, 86400) is None
    held = repository.begin_idempotent(key, "b", "f", now + 30, 60, 86400)
    assert held is not None and held.state == repository.IN_FLIGHT
    assert repository.begin_idempotent(key, "b", "f", now + 61, 60, 86400) is None


def test_a_lost_lease_cancels_the_whole_create(account_id):
    key = f"idempotency#test2#{account_id}"
    now = int(time.time())
    repository.begin_idempotent(key, "a", "f", now, 60, 86400)
    repository.begin_idempotent(key, "b", "f", now + 61, 60, 86400)  # b took over
    from chalicelib.errors import Conflict

    with pytest.raises(Conflict):
        repository.create_pairing(pairing(account_id, 55_000_001),
                                  repository.IdempotentWrite(key, "a", 201, "{}", "l"))
    assert repository.get_pairing(account_id, 55_000_001) is None
    with pytest.raises(PairingIdClaimModel.DoesNotExist):
        PairingIdClaimModel.get("pairing_id#55000001")


def test_a_transaction_cancelled_by_contention_is_503(account_id, monkeypatch):
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError
    from pynamodb.transactions import TransactWrite

    from chalicelib.errors import ServiceUnavailable

    def cancelled(self, *args, **kwargs):
        cause = VerboseClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}, "TransactWriteItems",
            cancellation_reasons=[None, CancellationReason(code="TransactionConflict")],
        )
        raise TransactWriteError("cancelled", cause)

    monkeypatch.setattr(TransactWrite, "_commit", cancelled)
    with pytest.raises(ServiceUnavailable):
        repository.create_pairing(pairing(account_id, 44_000_001))
