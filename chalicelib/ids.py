"""Pairing ids: time-ordered, below 2^53, unique service-wide once claimed.

An id is ``milliseconds since 2020-01-01 << 11 | 11 random bits``. Ids therefore grow with
creation time without a shared counter item (no hot key), fit a JavaScript number until
the year 2159, and carry their own creation time: ``created_at`` is derived from the id,
so ordering by id is ordering by ``created_at``. Two creates in the same millisecond draw
from 2,048 values; the repository claims every id in the same transaction as its pairing
and draws again on the rare collision.
"""

from __future__ import annotations

import secrets
import time
from typing import Callable

EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
RANDOM_BITS = 11
TIME_BITS = 42
MAX_ID = (1 << (TIME_BITS + RANDOM_BITS)) - 1  # 2^53 - 1

Clock = Callable[[], float]
RandomBits = Callable[[int], int]


def new_pairing_id(clock: Clock = time.time, random_bits: RandomBits = secrets.randbits) -> int:
    """A fresh id from the current time and random low bits."""
    elapsed_ms = int(clock() * 1000) - EPOCH_MS
    if not 0 <= elapsed_ms < (1 << TIME_BITS):
        raise RuntimeError("the clock is outside the range pairing ids can encode")
    return (elapsed_ms << RANDOM_BITS) | random_bits(RANDOM_BITS)


def created_at_of(pairing_id: int) -> int:
    """The creation time, in whole epoch seconds, that an id encodes."""
    return ((pairing_id >> RANDOM_BITS) + EPOCH_MS) // 1000
