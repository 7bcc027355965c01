"""A saved session played back in the widget: ``rt.replay("run1")``.

The kernel sends the page the recording once, when a page asks: the events with their times,
and both tracks as FLAC on one timeline. The page plays the two voices and shows the
transcript, meters and event log as they were at the playhead; nothing goes to a provider, and
nothing comes back to the kernel as if it were new.
"""

from __future__ import annotations

import io
import os
import uuid
from typing import Any

import anywidget
import numpy as np
import numpy.typing as npt
import traitlets

from . import _json
from ._widget import _STATIC
from .recording import Recording, load
from .recording.store import aligned, write_flac


class Replay(anywidget.AnyWidget):
    """A recording in the widget, with play, pause, scrub and speed (see :func:`replay`)."""

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"
    _widget_id = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("replay", read_only=True).tag(sync=True)
    title = traitlets.Unicode("", read_only=True).tag(sync=True)
    """What is replayed: the recording's folder, or ``"a recording"``."""

    def __init__(self, recording: Recording) -> None:
        super().__init__(_widget_id=uuid.uuid4().hex)
        self.recording = recording
        """The recording shown."""
        self.set_trait("title", recording.path.name if recording.path else "a recording")
        self._payload: tuple[dict[str, Any], list[bytes]] | None = None
        self.on_msg(lambda _widget, msg, _buffers: self._on_message(msg))

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict) and msg.get("kind") == "load":
            content, buffers = self._prepared()
            self.send(content, buffers)

    def _prepared(self) -> tuple[dict[str, Any], list[bytes]]:
        """The page's copy of the recording, made once."""
        if self._payload is None:
            mic, model, start = aligned(self.recording.mic, self.recording.model)
            events = _timed_events(self.recording)
            origin = start if start is not None else (events[0]["t"] / 1000 if events else 0.0)
            rate = self.recording.mic.rate
            content = {"kind": "replay", "events": events, "origin": origin * 1000, "duration": len(model) / rate}
            self._payload = (content, [_flac(mic, rate), _flac(model, rate)])
        return self._payload

    def __repr__(self) -> str:
        return f"<Replay of {self.title}: {len(self.recording.events)} events>"


def replay(source: str | os.PathLike[str] | Recording) -> Replay:
    """Show a saved session (a folder from ``save()``, or a :class:`~rt_widget.Recording`) in the widget.

    Play, pause, scrub and change the speed; both voices play, and the transcript, meters and
    event log follow the playhead. Clicking an event jumps there. No provider, no network.
    """
    if isinstance(source, Recording):
        return Replay(source)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"replay() takes a recording's folder or an rt.Recording; got {type(source).__name__}.")
    return Replay(load(source))


def _timed_events(recording: Recording) -> list[dict[str, Any]]:
    """The log as the page's wire events (times in epoch ms), JSON-safe."""
    out = []
    for i, record in enumerate(recording.events):
        t = record["t_browser"] if record["t_browser"] is not None else record["t_kernel"]
        event = _json.loads(_json.dumps(record["event"])[0])  # plain JSON: NaN and the like become null
        out.append(
            {"seq": i, "direction": record["direction"], "t": t * 1000, "call_id": record["call_id"]} | {"event": event}
        )
    return out


def _flac(samples: npt.NDArray[np.int16], rate: int) -> bytes:
    buffer = io.BytesIO()
    write_flac(buffer, samples if len(samples) else np.zeros(rate // 10, np.int16), rate)
    return buffer.getvalue()
