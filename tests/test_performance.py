"""What the performance work relies on, asserted exactly (timings live in ``make bench``).

* Importing the app creates no botocore client, describes no table and opens no socket.
* Every model shares one botocore client.
* The requests and decoding done by hand on the hot paths are exactly what PynamoDB would
  send and read.
* A process that imports the app and serves 1,000 mixed requests stays within 80 MiB.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib import models, repository
from chalicelib.models import (
    AccountModel,
    DirectoryModel,
    IdempotencyModel,
    PairingIdClaimModel,
    PairingModel,
    TokenModel,
)
from chalicelib.schemas import PairingPublic, iso_utc

PROJECT = Path(__file__).resolve().parent.parent
ALL_MODELS = (PairingModel, DirectoryModel, AccountModel, TokenModel, PairingIdClaimModel, IdempotencyModel)

# Run in a fresh interpreter: the hooks go in before anything imports botocore or the app.
_IMPORT_PROBE = r"""
import json, socket, sys

opened = []
def refuse(*args, **kwargs):
    opened.append(repr(args[:2]))
    raise OSError("no network at import")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

import botocore.client, botocore.session
clients, calls = [], []
create_client = botocore.session.Session.create_client
def tracked_create_client(self, *args, **kwargs):
    clients.append(args[0] if args else kwargs.get("service_name"))
    return create_client(self, *args, **kwargs)
botocore.session.Session.create_client = tracked_create_client
make_api_call = botocore.client.BaseClient._make_api_call
def tracked_call(self, operation, params):
    calls.append(operation)
    return make_api_call(self, operation, params)
botocore.client.BaseClient._make_api_call = tracked_call

import app
from chalicelib import models
at_import = {
    "clients": list(clients), "calls": list(calls), "sockets": list(opened),
    "shared_connection": models._shared is not None,
    "model_connections": [
        cls.__name__ for cls in (models.PairingModel, models.DirectoryModel, models.AccountModel,
                                 models.TokenModel, models.PairingIdClaimModel, models.IdempotencyModel)
        if cls.__dict__.get("_connection") is not None
    ],
}
# Positive control: the hook does see a client when one is made.
models.TokenModel._get_connection().connection.client
print(json.dumps({"at_import": at_import, "clients_after_first_use": list(clients)}))
"""


def _app_env() -> dict[str, str]:
    """Configuration from the environment only, as on Lambda; no endpoint override."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PAIRINGS_TABLE="perf-pairings", DIRECTORY_TABLE="perf-directory", AWS_DEFAULT_REGION="us-east-1")
    return env


def test_importing_the_app_makes_no_client_no_request_and_no_connection():
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE], cwd=PROJECT, env=_app_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["at_import"] == {
        "clients": [], "calls": [], "sockets": [], "shared_connection": False, "model_connections": [],
    }
    assert result["clients_after_first_use"] == ["dynamodb"]


def test_every_model_uses_the_one_shared_client():
    clients = {id(model._get_connection().connection.client) for model in ALL_MODELS}
    assert clients == {id(models.shared_connection().client)}
    # ... and each table connection still knows its own table's keys.
    assert PairingModel._get_connection().get_meta_table().range_keyname == "id"
    assert TokenModel._get_connection().get_meta_table().hash_keyname == "pk"


def _pairing(state: str, **overrides) -> PairingPublic:
    fields = dict(
        id=412_345_678_901, root_account_id=7, workflow_state=state, ending_enrollment_state="completed",
        created_by_id=3, deleted_by_id=4 if state == "deleted" else None,
        created_at=1_780_000_000, updated_at=1_780_000_100,
    )
    fields.update(overrides)
    return PairingPublic(**fields)


def _pynamodb_item(pairing: PairingPublic) -> PairingModel:
    """The pairing as a PynamoDB model: the reference the hand-built requests must match."""
    active = pairing.workflow_state == "active"
    return PairingModel(
        pairing.root_account_id, pairing.id,
        workflow_state=pairing.workflow_state, ending_enrollment_state=pairing.ending_enrollment_state,
        created_by_id=pairing.created_by_id, deleted_by_id=pairing.deleted_by_id,
        created_at=pairing.created_at, updated_at=pairing.updated_at,
        active_id=pairing.id if active else None, deleted_id=None if active else pairing.id,
    )


PAIRINGS = [
    _pairing("active"),
    _pairing("deleted"),
    _pairing("active", created_by_id=None),
    _pairing("deleted", ending_enrollment_state="inactive", created_at=0, updated_at=0),
]


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_the_pairing_put_is_what_pynamodb_would_send(pairing):
    expected = _pynamodb_item(pairing).get_save_kwargs_from_instance(condition=PairingModel.id.does_not_exist())
    assert repository._pairing_put(pairing) == expected


def test_the_claim_put_is_what_pynamodb_would_send():
    pairing = PAIRINGS[0]
    claim = PairingIdClaimModel(f"pairing_id#{pairing.id}", account_id=pairing.root_account_id, attempt="a1")
    expected = claim.get_save_kwargs_from_instance(condition=PairingIdClaimModel.pk.does_not_exist())
    assert repository._claim_put(pairing, "a1") == expected


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_decoding_reads_what_pynamodb_reads(pairing):
    raw = _pynamodb_item(pairing).serialize()
    item = PairingModel.from_raw_data(raw)
    decoded = repository._from_raw(raw)
    assert decoded == pairing
    assert (decoded.id, decoded.root_account_id, decoded.created_by_id, decoded.deleted_by_id,
            decoded.created_at, decoded.updated_at) == (
        item.id, item.account_id, item.created_by_id, item.deleted_by_id, item.created_at, item.updated_at)
    assert repository._from_raw({**raw, "deleted_by_id": {"NULL": True}}).deleted_by_id is None


def test_timestamps_render_as_before():
    rng = random.Random(5)
    samples = [0, 59, 86_399, 86_400, 951_782_400, 1_780_000_000, 4_102_444_800]
    samples += [rng.randrange(0, 2**35) for _ in range(2000)]
    for seconds in samples:
        expected = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert iso_utc(seconds) == expected
    assert iso_utc(None) is None


def test_serving_a_thousand_mixed_requests_stays_within_80_mib(tmp_path):
    """Peak RSS of a fresh process (the benchmark's own child, stubbed DynamoDB). Memory,
    unlike time, hardly varies between runs: about 57 MiB here against the 80 MiB budget."""
    result = tmp_path / "serve.json"
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--phase", "serve", "--kind", "ours", "--result", str(result)],
        cwd=PROJECT, env=_app_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    served = json.loads(result.read_text())
    assert set(served["statuses"]) <= {"200", "201"}, served
    assert sum(served["statuses"].values()) == 1000
    assert served["peak_mib"] <= 80, served
