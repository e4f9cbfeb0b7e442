"""Pairing ids: range, ordering and the creation time they carry."""

from __future__ import annotations

import pytest

from chalicelib import ids


def test_ids_fit_javascript_and_increase_with_time():
    earlier = ids.new_pairing_id(clock=lambda: 1_800_000_000.000, random_bits=lambda n: (1 << n) - 1)
    later = ids.new_pairing_id(clock=lambda: 1_800_000_000.001, random_bits=lambda n: 0)
    assert 0 < earlier < later < 2**53


def test_created_at_is_the_ids_second():
    pairing_id = ids.new_pairing_id(clock=lambda: 1_800_000_123.999)
    assert ids.created_at_of(pairing_id) == 1_800_000_123


def test_the_id_space_lasts_until_2159():
    assert ids.new_pairing_id(clock=lambda: 5_970_000_000.0) <= ids.MAX_ID == 2**53 - 1
    with pytest.raises(RuntimeError):
        ids.new_pairing_id(clock=lambda: 1_500_000_000.0)  # before the epoch
