"""Ephemeral client secrets (``ek_...``) the emulator has minted, with their expiry."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .ids import new_ephemeral_key

DEFAULT_TTL_S = 600
MIN_TTL_S, MAX_TTL_S = 10, 7200


@dataclass(frozen=True)
class Secret:
    """One minted key and the session config it starts calls with."""

    value: str
    expires_at: int
    session: dict[str, Any]

    def expired(self, now: float) -> bool:
        """Whether the key may no longer start calls at time ``now``."""
        return now >= self.expires_at


class SecretStore:
    """Keys by value; expired keys stay known so they can be refused as expired."""

    def __init__(self) -> None:
        self._secrets: dict[str, Secret] = {}
        self.clock = time.time  # replaceable, so expiry can be tested without waiting

    def mint(self, session: dict[str, Any], ttl_s: int = DEFAULT_TTL_S) -> Secret:
        """Create a key valid for ``ttl_s`` seconds."""
        secret = Secret(new_ephemeral_key(), int(self.clock()) + ttl_s, session)
        self._secrets[secret.value] = secret
        return secret

    def get(self, value: str) -> Secret | None:
        """The secret with this value, expired or not; ``None`` if it was never minted."""
        return self._secrets.get(value)
