"""Checks every layer needs for numbers a user gives: a real, finite number, never a bool.

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
