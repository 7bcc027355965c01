"""Checks every layer needs for values a user or a client gives: numbers, switches, long text.

``True`` is an ``int`` in Python, ``float("nan")`` compares false with everything, and an
integer like ``10**400`` overflows the moment it meets a float (a sleep, a timer, a format):
each would slip through a plain ``isinstance(value, int | float)`` and a range check.
"""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> float | None:
    """``value`` as a finite float; ``None`` for bools, NaN, infinities, text, or ints too big."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def whole(value: Any, low: int, high: int | None = None) -> int | None:
    """``value`` if it is an ``int`` (never a bool) from ``low`` to ``high``, else ``None``.

    Parameters
    ----------
    value:
        Anything a user or a client gave.
    low, high:
        The smallest and largest value allowed (both included); ``high=None`` for no upper bound.

    Returns
    -------
    int or None
        ``value`` itself, or ``None`` when it is not a whole number in range. Test the result
        with ``is None``: ``0`` is a valid result.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value and (high is None or value <= high) else None


def flag(value: Any, what: str) -> bool:
    """``value`` if it is ``True`` or ``False``.

    Parameters
    ----------
    value:
        What the user gave for the option.
    what:
        The option's name, as the user wrote it, for the error.

    Raises
    ------
    ValueError
        For anything that is not a bool (``1``, ``"yes"`` and ``None`` included).
    """
    if not isinstance(value, bool):
        raise ValueError(f"{what}={value!r} is not valid: use True or False.")
    return value


def clip(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters, ending in ``...`` if it was cut.

    For quoting a value in an error message: a client's key or a model's error text can be
    megabytes long. ``limit`` must be at least 3.
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."
