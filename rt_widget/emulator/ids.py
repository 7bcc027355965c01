"""Identifiers shaped like the real service's (prefix + 21 base62 characters)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 21) -> str:
    """Return ``prefix_`` followed by ``length`` random base62 characters."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_call_id() -> str:
    """A WebRTC call id as found in the ``Location`` header (``rtc_`` + 32 hex)."""
    return "rtc_" + secrets.token_hex(16)


def new_ephemeral_key() -> str:
    """An ephemeral client secret (``ek_`` + 32 hex)."""
    return "ek_" + secrets.token_hex(16)
