"""Providers: where SDP answers (and, later, ephemeral keys) come from."""

from __future__ import annotations

import os

from .base import CallAnswer, ConnectError, Provider
from .local import Local
from .openai import OpenAI

__all__ = ["CallAnswer", "ConnectError", "Local", "OpenAI", "Provider", "select"]

_BY_NAME: dict[str, type[Provider]] = {"openai": OpenAI, "emulator": Local}


def select(provider: Provider | str | None = None) -> Provider:
    """Resolve ``provider=``: an instance wins, a name is built, ``None`` looks at the env.

    With nothing given: OpenAI when ``OPENAI_API_KEY`` is set, else the embedded emulator.
    """
    if isinstance(provider, Provider):
        return provider
    if provider is None:
        return OpenAI() if os.environ.get("OPENAI_API_KEY") else Local()
    if isinstance(provider, str) and provider in _BY_NAME:
        return _BY_NAME[provider]()
    names = ", ".join(repr(n) for n in _BY_NAME)
    msg = f"provider={provider!r} is not known. Use one of {names}, or a Provider instance."
    raise ValueError(msg)
