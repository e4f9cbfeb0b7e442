"""Settings, read from the environment in one place; a missing required one fails loudly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    pairings_table: str
    directory_table: str
    auth_cache_seconds: float = 60.0
    dynamodb_connect_timeout: int = 2
    dynamodb_read_timeout: int = 5
    dynamodb_max_retries: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(
                    f"environment variable {name} is required (see README, Configuration)"
                )
            return value

        def number(name: str, default: float, kind: type = int) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError as exc:
                raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
            if value < 0:
                raise ConfigurationError(f"{name} must not be negative, got {raw!r}")
            return value

        cache_seconds = number("AUTH_CACHE_SECONDS", 60.0, float)
        if cache_seconds > 60:
            # The contract promises revocation and feature changes within 60 s.
            raise ConfigurationError("AUTH_CACHE_SECONDS must be at most 60")
        return cls(
            pairings_table=required("PAIRINGS_TABLE"),
            directory_table=required("DIRECTORY_TABLE"),
            auth_cache_seconds=cache_seconds,
            dynamodb_connect_timeout=int(number("DYNAMODB_CONNECT_TIMEOUT", 2)),
            dynamodb_read_timeout=int(number("DYNAMODB_READ_TIMEOUT", 5)),
            dynamodb_max_retries=int(number("DYNAMODB_MAX_RETRIES", 3)),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from ``os.environ``."""
    return Settings.from_env(os.environ)
