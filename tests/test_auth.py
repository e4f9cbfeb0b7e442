"""Token hashing and the per-process cache in isolation."""

from __future__ import annotations

from chalicelib.auth import TtlCache, generate_token, hash_token


def test_tokens_are_random_and_long():
    tokens = {generate_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 4 + 43 for t in tokens)  # 256 bits
    assert all(t.startswith("tep_") for t in tokens)  # never "-…", which a command line takes for an option


def test_hash_is_sha256_hex():
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_cache_expires_and_caches_misses():
    now = [0.0]
    loads = []
    cache: TtlCache[str, int] = TtlCache(60, lambda: now[0])

    def load(key):
        loads.append(key)
        return None if key == "missing" else len(loads)

    assert cache.get("a", load) == 1 and cache.get("a", load) == 1
    assert cache.get("missing", load) is None and cache.get("missing", load) is None
    assert loads == ["a", "missing"]
    now[0] = 60.0
    assert cache.get("a", load) == 3


def test_cache_is_bounded():
    cache: TtlCache[int, int] = TtlCache(60, lambda: 0.0, max_entries=3)
    loads = []
    for key in (1, 2, 3, 1, 4):  # 1 is used again, so 2 is the least recent
        cache.get(key, lambda k: loads.append(k) or k)
    cache.get(1, lambda k: loads.append(k) or k)
    cache.get(2, lambda k: loads.append(k) or k)
    assert loads == [1, 2, 3, 4, 2]
