"""Offer only 127.0.0.1 as an ICE host candidate on chosen threads.

aioice never offers loopback addresses, so a peer bound to loopback (and anything in a
network namespace that has only ``lo``) would gather no candidates at all. The swap is scoped
to the threads that ask for it, so other aiortc users in the same process are unaffected.
"""

from __future__ import annotations

import threading

import aioice.ice

_original = aioice.ice.get_host_addresses
_threads: set[int] = set()
_lock = threading.Lock()


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if threading.get_ident() in _threads:
        return ["127.0.0.1"] if use_ipv4 else []
    return _original(use_ipv4, use_ipv6)


def restrict_current_thread() -> None:
    """Make ICE gathering on the calling thread offer 127.0.0.1 only."""
    with _lock:
        _threads.add(threading.get_ident())
        aioice.ice.get_host_addresses = _host_addresses


def release_current_thread() -> None:
    """Undo :func:`restrict_current_thread` for the calling thread."""
    with _lock:
        _threads.discard(threading.get_ident())
