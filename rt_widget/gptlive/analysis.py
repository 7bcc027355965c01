"""From GPT-Live events to tables: transcript, turns and latency, usage and cost.

The functions here mirror :mod:`rt_widget.analysis` (the Realtime analyses) over GPT-Live's
events: they take an :class:`~rt_widget.EventLog` (or a recording) and return pandas DataFrames,
with the Realtime column names where a column means the same. They live in three modules:

- :mod:`rt_widget.gptlive.conversation`: :func:`transcript` (the timestamped fragments grouped
  into turns) and :func:`turns` (each user turn's timeline and latency);
- :mod:`rt_widget.gptlive.billing`: the prices (:data:`LIVE_PRICES`, as of
  :data:`LIVE_PRICES_AS_OF`), :func:`usage`, :func:`backend_usage` and :func:`cost`;
- :mod:`rt_widget.gptlive.reading`: :func:`is_live` and how the others read a log.

An empty log gives empty tables (there is nothing to price, so :func:`cost` asks for a model).
A log whose server events are all Realtime ones is refused with a ``ValueError`` that points
to :mod:`rt_widget.analysis`. Events without the fields an analysis reads (a truncated or
foreign log) are skipped, never an internal error.
"""

from __future__ import annotations

from .billing import LIVE_PRICES, LIVE_PRICES_AS_OF, LivePrices, TokenPrices, backend_usage, cost, usage
from .billing import UnknownLiveModelError as UnknownLiveModelError
from .conversation import transcript, turns
from .reading import LIVE_EVENTS as LIVE_EVENTS
from .reading import is_live

__all__ = [
    "LIVE_PRICES",
    "LIVE_PRICES_AS_OF",
    "LivePrices",
    "TokenPrices",
    "backend_usage",
    "cost",
    "is_live",
    "transcript",
    "turns",
    "usage",
]
