"""Choose the ICE host candidates aioice offers, on chosen threads only.

aioice never offers loopback addresses, so a peer bound to loopback (and anything in a
network namespace that has only ``lo``) would gather no candidates at all, and its calls would
silently never connect. A thread can ask for 127.0.0.1 only (loopback binds) or for 127.0.0.1
when the machine has no other address (network binds). The swap is scoped to the threads that
ask for it, so other aiortc users in the same process are unaffected.
"""

from __future__ import annotations

import threading

import aioice.ice

LOOPBACK_ONLY = "loopback-only"
LOOPBACK_FALLBACK = "loopback-fallback"

_original = aioice.ice.get_host_addresses
_threads: dict[int, str] = {}
_lock = threading.Lock()


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    mode = _threads.get(threading.get_ident())
    if mode == LOOPBACK_ONLY:
        return ["127.0.0.1"] if use_ipv4 else []
    addresses: list[str] = _original(use_ipv4, use_ipv6)
    if mode == LOOPBACK_FALLBACK and not addresses and use_ipv4:
        return ["127.0.0.1"]
    return addresses


def restrict_current_thread(mode: str = LOOPBACK_ONLY) -> None:
    """Make ICE gathering on the calling thread offer 127.0.0.1 only (or as a fallback).

    Parameters
    ----------
    mode:
        :data:`LOOPBACK_ONLY`, or :data:`LOOPBACK_FALLBACK` to offer the machine's addresses
        and 127.0.0.1 only when there are none.
    """
    if mode not in (LOOPBACK_ONLY, LOOPBACK_FALLBACK):
        raise ValueError(f"mode={mode!r}: use {LOOPBACK_ONLY!r} or {LOOPBACK_FALLBACK!r}.")
    with _lock:
        _threads[threading.get_ident()] = mode
        aioice.ice.get_host_addresses = _host_addresses


def release_current_thread() -> None:
    """Undo :func:`restrict_current_thread` for the calling thread."""
    with _lock:
        _threads.pop(threading.get_ident(), None)
