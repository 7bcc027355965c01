"""Where a trial's calls go, in a form that can cross to a Ray worker without a secret in it.

A :class:`~rt_widget.providers.Provider` object may hold an API key, and whatever a Ray task
takes is stored in Ray's object store. So a Ray worker gets a :class:`Target` instead: a
provider's name, built on the worker from the worker's own environment (``OPENAI_API_KEY``,
``AZURE_OPENAI_*``), or the address of a local emulator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import providers
from ..providers import Local, OpenAI, Provider

NAMED = ("openai", "azure", "beta")
"""Providers a worker can build from its own environment."""
PROVIDER_OBJECT_ERROR = (
    "With backend='ray', give the provider by name (provider='openai', 'azure' or 'beta'): each Ray worker "
    "then builds it from its own environment (OPENAI_API_KEY, AZURE_OPENAI_API_KEY...), so no key goes "
    "through Ray's object store. A {kind} object may hold a key and cannot be sent. For the emulator, pass "
    "provider=rt.providers.Local(emulator) or provider='emulator'."
)


@dataclass(frozen=True)
class EmulatorAddress:
    """How a worker on this machine reaches a running :class:`~rt_widget.Emulator`."""

    base_url: str
    api_key: str = field(repr=False)
    """The emulator's own key: it opens that local emulator and nothing else."""


@dataclass(frozen=True)
class Target:
    """A provider by name, or an emulator by address: what a Ray worker builds its provider from."""

    name: str | None = None
    emulator: EmulatorAddress | None = None

    def build(self) -> Provider:
        """The provider, built here (on the worker)."""
        if self.emulator is not None:
            return _EmulatorAt(api_key=self.emulator.api_key, base_url=self.emulator.base_url)
        return providers.select(self.name)


def target_for(provider: Provider | str | None) -> Target:
    """What a Ray worker needs to reach ``provider``; refuses a provider object that may hold a key.

    Raises
    ------
    TypeError
        ``provider`` is a provider object other than the emulator.
    """
    if provider is None:  # decided here, from the driver's environment, as a Call would decide it
        if os.environ.get("OPENAI_API_KEY", "").strip():
            return Target("openai")
        if os.environ.get("AZURE_OPENAI_ENDPOINT", "").strip():
            return Target("azure")
        provider = "emulator"
    if isinstance(provider, str):
        name = provider.strip().lower()
        if name in NAMED:
            return Target(name)
        provider = providers.select(provider)  # "emulator" (the shared one), or a clear error
    if isinstance(provider, Local):
        emu = provider.emulator
        return Target(emulator=EmulatorAddress(emu.base_url, emu.api_key))
    raise TypeError(PROVIDER_OBJECT_ERROR.format(kind=type(provider).__name__)) from None


class _EmulatorAt(OpenAI):
    """An emulator in another process of this machine, reached at its address as OpenAI would be."""

    name = "emulator"
