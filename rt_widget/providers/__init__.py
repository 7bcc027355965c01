"""Providers: where SDP answers and ephemeral keys come from."""

from __future__ import annotations

import os

from .azure import Azure
from .base import CallAnswer, ConnectError, DirectCall, Provider, Sideband
from .legacy import Beta
from .local import Local
from .openai import OpenAI

__all__ = [
    "Azure",
    "Beta",
    "CallAnswer",
    "ConnectError",
    "DirectCall",
    "Local",
    "OpenAI",
    "Provider",
    "Sideband",
    "select",
]

_BY_NAME: dict[str, type[Provider]] = {"openai": OpenAI, "azure": Azure, "beta": Beta, "emulator": Local}


def select(provider: Provider | str | None = None) -> Provider:
    """Resolve ``provider=``: an instance wins, a name is built from the environment.

    With nothing given: OpenAI when ``OPENAI_API_KEY`` is set, Azure when
    ``AZURE_OPENAI_ENDPOINT`` is set, otherwise the embedded emulator.
    """
    if isinstance(provider, Provider):
        return provider
    if provider is None:
        if os.environ.get("OPENAI_API_KEY", "").strip():
            return OpenAI()
        if os.environ.get("AZURE_OPENAI_ENDPOINT", "").strip():
            return Azure()
        return Local()
    if isinstance(provider, str) and provider.strip().lower() in _BY_NAME:
        return _BY_NAME[provider.strip().lower()]()
    names = ", ".join(repr(n) for n in _BY_NAME)
    raise ValueError(f"provider={provider!r} is not known. Use one of {names}, or a Provider instance.")
