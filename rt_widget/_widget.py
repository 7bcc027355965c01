"""Realtime: the widget's traits and the messages between kernel and browser, nothing else."""

from __future__ import annotations

import concurrent.futures
import pathlib
import uuid
from typing import Any

import anywidget
import traitlets

from . import providers
from ._loop import io_loop
from .events import EventLog
from .providers import CallAnswer, ConnectError, Provider

_STATIC = pathlib.Path(__file__).parent / "static"


class Realtime(anywidget.AnyWidget):
    """A realtime voice session: display it, press Connect, talk.

    The kernel holds the key and answers the browser's WebRTC offer through the provider;
    the browser runs the peer connection and streams every data-channel event back here.

    Parameters
    ----------
    model:
        Realtime model (for Azure, the deployment name).
    voice:
        Output voice, e.g. ``"marin"``. ``None`` keeps the service default.
    instructions:
        System instructions. ``None`` keeps the service default.
    provider:
        ``"openai"``, ``"emulator"`` or a :class:`~rt_widget.providers.Provider`. By default:
        OpenAI when ``OPENAI_API_KEY`` is set, otherwise the embedded emulator.

    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    status = traitlets.Unicode("idle").tag(sync=True)
    """Connection state: ``idle``, ``connecting``, ``connected``, ``closed`` or ``error``."""
    error = traitlets.Unicode("").tag(sync=True)
    """What went wrong and what to do, when ``status`` is ``error``; empty otherwise."""
    call_id = traitlets.Unicode("").tag(sync=True)
    """The current call's ``rtc_...`` id (not a secret), empty before the first connect."""
    provider_name = traitlets.Unicode("").tag(sync=True)
    """Which provider answers the calls (``openai``, ``emulator``, ...)."""
    _widget_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        *,
        model: str = "gpt-realtime",
        voice: str | None = None,
        instructions: str | None = None,
        provider: Provider | str | None = None,
    ) -> None:
        self.provider = providers.select(provider)
        super().__init__(_widget_id=uuid.uuid4().hex, provider_name=self.provider.name)
        session: dict[str, Any] = {"type": "realtime", "model": model}
        if instructions is not None:
            session["instructions"] = instructions
        if voice is not None:
            session["audio"] = {"output": {"voice": voice}}
        self.session = session
        """The GA session config sent with every new call."""
        self.events = EventLog()
        """Every event of every call, in order."""
        self._next_seq = 0
        self.on_msg(self._on_message)

    # -- commands -------------------------------------------------------------------------

    def connect(self) -> None:
        """Ask the displayed widget to start a call (same as pressing Connect)."""
        self.send({"kind": "connect"})

    def hangup(self) -> None:
        """End the current call (same as pressing Hang up)."""
        self.send({"kind": "hangup"})

    def send_event(self, event: dict[str, Any]) -> None:
        """Send one client event on the data channel; it is logged when the browser sends it."""
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            msg = f"A client event is a dict with a 'type' string; got {event!r}."
            raise TypeError(msg)
        self.send({"kind": "send", "event": event})

    # -- messages from the browser ---------------------------------------------------------

    def _on_message(self, _widget: object, msg: dict[str, Any], _buffers: list[bytes]) -> None:
        kind = msg.get("kind")
        if kind == "offer":
            self._on_offer(str(msg.get("id", "")), str(msg.get("sdp", "")))
        elif kind == "events":
            self._on_events(msg.get("events") or [])

    def _on_offer(self, request_id: str, sdp: str) -> None:
        future = io_loop().submit(self.provider.create_call(sdp, self.session))
        future.add_done_callback(lambda f: self._reply_answer(request_id, f))

    def _reply_answer(self, request_id: str, future: concurrent.futures.Future[CallAnswer]) -> None:
        try:
            answer = future.result()
        except ConnectError as exc:
            self.send({"kind": "answer", "id": request_id, "error": str(exc)})
            return
        except Exception as exc:
            message = f"Unexpected {type(exc).__name__} while creating the call: {exc}"
            self.send({"kind": "answer", "id": request_id, "error": message})
            return
        self.call_id = answer.call_id or ""
        self.send({"kind": "answer", "id": request_id, "sdp": answer.sdp, "call_id": answer.call_id})

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        for item in batch:
            seq = int(item["seq"])
            t_browser = item.get("t")
            if seq < self._next_seq:
                continue  # a re-sent batch: already logged
            self._next_seq = seq + 1
            self.events.append(
                item["event"],
                direction="client" if item.get("direction") == "client" else "server",
                seq=seq,
                call_id=item.get("call_id") or None,
                t_browser=t_browser / 1000 if t_browser is not None else None,
            )
