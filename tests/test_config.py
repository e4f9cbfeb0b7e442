"""Settings fail loudly when missing or malformed."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigurationError, Settings

BASE = {"PAIRINGS_TABLE": "p", "DIRECTORY_TABLE": "d"}


def test_defaults():
    settings = Settings.from_env(BASE)
    assert (settings.pairings_table, settings.directory_table, settings.auth_cache_seconds) == ("p", "d", 60.0)


@pytest.mark.parametrize("missing", ["PAIRINGS_TABLE", "DIRECTORY_TABLE"])
def test_missing_table_names_fail_loudly(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


@pytest.mark.parametrize("name, value", [("AUTH_CACHE_SECONDS", "61"), ("AUTH_CACHE_SECONDS", "soon"),
                                         ("DYNAMODB_MAX_RETRIES", "-1"), ("DYNAMODB_READ_TIMEOUT", "1.5")])
def test_malformed_values_fail_loudly(name, value):
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**BASE, name: value})
