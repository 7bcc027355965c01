"""A GPT-Live session in the kernel: the session core with Live's create, sideband and commands.

GPT-Live is chosen by the model (``model="gpt-live-1"``: every ``gpt-live-*`` model is Live) or
with ``api="live"`` (an Azure deployment named otherwise). The provider stays who serves it
(OpenAI, Azure, the emulator): the same key and endpoint serve both APIs, so the choice of API
belongs with the model, not the provider.

What each command means on Live:

- ``update(delegation=..., triggers=...)``: a ``session.update``; the other settings are fixed
  once a session starts (the error says so).
- ``append_instructions``, ``append_thinking``, ``append_commentary``: Live's append commands
  (instructions steer, thinking is silent context, commentary is something to say).
- ``mute()`` / ``unmute()``: ``session.input_audio.mute`` / ``unmute`` (the server stops hearing).
- ``hangup()``: ends the call (the service sends ``session.closed``).
- ``say()`` and ``interrupt()`` raise: Live's turns are server-driven. There is no typed user
  turn (speak, or steer with an append), and a reply is interrupted by speaking over it.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

from .. import protocol
from ..providers import CallAnswer, DirectCall, Provider, Sideband
from ..session.core import Session
from . import analysis
from .config import CLIENT_EVENTS, SERVER_EVENTS, LiveConfig

LIVE_PREFIX = "gpt-live"
CLOSE_WAIT_S = 2.0
"""How long hang-up waits for the service's ``session.closed`` before it ends the call itself."""


CLOSED_FOR = {
    "expired": "The GPT-Live session reached its duration limit and the service closed it. Connect again to "
    "start a new session (the conversation starts fresh; pass earlier turns as input=[...]).",
    "content": "The service closed the GPT-Live session: its safety filter stopped the conversation "
    "(session.closed, reason 'content'). Connect again to start a new session.",
    "connection_lost": "The service lost its connection to the GPT-Live session and closed it "
    "(reason 'connection_lost'). Connect again to start a new session.",
}
"""What ``session.closed`` says, by reason, when the service (not the user) ended the session."""


def wants_live(settings: dict[str, Any]) -> bool:
    """Whether these settings ask for GPT-Live (``api="live"``, or a ``gpt-live-*`` model); pops ``api``."""
    api = settings.pop("api", None)
    if api not in (None, "live", "realtime"):
        raise ValueError(f"api={api!r} is not valid: use 'realtime' or 'live' (or leave it out: the model decides).")
    if api is not None:
        return bool(api == "live")
    return str(settings.get("model", "")).startswith(LIVE_PREFIX)


class LiveSession(Session):
    """A session of OpenAI's GPT-Live API (see the module's notes for what each command does).

    Takes the settings of :class:`~rt_widget.gptlive.config.LiveConfig` and the session
    options of :class:`~rt_widget.session.Session` that apply to Live.
    """

    def __init__(
        self,
        *,
        provider: Provider | str | None = None,
        sideband: bool = False,
        autosave: Any = None,
        record: bool = False,
        renew: bool = False,
        renew_after_s: float | None = None,
        budget_usd: float | None = None,
        price_model: str | None = None,
        **settings: Any,
    ) -> None:
        if renew:
            raise ValueError("renew=True is for the Realtime API's 60-minute calls; GPT-Live sessions last two hours.")
        if budget_usd is not None:
            raise ValueError(
                "budget_usd is not available for GPT-Live yet (it bills per minute, not per response): "
                "watch s.cost() instead."
            )
        self.live_config = LiveConfig.from_kwargs(**settings)
        """The validated GPT-Live settings sent when each session is created."""
        super().__init__(provider=provider, sideband=sideband, autosave=autosave, record=record)
        self._price_model = price_model or self.live_config.model
        self._backend_response: str | None = None  # the Responses backend's response in progress
        self._dispatcher.replace(self._python_tools())

    event_types = frozenset((*SERVER_EVENTS, *CLIENT_EVENTS, *protocol.LIBRARY_EVENTS))
    output_event = "response.item.create"  # a tool's output goes to the Responses backend
    client_events = CLIENT_EVENTS
    api_name = "GPT-Live "

    @property
    def api(self) -> str:
        """``"live"``."""
        return "live"

    def settings_sent(self) -> dict[str, Any]:
        """The ``session`` object each create sends (no key)."""
        return self.live_config.to_session()

    # -- commands --------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Not on GPT-Live: raises, saying what it offers instead."""
        raise ValueError(
            "GPT-Live has no typed user turns: it listens, and its turns are server-driven. Speak, or steer it "
            "with s.append_instructions(...) (or append_commentary(...) for something it should say)."
        )

    def interrupt(self) -> None:
        """Not on GPT-Live: raises, saying what it offers instead."""
        raise ValueError(
            "GPT-Live has no response to cancel from the client: speak over the model and it stops (barge-in), "
            "or mute() to stop it hearing you."
        )

    def update(self, **settings: Any) -> None:
        """Change ``delegation`` or ``triggers`` (all else is fixed once a session starts)."""
        if not settings:
            raise ValueError("update() needs delegation=... or triggers=... (GPT-Live can change only those).")
        changed = self.live_config.updated(**settings)
        event = changed.update_event(**settings) if self.status == "connected" else None
        credentials = event is not None and self._check_credentials_route(event)
        self.live_config = changed
        self._dispatcher.replace(self._python_tools())
        if event is not None:
            self._send_update(event, credentials)

    def append_instructions(self, text: str) -> None:
        """Add to the instructions while the session runs (``session.instructions.append``)."""
        self._append("session.instructions.append", text)

    def append_thinking(self, text: str) -> None:
        """Give silent context (``session.thinking.append``)."""
        self._append("session.thinking.append", text)

    def append_commentary(self, text: str) -> None:
        """Give the model something to tell the user (``session.commentary.append``)."""
        self._append("session.commentary.append", text)

    def mute(self) -> None:
        """Stop the service hearing the microphone (``session.input_audio.mute``)."""
        self.send({"type": "session.input_audio.mute"})

    def unmute(self) -> None:
        """Let the service hear the microphone again."""
        self.send({"type": "session.input_audio.unmute"})

    def hangup(self) -> None:
        """End the session: ``session.close`` first, then the call.

        The service answers with ``session.closed`` (and the final usage), which ends the call;
        it ends anyway after :data:`CLOSE_WAIT_S`.
        """
        if self.status != "connected":
            super().hangup()
            return
        self.send({"type": "session.close"})
        timer = threading.Timer(CLOSE_WAIT_S, super().hangup)
        timer.daemon = True
        timer.start()

    def ingest(self, event: dict[str, Any], direction: str, **details: Any) -> None:
        """Log the event; the backend's events reach the tool runner; ``session.closed`` ends the call."""
        super().ingest(event, direction, **details)
        if direction != "server":
            return
        if event.get("type") == "response.event" and isinstance(event.get("event"), dict):
            self._dispatcher.observe(self._as_realtime(event["event"]))
        elif event.get("type") == "session.closed" and self.status == "connected":
            why = CLOSED_FOR.get(str(event.get("reason")))
            if why is not None:  # the service ended it: say why, and what to do
                self.set_state(status="error", error=why)
            super().hangup()

    def _as_realtime(self, nested: dict[str, Any]) -> dict[str, Any]:
        """A Responses stream event from the backend, as the tool runner reads Realtime's.

        Its function calls carry no response id: they belong to the response in progress.
        """
        kind = nested.get("type")
        given = nested.get("response")
        response: dict[str, Any] = given if isinstance(given, dict) else {}
        if kind == "response.created":
            self._backend_response = str(response.get("id"))
            return nested
        if kind == "response.output_item.done":
            return {**nested, "response_id": self._backend_response}
        if kind in ("response.completed", "response.failed", "response.incomplete"):
            status = {"response.completed": "completed", "response.failed": "failed"}.get(str(kind), "incomplete")
            return {"type": "response.done", "response": {**response, "status": response.get("status", status)}}
        return nested

    def _python_tools(self) -> tuple[Any, ...]:
        delegation = self.live_config.delegation
        return tuple(getattr(delegation, "python_tools", ()) or ())

    def _append(self, type_: str, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{type_} needs some text; got {text!r}.")
        self.send({"type": type_, "content": text, "delegation_id": None})

    # -- analysis ----------------------------------------------------------------------------------

    def transcript(self) -> pd.DataFrame:
        """The timestamped fragments grouped into turns (see :func:`rt_widget.gptlive.analysis.transcript`)."""
        return analysis.transcript(self.events)

    def turns(self) -> pd.DataFrame:
        """One row per user turn, from fragment times (see :func:`rt_widget.gptlive.analysis.turns`)."""
        return analysis.turns(self.events)

    def usage(self) -> pd.DataFrame:
        """Active and standby minutes, per session and in total."""
        return analysis.usage(self.events)

    def cost(self, **kwargs: Any) -> pd.DataFrame:
        """USD per session and in total, priced per minute (see :func:`rt_widget.gptlive.analysis.cost`)."""
        return analysis.cost(self.events, **kwargs)

    # -- the session core's hooks --------------------------------------------------------------------

    async def _create_call(self, sdp: str) -> CallAnswer | DirectCall:
        return await self.provider.connect_live(sdp, self.live_config.to_session())

    def _sideband_target(self, call_id: str) -> Sideband | None:
        return self.provider.live_sideband(call_id)

    def _check_provider(self, provider: Provider) -> None:
        if provider.beta:
            raise ValueError(
                "The legacy beta shape belongs to the Realtime API; GPT-Live has one shape. "
                "Use OpenAI(...) (or Azure(...)) with the same key."
            )
        if getattr(provider, "flow", "unified") == "ephemeral":
            raise ValueError(
                "GPT-Live has no ephemeral flow: the kernel always posts the offer to /v1/live/sessions with its "
                "own key, and the browser never gets one. Use flow='unified' (the default)."
            )

    def _check_session_update(self, event: dict[str, Any]) -> None:
        """Live's ``session.update`` is built by :meth:`update`; its session has no type to check."""


def new_session(**options: Any) -> Session:
    """A :class:`LiveSession` when the settings ask for GPT-Live, else a Realtime :class:`Session`."""
    return LiveSession(**options) if wants_live(options) else Session(**options)
