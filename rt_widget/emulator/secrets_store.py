"""Ephemeral client secrets (``ek_...``) the emulator has minted, with their expiry."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .._checks import whole
from .ids import new_ephemeral_key
from .validation import ProtocolError, validate_object

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


def check_expires_after(value: Any, path: str) -> None:
    """Validate ``expires_after: {"anchor": "created_at", "seconds": 10..7200}`` as the service does."""

    def seconds(v: Any, p: str) -> None:
        if whole(v, MIN_TTL_S, MAX_TTL_S) is None:
            msg = f"Invalid '{p}': expected an integer between {MIN_TTL_S} and {MAX_TTL_S}, got {v!r}."
            raise ProtocolError("invalid_value", msg, p)

    def anchor(v: Any, p: str) -> None:
        if v != "created_at":
            raise ProtocolError("invalid_value", f"Invalid value: {v!r}. Supported values are: 'created_at'.", p)

    validate_object(value, {"anchor": anchor, "seconds": seconds}, path)


def ttl_of(expires_after: dict[str, Any] | None, default: int) -> int:
    """The lifetime a validated ``expires_after`` asks for, or ``default``."""
    return int((expires_after or {}).get("seconds", default))
