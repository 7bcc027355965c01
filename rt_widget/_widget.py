"""Realtime: the widget face of a session; its traits mirror the session's state.

Everything a session is (config, provider, events, tools, budget, sideband, the call's state)
lives in :class:`rt_widget.session.Session`; the browser page that shows the widget is its
transport (:class:`rt_widget.session.PageTransport`). This module adds what only a widget has:
synced traits, the comm, and knowing whether a view is on screen.
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import anywidget
import pandas as pd
import traitlets

from .config import SessionConfig
from .events import EventLog
from .gptlive.session import new_session
from .loopback import PageLink
from .providers import Provider
from .recording import Recording
from .redaction import protect_logger, redact
from .session import PageTransport, Session
from .session.renewal import RENEW_AFTER_S
from .session.subscriptions import Callback, Predicate
from .sideband import SidebandConnection
from .throttle import Throttle

log = protect_logger(logging.getLogger(__name__))
_STATIC = pathlib.Path(__file__).parent / "static"

VIEW_WAIT_S = 5.0
"""After connect() with no view known, how long a page has to show up before the user is told."""
_TRAITS = {"status": "status", "error": "error", "call_id": "call_id", "approvals": "_approvals", "notice": "notice"}
"""The session's state fields, and the traits that mirror them."""
SYNC_INTERVAL_S = 0.25
"""The least time between two updates of a synced conversation trait: 4 a second at most."""
_THROTTLED = frozenset({"event_count", "active_response", "cost_usd", "caption"})
"""The session's conversation fields that are synced traits (through the throttle); the others,
``last_event`` and ``transcript_rows``, are kernel-only traits that follow every event."""


class Realtime(anywidget.AnyWidget):
    """A realtime voice session: display it, press Connect, talk.

    The kernel holds the key and answers the browser's WebRTC offer through the provider;
    the browser runs the peer connection and streams every data-channel event back here.
    Every setting is checked before anything goes over the network.

    Parameters
    ----------
    model:
        Realtime model (for Azure, the provider's deployment is used).
    voice:
        Output voice: alloy, ash, ballad, coral, echo, sage, shimmer, verse, marin or cedar.
    instructions:
        System instructions.
    output_modalities:
        ``"audio"`` (spoken replies with transcripts) or ``"text"``.
    transcription:
        Input transcription model (e.g. ``"gpt-4o-mini-transcribe"``), or a dict with
        ``model``, ``language`` and ``prompt``. ``None`` turns it off.
    turn_detection:
        ``"server_vad"``, ``"semantic_vad"``, a dict of VAD settings, or ``None`` for manual
        turns and push-to-talk. VAD settings can also be given directly: ``threshold``,
        ``prefix_padding_ms``, ``silence_duration_ms``, ``idle_timeout_ms``,
        ``create_response``, ``interrupt_response``, ``eagerness``.
    noise_reduction:
        ``"near_field"``, ``"far_field"`` or ``None``.
    tools:
        Python functions (run in the kernel when the model calls them, see :meth:`tool`),
        :class:`~rt_widget.Tool` objects (to ask for approval or set a time limit), or tool
        definitions as dicts (handle those yourself with :meth:`on`).
    tool_choice, max_output_tokens, speed, tracing:
        As in the Realtime API's session object.
    provider:
        ``"openai"``, ``"azure"``, ``"beta"``, ``"emulator"`` or a
        :class:`~rt_widget.providers.Provider`. By default: OpenAI when ``OPENAI_API_KEY`` is
        set, Azure when ``AZURE_OPENAI_ENDPOINT`` is set, otherwise the embedded emulator.
    sideband:
        Also join each call from the kernel over a WebSocket (OpenAI, Azure and the emulator).
        Its events are merged with the browser's, without duplicates.
    loopback:
        Let a page on this machine reach the kernel over a loopback WebSocket (the default):
        its events arrive in about a millisecond, also while a cell runs, and tool results
        go back as fast. Pages elsewhere, or with ``loopback=False``, use Jupyter's comm.
    autosave:
        A ``.jsonl`` path: every event is appended there and flushed batch by batch, so a
        kernel crash loses at most one batch. Reload it with ``rt.EventLog.load(path)``.
    budget_usd:
        Hang up once the session has cost this much (checked at every ``response.done``,
        priced with :func:`rt_widget.analysis.cost`; on Azure also pass ``price_model=``).
    price_model:
        The model to price with, when it is not the session's (e.g. behind an Azure deployment).
    renew:
        The service ends a call after 60 minutes: start a fresh call with the same config
        before that (and on its ``session_expired``), carrying the conversation over as text
        items. The log keeps both calls and an ``rt_widget.session_renewed`` event; the widget
        shows a notice (the ``notice`` trait).
    renew_after_s:
        With ``renew``, how long after it connected a call is renewed (58 minutes by default),
        once no reply is in progress.
    presenter:
        Start in presenter mode: large captions for a projector (also the Presenter button).
    record:
        Record both sides of every call in the page (the microphone as sent, the model's
        voice as received) and stream them to the kernel, which writes them to disk as they
        come (a temporary folder, or ``autosave="run1"``: events and audio there). The widget
        shows REC while it records. :meth:`save` writes everything out.
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    status = traitlets.Unicode("idle", read_only=True).tag(sync=True)
    """Connection state: ``idle``, ``connecting``, ``connected``, ``closed`` or ``error``."""
    error = traitlets.Unicode("", read_only=True).tag(sync=True)
    """What went wrong and what to do, when ``status`` is ``error``; empty otherwise."""
    call_id = traitlets.Unicode("", read_only=True).tag(sync=True)
    """The current call's ``rtc_...`` id (not a secret), empty before the first connect."""
    notice = traitlets.Unicode("", read_only=True).tag(sync=True)
    """What the session did by itself that the user should know (a call renewed), shown in the widget."""
    provider_name = traitlets.Unicode("").tag(sync=True)
    """Which provider answers the calls (``openai``, ``azure``, ``beta``, ``emulator``...)."""
    muted = traitlets.Bool(False).tag(sync=True)
    """Whether the microphone is muted (the call goes on)."""
    volume = traitlets.Float(1.0, min=0.0, max=1.0).tag(sync=True)
    """The model's voice volume in the browser, 0 to 1."""
    presenter = traitlets.Bool(False).tag(sync=True)
    record = traitlets.Bool(False, read_only=True).tag(sync=True)
    api = traitlets.Unicode("realtime", read_only=True).tag(sync=True)
    """Which API the session speaks: ``"realtime"``, or ``"live"`` for GPT-Live (the model decides)."""
    """Whether each call is recorded (``Realtime(record=True)``): the page then shows REC."""
    """Presenter mode: large captions for a projector, the event log hidden."""
    _widget_id = traitlets.Unicode("").tag(sync=True)

    # The conversation as it goes (see Session.conversation): small synced traits, updated at most
    # SYNC_INTERVAL_S apart on the throttle's thread, and kernel-only ones that follow every event.
    event_count = traitlets.Int(0, read_only=True).tag(sync=True)
    """How many events are logged (``len(s.events)``). Synced and throttled: it changes at most 4 times
    a second, always ending on the latest count; observers run on the ``rt-widget-throttle`` thread."""
    active_response = traitlets.Unicode("", read_only=True).tag(sync=True)
    """The id of the response in progress, ``""`` when none: set at ``response.created``, cleared at its
    ``response.done`` and when a new call starts. Synced and throttled, as ``event_count``."""
    cost_usd = traitlets.Float(0.0, allow_none=True, read_only=True).tag(sync=True)
    """What the session has cost so far, in USD, priced as :meth:`cost` does (``price_model=`` on
    Azure); ``None`` when the model has no known price. Grows at each ``response.done``. Synced and
    throttled, as ``event_count``."""
    caption = traitlets.Dict({"role": "", "text": ""}, read_only=True).tag(sync=True)
    """The latest message as it is spoken or typed: its ``role`` (``user``, ``assistant``, ``system``) and the
    last 500 characters of its ``text``, growing with each transcript delta (anything shaped like a
    key is redacted). Synced and throttled, as ``event_count``."""
    last_event = traitlets.Dict(read_only=True)
    """The latest logged event: its ``index`` in :attr:`events` (``s.events[i]`` is the whole record),
    ``type``, ``direction``, ``call_id``, ``item_id`` and ``response_id``, never its payload.
    Kernel-only, changed by every event; observers run on the thread that brought it: the loopback
    link's or the sideband's (also while a cell runs), or the main thread for comm batches (between
    cells). Observe it; link widgets to the synced traits."""
    transcript_rows: traitlets.List[dict[str, Any]] = traitlets.List(read_only=True)
    """Both sides of the conversation live: one dict per item in order of appearance, with
    ``item_id``, ``role``, ``kind``, ``text`` (growing with each delta) and ``interrupted``
    (:meth:`transcript` gives the final table). Kernel-only, a new list at each change, on the
    thread that brought the event, as ``last_event``."""
    # Calls waiting for Approve/Deny in the widget (names and arguments: no secrets).
    _approvals: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    # marimo reruns the cells that read `mo.ui.anywidget(s)` for changes its front end makes, not for
    # the kernel's: in marimo the page answers each change of event_count by writing _echoed.
    _echo = traitlets.Bool(False, read_only=True).tag(sync=True)
    _echoed = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        *,
        provider: Provider | str | None = None,
        sideband: bool = False,
        loopback: bool = True,
        autosave: str | pathlib.Path | None = None,
        budget_usd: float | None = None,
        price_model: str | None = None,
        renew: bool = False,
        renew_after_s: float = RENEW_AFTER_S,
        presenter: bool = False,
        record: bool = False,
        **settings: Any,
    ) -> None:
        if not isinstance(loopback, bool):
            raise ValueError(f"loopback={loopback!r} is not valid: use True or False.")
        if not isinstance(presenter, bool):
            raise ValueError(f"presenter={presenter!r} is not valid: use True or False.")
        self._session = new_session(
            provider=provider,
            sideband=sideband,
            autosave=autosave,
            budget_usd=budget_usd,
            price_model=price_model,
            renew=renew,
            renew_after_s=renew_after_s,
            record=record,
            **settings,
        )
        # The page is the session's transport; anywidget's own send carries the comm messages.
        self._page = PageTransport(self._session, self._send_over_comm, loopback=loopback)
        self._session.attach(self._page)
        super().__init__(_widget_id=uuid.uuid4().hex, provider_name=self._session.provider.name, presenter=presenter)
        self.set_trait("record", record)
        self.set_trait("api", self._session.api)
        self.set_trait("_echo", _in_marimo())
        self._session.subscribe(self._mirror)
        self._throttle = Throttle(self._show_conversation, SYNC_INTERVAL_S)
        self._session.watch(self._follow)
        now = self._session.conversation
        self._show_conversation({name: now[name] for name in _THROTTLED})  # cost_usd is None for no price
        self.on_msg(lambda _widget, msg, buffers: self._on_message({**msg, "buffers": buffers} if buffers else msg))

    # -- the session, mirrored -------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The session this widget shows: everything but the view (no anywidget in it)."""
        return self._session

    @property
    def config(self) -> SessionConfig:
        """The validated session configuration sent with every new call."""
        return self._session.config

    @property
    def provider(self) -> Provider:
        """Where calls are created, and keys come from."""
        return self._session.provider

    @property
    def events(self) -> EventLog:
        """Every event of every call, in order."""
        return self._session.events

    def _mirror(self, changes: dict[str, Any]) -> None:
        """The session's state changed (on any thread): show it in the traits."""
        for name, value in changes.items():
            if name in _TRAITS:
                self.set_trait(_TRAITS[name], value)  # read-only for users: the session owns them

    def _follow(self, changes: dict[str, Any]) -> None:
        """An event was logged (told in log order, on the thread that brought it): show what changed."""
        for name in ("last_event", "transcript_rows"):
            if name in changes:
                self.set_trait(name, changes[name])
        synced = {name: value for name, value in changes.items() if name in _THROTTLED}
        if synced:
            self._throttle.push(synced)

    def _show_conversation(self, changes: dict[str, Any]) -> None:
        """The throttle's delivery: the latest value of each synced field that changed."""
        for name, value in changes.items():
            if name == "caption":  # what the model said goes to the page and the saved notebook
                value = {**value, "text": redact(value["text"])}
            self.set_trait(name, value)

    # -- commands ------------------------------------------------------------------------------

    def connect(self) -> None:
        """Ask the displayed widget to start a call (same as pressing Connect).

        The call runs in the browser, so a view of the widget must be on screen: display it
        first (put it at the end of a cell, or ``display(s)``). A widget shown inside a container
        counts once the page has drawn it; if no page reports a view within a few seconds, the
        ``error`` trait and the log say what to do.
        """
        self._session.connect()
        if not self._page.displayed:
            timer = threading.Timer(VIEW_WAIT_S, self._check_connect_was_seen)
            timer.daemon = True
            timer.start()

    def _check_connect_was_seen(self) -> None:
        if self._page.displayed or self.status != "idle":
            return  # a page drew the widget (inside a container, say) and took the command
        error = (
            "connect() found no view of this widget: the call runs in the browser. Display the widget "
            "(put `s` at the end of a cell) and then press Connect or call connect()."
        )
        log.warning("%s", error)  # first: whoever sees the error can find the log line too
        self._session.set_state(error=error)

    def hangup(self) -> None:
        """End the current call (same as pressing Hang up)."""
        self._session.hangup()

    def send(self, event: dict[str, Any], buffers: Any = None) -> None:
        """Send one client event to the call, e.g. ``s.send({"type": "response.create"})``.

        It goes out on the browser's data channel (or the sideband when the browser is not
        connected) and is logged as a ``client`` event.
        """
        if isinstance(event, dict) and "kind" in event and "type" not in event:
            super().send(event, buffers)  # a widget-protocol message (anywidget's own)
            return
        self._session.send(event)

    def say(self, text: str) -> None:
        """Add a user text message and ask for a reply."""
        self._session.say(text)

    def update(self, **settings: Any) -> None:
        """Change session settings; sends a ``session.update`` when connected.

        Takes the same settings as the constructor, e.g. ``s.update(instructions="...")`` or
        ``s.update(threshold=0.7)``. Invalid settings raise before anything is sent.
        """
        self._session.update(**settings)

    def interrupt(self) -> None:
        """Stop the model: cancel the response in progress, then cut off its audio."""
        self._session.interrupt()

    def mute(self, muted: bool = True) -> None:
        """Mute (or unmute) the microphone; the call goes on."""
        if not isinstance(muted, bool):
            raise ValueError(f"mute({muted!r}) is not valid: use mute() or mute(True) to mute, mute(False) to unmute.")
        self.muted = muted

    def tool(
        self, fn: Callable[..., Any] | None = None, *, needs_approval: bool = False, timeout: float | None = 30.0
    ) -> Any:
        """Offer a Python function to the model; use as ``@s.tool`` or ``@s.tool(needs_approval=True)``.

        When the model calls it, the kernel runs it (``async def`` on a background loop, a plain
        function in a worker thread, within ``timeout`` seconds), sends the result back as JSON
        (DataFrames and numpy values included) and asks the model to go on. An exception or a
        timeout reaches the model as ``{"error": ...}``. Each call is in :attr:`tool_calls`.
        With ``needs_approval`` the widget shows the call with Approve and Deny buttons (or
        use :meth:`approve` and :meth:`deny`). Registering while connected updates the session.
        The model passes arguments by name, so every parameter must be named and typed: no
        positional-only parameters, ``*args`` or ``**kwargs``; a generator function is refused
        (return a list).
        """
        return self._session.tool(fn, needs_approval=needs_approval, timeout=timeout)

    @property
    def tool_calls(self) -> pd.DataFrame:
        """One row per function call of a Python tool, oldest first.

        Columns: ``call_id``, ``name``, ``arguments`` (the model's JSON), ``status`` (``ok``,
        ``error``, ``timeout``, ``denied``, ``running``, ``awaiting approval``, ``lapsed``),
        ``output`` (what the model was sent), ``seconds`` (the function's own time) and
        ``response_id``.
        """
        return self._session.tool_calls

    def approve(self, call_id: str | None = None) -> None:
        """Run a call that waits for approval (the only one waiting, when no id is given)."""
        self._session.approve(call_id)

    def deny(self, call_id: str | None = None, reason: str = "") -> None:
        """Refuse a call that waits for approval; the model is told, with ``reason`` if given."""
        self._session.deny(call_id, reason)

    def on(self, type_: str, callback: Callback) -> None:
        """Call ``callback(event)`` for every event of ``type_`` (``"*"`` for all).

        Events that come over the loopback link or the sideband are delivered on those
        connections' threads, also while a cell runs: keep callbacks short and thread-safe.
        Events are logged under their GA names (also with the legacy beta provider); an
        unknown type raises ``ValueError`` (it would never be called).
        """
        self._session.on(type_, callback)

    def off(self, type_: str, callback: Callback | None = None) -> None:
        """Remove one callback for ``type_``, or all of them (nothing happens if none is there)."""
        self._session.off(type_, callback)

    async def wait_for(
        self,
        type_: str,
        timeout: float | None = 30,  # noqa: ASYNC109 - the API the docs show
        predicate: Predicate | None = None,
    ) -> dict[str, Any]:
        """Wait, inside a running cell, for the next event of ``type_``; return it.

        A running cell keeps the kernel busy, and then comm messages wait; so this needs a path
        that reaches the kernel directly: the page's loopback link (on by default when the
        browser runs on the kernel's machine) or the sideband (``Realtime(sideband=True)``).

        Parameters
        ----------
        type_:
            The event type, e.g. ``"response.done"``; ``"*"`` for any event.
        timeout:
            Seconds to wait (above 0), or ``None`` to wait as long as it takes.
        predicate:
            Only an event for which ``predicate(event)`` is true counts, e.g.
            ``lambda e: e["response"]["status"] == "completed"``.
        """
        return await self._session.wait_for(type_, timeout, predicate)

    @property
    def stats(self) -> pd.DataFrame:
        """Transport statistics sampled by the browser every second while connected.

        Columns: ``t``, ``call_id``, ``rtt_s``, ``jitter_s``, ``packets_lost``,
        ``packets_received``, ``packets_sent``, ``audio_level_in`` (the model's voice, 0-1),
        ``audio_level_mic``, ``codec``.
        """
        return self._session.stats

    # -- analysis ------------------------------------------------------------------------------

    def transcript(self) -> pd.DataFrame:
        """Both sides of the conversation, one row per item, in conversation order."""
        return self._session.transcript()

    def turns(self) -> pd.DataFrame:
        """One row per user turn: its timeline, latencies, tool calls and outcome."""
        return self._session.turns()

    def usage(self) -> pd.DataFrame:
        """Tokens by modality per response, with a total row."""
        return self._session.usage()

    def cost(self, **kwargs: Any) -> pd.DataFrame:
        """USD per response and in total (see :func:`rt_widget.analysis.cost` for options)."""
        return self._session.cost(**kwargs)

    def recording(self) -> Recording:
        """The session so far as a recording: events, both tracks (with ``record=True``) and settings."""
        return self._session.recording()

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write the session to the folder ``path``: events, both tracks (FLAC), settings, no key.

        See :func:`rt_widget.load`. Without ``record=True`` the saved tracks are empty.
        """
        return self._session.save(path)

    # -- the comm, and the view ----------------------------------------------------------------

    def _send_over_comm(self, msg: dict[str, Any]) -> None:
        anywidget.AnyWidget.send(self, msg)  # anywidget's own send: Realtime.send is for client events

    def _on_message(self, msg: dict[str, Any], page: PageLink | None = None) -> None:
        """A message from a page: over the comm (main thread) or its link (the link's thread)."""
        self._page.on_message(msg, page)

    def __repr__(self) -> str:
        # Shown by nbconvert, print() and the text/plain of the display: no secret, ever.
        session: Session | None = getattr(self, "_session", None)  # None in a half-built widget
        # A GPT-Live session's settings are its live_config (both have a model and a voice).
        config = (getattr(session, "live_config", None) or session.config) if session is not None else None
        voice = config.voice if config is not None and config.voice is not None else "default"
        fields = {
            "status": getattr(self, "status", "idle"),
            "provider": getattr(self, "provider_name", ""),
            "api": session.api if session is not None else "realtime",
            "model": config.model if config is not None else None,
            "voice": voice if isinstance(voice, str) else voice.get("id"),
            "events": len(session.events) if session is not None else 0,
            "call_id": getattr(self, "call_id", "") or None,
        }
        return "Realtime(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle: tuple[dict[str, Any], dict[str, Any]] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            self._page.displayed = True  # a front end that renders widgets now draws a view
        return bundle

    def close(self) -> None:
        """Close the widget (its views disappear); the loopback token stops working."""
        page: PageTransport | None = getattr(self, "_page", None)  # close() also runs for a half-built widget
        if page is not None:
            page.close()
        throttle: Throttle | None = getattr(self, "_throttle", None)
        if throttle is not None:
            self._session.unwatch(self._follow)
            throttle.close(flush=False)  # nothing more to show in views that are going away
        super().close()

    # -- names the tests and the browser suite read (the session and the page hold the state) ----

    def _post(self, msg: dict[str, Any]) -> None:
        self._page.post(msg)

    def _reply(self, msg: dict[str, Any], page: PageLink | None) -> None:
        self._page.reply(msg, page)

    def _linked(self) -> bool:
        return self._page.linked()

    def _ingest(
        self,
        event: dict[str, Any],
        direction: str,
        *,
        seq: int | None = None,
        call_id: str | None = None,
        t_browser: float | None = None,
    ) -> None:
        self._session.ingest(event, direction, seq=seq, call_id=call_id, t_browser=t_browser)

    def _on_call(self, call_id: str) -> None:
        self._session.call_started(call_id)

    def _close_sideband(self) -> None:
        self._session._close_sideband()

    def _open_sideband(self) -> SidebandConnection | None:
        return self._session._open_sideband()

    @property
    def _sideband(self) -> SidebandConnection | None:
        return self._session._sideband

    @property
    def _sideband_error(self) -> str:
        return self._session._sideband_error

    @property
    def _active_response(self) -> str | None:
        return self._session.active_response


def _in_marimo() -> bool:
    """Whether this kernel is a marimo notebook's or app's (marimo is imported there already)."""
    marimo = sys.modules.get("marimo")
    return bool(marimo is not None and marimo.running_in_notebook())
