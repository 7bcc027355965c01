"""Realtime: the widget's traits and the messages between kernel and browser."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import difflib
import logging
import os
import pathlib
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import anywidget
import pandas as pd
import traitlets

from . import analysis, beta, protocol, providers
from ._checks import clip, finite
from ._loop import io_loop
from .config import VAD_FIELDS, SessionConfig, check_message_size
from .dispatch import Dispatcher
from .events import EventLog
from .loopback import PageLink, loopback_server
from .providers import CallAnswer, ConnectError, DirectCall, Provider
from .redaction import has_tool_credentials, protect_logger, redact, without_tool_credentials
from .sideband import SidebandConnection
from .streams import Stream
from .tools import Tool, as_tools

log = protect_logger(logging.getLogger(__name__))  # a provider's traceback may quote its key
_STATIC = pathlib.Path(__file__).parent / "static"

CLIENT_EVENTS = frozenset(protocol.CLIENT_EVENTS)
EVENT_TYPES = frozenset(protocol.SERVER_EVENTS + protocol.CLIENT_EVENTS + protocol.LIBRARY_EVENTS)
"""What ``on`` and ``wait_for`` accept (besides ``"*"``): every event that can be logged."""
SIDEBAND_JOIN_S = 15.0
VIEW_WAIT_S = 5.0
"""After connect() with no view known, how long a page has to show up before the user is told."""
"""How long the sideband may take to join a call before it is reported as failed."""
Callback = Callable[[dict[str, Any]], object]
Predicate = Callable[[dict[str, Any]], object]


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
    presenter:
        Start in presenter mode: large captions for a projector (also the Presenter button).
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
    """Which provider answers the calls (``openai``, ``azure``, ``beta``, ``emulator``...)."""
    muted = traitlets.Bool(False).tag(sync=True)
    """Whether the microphone is muted (the call goes on)."""
    volume = traitlets.Float(1.0, min=0.0, max=1.0).tag(sync=True)
    """The model's voice volume in the browser, 0 to 1."""
    presenter = traitlets.Bool(False).tag(sync=True)
    """Presenter mode: large captions for a projector, the event log hidden."""
    _widget_id = traitlets.Unicode("").tag(sync=True)
    # Calls waiting for Approve/Deny in the widget (names and arguments: no secrets).
    _approvals: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)

    def __init__(
        self,
        *,
        provider: Provider | str | None = None,
        sideband: bool = False,
        loopback: bool = True,
        autosave: str | pathlib.Path | None = None,
        budget_usd: float | None = None,
        price_model: str | None = None,
        presenter: bool = False,
        **settings: Any,
    ) -> None:
        if "tools" in settings:
            settings["tools"] = as_tools(settings["tools"])
        self.config = SessionConfig.from_kwargs(**settings)
        """The validated session configuration sent with every new call."""
        self._dispatcher = Dispatcher(self._send_preferring_sideband, self._show_approvals)
        if "tools" in settings:
            self._dispatcher.replace(settings["tools"] or [])
        budget = None if budget_usd is None else finite(budget_usd)
        if budget_usd is not None and (budget is None or budget <= 0):
            raise ValueError(
                f"budget_usd={budget_usd!r} is not valid: use a positive amount of US dollars, e.g. 0.50, "
                "or None for no budget."
            )
        if price_model is not None and (not isinstance(price_model, str) or not price_model):
            raise ValueError(f"price_model={price_model!r} is not valid: use a model name such as 'gpt-realtime'.")
        self._price_model = price_model or self.config.model
        if budget_usd is not None:
            try:  # fail now, not at the first reply, if it has no price
                analysis.prices_for(self._price_model)
            except analysis.UnknownModelError:
                raise analysis.UnknownModelError(
                    f"No price for model {self._price_model!r}, so budget_usd cannot be counted. Pass the model "
                    "behind it as price_model=..., e.g. price_model='gpt-realtime'."
                ) from None
        self.provider = providers.select(provider)
        if not isinstance(sideband, bool):
            raise ValueError(f"sideband={sideband!r} is not valid: use True or False.")
        if sideband and self.provider.beta:
            raise ValueError("The legacy beta shape has no sideband connection; use sideband=False.")
        if not isinstance(loopback, bool):
            raise ValueError(f"loopback={loopback!r} is not valid: use True or False.")
        if not isinstance(presenter, bool):
            raise ValueError(f"presenter={presenter!r} is not valid: use True or False.")
        if autosave is not None and not isinstance(autosave, str | os.PathLike):
            raise TypeError(f"autosave={autosave!r} is not valid: use a .jsonl file path, e.g. 'session.jsonl'.")
        super().__init__(_widget_id=uuid.uuid4().hex, provider_name=self.provider.name, presenter=presenter)
        self.events = EventLog()
        """Every event of every call, in order."""
        if autosave is not None:
            try:
                self.events.autosave(autosave)
            except OSError as exc:
                raise ValueError(
                    f"autosave={str(autosave)!r} cannot be written ({exc.strerror or exc}): "
                    "use a path in an existing folder you can write to."
                ) from None
        self._sideband_wanted = sideband
        self._sideband: SidebandConnection | None = None
        self._sideband_error = ""  # why the current call's sideband could not join, if it could not
        # A view was asked for (the widget ended a cell, or display()) or a page drew one.
        self._displayed = False
        self._loopback_wanted = loopback
        self._loopback_token: str | None = None
        self._calling_page: PageLink | None = None  # the page in the call, when it has a link
        self._streams: dict[str, Stream] = {}  # per page: events in order, whichever path
        self._order = threading.Lock()  # one batch at a time, from the comm or the link
        self._seen: set[str] = set()  # server event ids, so sideband and browser copies merge
        self._lock = threading.Lock()
        self._sideband_lock = threading.Lock()  # the sideband is swapped by offers and its watcher
        self._callbacks: dict[str, list[Callback]] = {}
        self._waiters: list[_Waiter] = []
        self._active_response: str | None = None
        self._stats: list[dict[str, Any]] = []
        self._budget = budget
        self._spent = 0.0  # USD of every response so far, priced as it is done
        self.on_msg(lambda _widget, msg, _buffers: self._on_message(msg))

    # -- commands ------------------------------------------------------------------------------

    def connect(self) -> None:
        """Ask the displayed widget to start a call (same as pressing Connect).

        The call runs in the browser, so a view of the widget must be on screen: display it
        first (put it at the end of a cell, or ``display(s)``). A widget shown inside a container
        counts once the page has drawn it; if no page reports a view within a few seconds, the
        ``error`` trait and the log say what to do.
        """
        self._post({"kind": "connect"})
        if not self._displayed:
            timer = threading.Timer(VIEW_WAIT_S, self._check_connect_was_seen)
            timer.daemon = True
            timer.start()

    def _check_connect_was_seen(self) -> None:
        if self._displayed or self.status != "idle":
            return  # a page drew the widget (inside a container, say) and took the command
        self.error = (
            "connect() found no view of this widget: the call runs in the browser. Display the widget "
            "(put `s` at the end of a cell) and then press Connect or call connect()."
        )
        log.warning("%s", self.error)

    def hangup(self) -> None:
        """End the current call (same as pressing Hang up)."""
        self._post({"kind": "hangup"})
        self._close_sideband()

    def send(self, event: dict[str, Any], buffers: Any = None) -> None:
        """Send one client event to the call, e.g. ``s.send({"type": "response.create"})``.

        It goes out on the browser's data channel (or the sideband when the browser is not
        connected) and is logged as a ``client`` event.
        """
        if isinstance(event, dict) and "kind" in event and "type" not in event:
            super().send(event, buffers)  # a widget-protocol message (anywidget's own)
            return
        self._check_client_event(event)
        if self.status != "connected" and self._open_sideband() is not None:
            self._send_preferring_sideband(event)
            return
        self._need_call(f"Cannot send {event['type']!r}")
        self._post({"kind": "send", "event": event})

    def _need_call(self, what: str) -> None:
        """Raise, saying why and what to do, unless there is a call to send to."""
        if self.status in ("connected", "connecting") or self._open_sideband() is not None:
            return
        if self.status == "error":
            reason = self.error.strip().rstrip(".") or "no reason was given"
            state = f"the last connect failed ({reason}). Once that is fixed, press Connect or call connect() again"
        elif self.status == "closed":
            state = "the call has ended. Press Connect or call connect() to start a new one"
        else:
            state = (
                "there is no call yet. Press Connect in the widget or call connect() "
                "(display the widget first: put `s` at the end of a cell)"
            )
        raise RuntimeError(f"{what}: {state}.")

    def say(self, text: str) -> None:
        """Add a user text message and ask for a reply."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"say() needs some text; got {text!r}.")
        self._need_call(f"Cannot say {_short(text)}")
        self.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
            }
        )
        self.send({"type": "response.create"})

    def update(self, **settings: Any) -> None:
        """Change session settings; sends a ``session.update`` when connected.

        Takes the same settings as the constructor, e.g. ``s.update(instructions="...")`` or
        ``s.update(threshold=0.7)``. Invalid settings raise before anything is sent.
        """
        if not settings:
            raise ValueError("update() needs at least one setting, e.g. update(instructions='...').")
        if "tools" in settings:
            settings["tools"] = as_tools(settings["tools"])
        changed = self.config.updated(**settings)
        update: dict[str, Any] | None = None
        credentials = False
        if self.status == "connected":
            session = changed.to_beta() if self.provider.beta else changed.to_ga(only=_fields(settings))
            update = {"type": "session.update", "session": session}
            check_message_size(update)
            credentials = has_tool_credentials(session.get("tools"))
            if credentials and self._open_sideband() is None:
                raise ValueError(
                    "This update holds an MCP server's authorization or headers, and sent now it would pass "
                    "through the browser. Connect with sideband=True (updates then go over the kernel's own "
                    "connection), or give the MCP tool when you create the session (the kernel sends it)."
                )
        self.config = changed
        if "tools" in settings:
            self._dispatcher.replace(settings["tools"] or [])
        if update is not None:
            if credentials:
                self._send_preferring_sideband(update)  # open: checked above
            else:
                self.send(update)

    def interrupt(self) -> None:
        """Stop the model: cancel the response in progress, then cut off its audio."""
        self._need_call("Cannot interrupt")
        if self._active_response is not None:
            self.send({"type": "response.cancel"})
        self.send({"type": "output_audio_buffer.clear"})

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

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            self.update(tools=self._dispatcher.adding(Tool(function, needs_approval, timeout)))
            return function

        return register if fn is None else register(fn)

    @property
    def tool_calls(self) -> pd.DataFrame:
        """One row per function call of a Python tool, oldest first.

        Columns: ``call_id``, ``name``, ``arguments`` (the model's JSON), ``status`` (``ok``,
        ``error``, ``timeout``, ``denied``, ``running``, ``awaiting approval``, ``lapsed``),
        ``output`` (what the model was sent), ``seconds`` (the function's own time) and
        ``response_id``.
        """
        columns = ["call_id", "name", "arguments", "status", "output", "seconds", "response_id"]
        return pd.DataFrame([vars(call) for call in self._dispatcher.calls], columns=columns)

    def approve(self, call_id: str | None = None) -> None:
        """Run a call that waits for approval (the only one waiting, when no id is given)."""
        self._dispatcher.decide(self._waiting(call_id), approved=True)

    def deny(self, call_id: str | None = None, reason: str = "") -> None:
        """Refuse a call that waits for approval; the model is told, with ``reason`` if given."""
        if not isinstance(reason, str):
            raise TypeError(f"reason={reason!r} is not valid: use a string the model will read, or leave it out.")
        self._dispatcher.decide(self._waiting(call_id), approved=False, reason=reason)

    def _waiting(self, call_id: str | None) -> str:
        if call_id is not None:
            if not isinstance(call_id, str):
                raise TypeError(f"call_id={call_id!r} is not valid: use the call's id, a string like 'call_...'.")
            return call_id
        pending = [str(p["call_id"]) for p in self._dispatcher.pending()]
        if not pending:
            raise ValueError(
                "No call waits for approval: approve() and deny() are for tools made with needs_approval=True, "
                "once the model calls one (see s.tool_calls)."
            )
        if len(pending) > 1:
            raise ValueError(
                f"{len(pending)} calls wait for approval ({', '.join(pending)}): "
                f"say which one, e.g. approve({pending[0]!r})."
            )
        return pending[0]

    def on(self, type_: str, callback: Callback) -> None:
        """Call ``callback(event)`` for every event of ``type_`` (``"*"`` for all).

        Events that come over the loopback link or the sideband are delivered on those
        connections' threads, also while a cell runs: keep callbacks short and thread-safe.
        Events are logged under their GA names (also with the legacy beta provider); an
        unknown type raises ``ValueError`` (it would never be called).
        """
        _check_event_type("on()", type_)
        if not callable(callback):
            raise TypeError(f"on() needs a callable; got {callback!r}.")
        with self._lock:
            self._callbacks.setdefault(type_, []).append(callback)

    def off(self, type_: str, callback: Callback | None = None) -> None:
        """Remove one callback for ``type_``, or all of them (nothing happens if none is there)."""
        _check_event_type("off()", type_)
        if callback is not None and not callable(callback):
            raise TypeError(f"off() takes the callback given to on(), or None for all; got {callback!r}.")
        with self._lock:
            if callback is None:
                self._callbacks.pop(type_, None)
            elif callback in self._callbacks.get(type_, []):
                self._callbacks[type_].remove(callback)

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
        _check_event_type("wait_for()", type_)
        seconds = None if timeout is None else finite(timeout)
        if timeout is not None and (seconds is None or seconds <= 0):
            raise ValueError(f"timeout={timeout!r} is not valid: use a number of seconds above 0, or None.")
        if predicate is not None and not callable(predicate):
            raise TypeError(
                f"predicate={predicate!r} is not valid: use a function of the event that returns True or False."
            )
        if self._open_sideband() is None and not self._linked():
            raise RuntimeError(self._no_direct_path())
        loop = asyncio.get_running_loop()
        waiter = _Waiter(type_, predicate, loop, loop.create_future())
        with self._lock:
            self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter.future, seconds)
        except TimeoutError:
            raise TimeoutError(f"No {type_!r} event within {timeout} s.") from None
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _no_direct_path(self) -> str:
        """Why no event can reach the kernel while a cell runs, and what to do (for wait_for)."""
        intro = "wait_for() needs events that reach the kernel while a cell runs, "
        if self._sideband_wanted:
            if self._sideband_error:
                return intro + f"and the sideband could not join this call. {self._sideband_error}"
            if self.status != "connected":
                self._need_call("wait_for() has nothing to wait on")  # raises, saying how to connect
            return intro + (
                "and the sideband has not joined the call yet (or has left it). "
                "Try again in a moment; if it persists, hang up and connect again."
            )
        return intro + (
            "and there is no path for them: connect from a browser on this machine (the loopback link), "
            "or create the session with Realtime(sideband=True) and connect. Comm messages wait until the cell ends."
        )

    @property
    def stats(self) -> pd.DataFrame:
        """Transport statistics sampled by the browser every second while connected.

        Columns: ``t``, ``call_id``, ``rtt_s``, ``jitter_s``, ``packets_lost``,
        ``packets_received``, ``packets_sent``, ``audio_level_in`` (the model's voice, 0-1),
        ``audio_level_mic``, ``codec``.
        """
        columns = ["t", "call_id", "rtt_s", "jitter_s", "packets_lost", "packets_received"]
        columns += ["packets_sent", "audio_level_in", "audio_level_mic", "codec"]
        return pd.DataFrame(list(self._stats), columns=columns)

    # -- analysis ------------------------------------------------------------------------------

    def transcript(self) -> pd.DataFrame:
        """Both sides of the conversation, one row per item, in conversation order."""
        return analysis.transcript(self.events)

    def turns(self) -> pd.DataFrame:
        """One row per user turn: its timeline, latencies, tool calls and outcome."""
        return analysis.turns(self.events)

    def usage(self) -> pd.DataFrame:
        """Tokens by modality per response, with a total row."""
        return analysis.usage(self.events)

    def cost(self, **kwargs: Any) -> pd.DataFrame:
        """USD per response and in total (see :func:`rt_widget.analysis.cost` for options)."""
        return analysis.cost(self.events, **kwargs)

    # -- messages from the browser ---------------------------------------------------------------

    def _post(self, msg: dict[str, Any]) -> None:
        """A command for the page in the call: over its link when it has one, else the comm."""
        self._reply(msg, self._calling_page)

    def _reply(self, msg: dict[str, Any], page: PageLink | None) -> None:
        if page is not None:
            page.send(msg)
        else:
            anywidget.AnyWidget.send(self, msg)

    def _on_message(self, msg: dict[str, Any], page: PageLink | None = None) -> None:
        """A message from a page: over the comm (main thread) or its link (the link's thread)."""
        if not isinstance(msg, dict):
            log.warning("A message from the page that is not an object was dropped (a %s).", type(msg).__name__)
            return
        kind = msg.get("kind")
        if kind == "view":
            self._displayed = True
        elif kind == "link":
            self._on_link_request(str(msg.get("id", "")))
        elif kind == "offer":
            self._on_offer(str(msg.get("id", "")), str(msg.get("sdp", "")), page)
        elif kind == "events":
            self._on_events(str(msg.get("stream", "")), msg.get("events") or [])
        elif kind == "call":
            self._on_call(str(msg.get("call_id") or ""))
        elif kind == "approval":
            try:
                self._dispatcher.decide(str(msg.get("call_id")), bool(msg.get("approved")))
            except ValueError as exc:  # decided already (in Python or another view)
                log.info("%s", exc)
        elif kind == "stats":
            self._on_stats(msg)

    def _on_stats(self, msg: dict[str, Any]) -> None:
        """One sample of the browser's transport statistics; fields of the wrong kind are left out."""
        t, stats = msg.get("t"), msg.get("stats")
        if not isinstance(stats, dict) or isinstance(t, bool) or not isinstance(t, int | float):
            log.warning("A stats message from the page without a time or a stats object was dropped.")
            return
        sample: dict[str, Any] = {
            "t": t / 1000,
            "call_id": msg.get("call_id") if isinstance(msg.get("call_id"), str) else None,
        }
        for name, value in stats.items():
            if isinstance(name, str) and (value is None or isinstance(value, str | int | float)):
                sample[name] = value
        self._stats.append(sample)

    def _on_link_request(self, request_id: str) -> None:
        """Tell the page (over the comm, once: never a trait) where and how to join the link."""
        reply: dict[str, Any] = {"kind": "link", "id": request_id, "url": None}
        if self._loopback_wanted:
            server = loopback_server()
            if self._loopback_token is None:
                self._loopback_token = server.route(self._on_message, lambda msg: self._reply(msg, None))
            reply.update(url=server.url, token=self._loopback_token)
        self._reply(reply, None)

    def _on_offer(self, request_id: str, sdp: str, page: PageLink | None) -> None:
        self._close_sideband()
        self._active_response = None
        self._dispatcher.reset()
        self._calling_page = page  # commands for this call go to the page that made it
        future = io_loop().submit(self.provider.connect(sdp, self.config))
        future.add_done_callback(lambda f: self._answer(request_id, f, page))

    def _answer(
        self, request_id: str, future: concurrent.futures.Future[CallAnswer | DirectCall], page: PageLink | None
    ) -> None:
        try:
            result = future.result()
        except ConnectError as exc:
            self._reply({"kind": "answer", "id": request_id, "error": str(exc)}, page)
            return
        except Exception as exc:
            log.debug("connect failed", exc_info=True)
            # A provider of the user's own may raise anything; its text must still hold no key.
            message = redact(f"Unexpected {type(exc).__name__} while creating the call: {exc}")
            self._reply({"kind": "answer", "id": request_id, "error": message}, page)
            return
        if isinstance(result, DirectCall):
            # The ephemeral key travels once, in this message: never in a trait or the log.
            direct = {"url": result.url, "token": result.token}
            self._reply({"kind": "answer", "id": request_id, "direct": direct}, page)
            return
        self._reply({"kind": "answer", "id": request_id, "sdp": result.sdp, "call_id": result.call_id}, page)
        self._on_call(result.call_id or "")

    def _on_call(self, call_id: str) -> None:
        if not call_id or (call_id == self.call_id and self._sideband is not None):
            return
        self.call_id = call_id
        self._sideband_error = ""
        if not self._sideband_wanted:
            return
        try:
            target = self.provider.sideband(call_id)
        except ConnectError as exc:  # e.g. Azure's token provider failed
            self._sideband_failed(call_id, str(exc))
            return
        if target is None:
            self._sideband_failed(call_id, f"the {self.provider.name} provider offers no sideband for it")
            return
        sideband = SidebandConnection(target, lambda e: self._from_sideband(e, call_id))
        with self._sideband_lock:
            self._sideband = sideband
        # Joining takes a moment and may fail; watch it without holding up the answer.
        threading.Thread(target=self._watch_sideband, args=(sideband, call_id), daemon=True).start()

    def _watch_sideband(self, sideband: SidebandConnection, call_id: str) -> None:
        try:
            sideband.wait_ready(SIDEBAND_JOIN_S)
        except Exception as exc:  # whatever stopped it, the user must hear of it
            if isinstance(exc, ConnectError):  # the sideband's own words, redacted
                reason = str(exc)
            elif isinstance(exc, TimeoutError):
                reason = f"it did not join within {SIDEBAND_JOIN_S:g} s"
            else:
                reason = redact(f"{type(exc).__name__}: {exc}")
            with self._sideband_lock:  # a new call may be replacing this one on another thread
                if self._sideband is not sideband:
                    return  # the call was hung up or replaced meanwhile: not its news
                self._sideband = None
                self._sideband_failed(call_id, reason)
            sideband.close()

    def _sideband_failed(self, call_id: str, reason: str) -> None:
        """Report a sideband that cannot join (in ``error`` and the log): the call goes on without it."""
        self._sideband_error = (
            f"The sideband could not join call {call_id} ({reason}). The call goes on, "
            "but its events reach the kernel only between cells: wait_for() cannot see them while a cell runs, "
            "and tool results wait for the browser. Hang up and connect again to retry."
        )
        log.warning("%s", self._sideband_error)
        self.error = self._sideband_error

    @traitlets.observe("status")
    def _keep_sideband_error(self, change: dict[str, Any]) -> None:
        # The page clears ``error`` when its call connects; a failed sideband must stay reported.
        if change["new"] == "connected" and self._sideband_error and not self.error:
            self.error = self._sideband_error

    def _from_sideband(self, event: dict[str, Any], call_id: str) -> None:
        self._ingest(event, "server", call_id=call_id)
        self.events.flush()

    def _close_sideband(self) -> None:
        with self._sideband_lock:
            sideband, self._sideband = self._sideband, None
            self._sideband_error = ""
        if sideband is not None:
            sideband.close()

    def _on_events(self, stream: str, batch: list[dict[str, Any]]) -> None:
        with self._order:  # batches from the comm and the link, one at a time
            for item in self._streams.setdefault(stream, Stream()).accept(batch):
                t = item.get("t")
                direction = "client" if item.get("direction") == "client" else "server"
                self._ingest(
                    item["event"],
                    direction,
                    seq=int(item["seq"]),
                    call_id=item.get("call_id") or None,
                    t_browser=t / 1000 if t is not None else None,
                )
        self.events.flush()

    def _ingest(
        self,
        event: dict[str, Any],
        direction: str,
        *,
        seq: int | None = None,
        call_id: str | None = None,
        t_browser: float | None = None,
    ) -> None:
        """Log one event (once, whichever path brings it first) and notify listeners."""
        if self.provider.beta:
            event = beta.event_to_ga(event)
        event = without_tool_credentials(event)  # an MCP server's token is not for the log
        event_id = event.get("event_id") if direction == "server" else None
        with self._lock:
            if isinstance(event_id, str):
                if event_id in self._seen:
                    return
                self._seen.add(event_id)
            self.events.append(event, direction=direction, seq=seq, call_id=call_id, t_browser=t_browser)  # type: ignore[arg-type]
            callbacks = [*self._callbacks.get(event.get("type", ""), []), *self._callbacks.get("*", [])]
            candidates = [w for w in self._waiters if w.type in (event.get("type"), "*")]
        try:  # the event is logged; whatever its shape, acting on it must not stop the batch
            self._track(event)
            if direction == "server":
                self._dispatcher.observe(event)
        except Exception:
            log.warning("An event of type %r could not be acted on; it is logged as it came.", event.get("type"))
            log.debug("acting on the event failed", exc_info=True)
        for waiter in candidates:
            waiter.offer(event)  # the predicate runs outside the lock: it may read the widget
        for callback in callbacks:
            try:
                callback(event)
            except Exception:  # a user's callback must not break event delivery
                log.exception("callback for %s failed", event.get("type"))

    def _track(self, event: dict[str, Any]) -> None:
        response = event.get("response")
        response = response if isinstance(response, dict) else {}
        if event.get("type") == "response.created":
            self._active_response = response.get("id")
        elif event.get("type") == "response.done":
            self._active_response = None
            self._check_budget(response)

    def _linked(self) -> bool:
        page = self._calling_page
        return page is not None and page.open

    def __repr__(self) -> str:
        # Shown by nbconvert, print() and the text/plain of the display: no secret, ever.
        config = getattr(self, "config", None)
        voice = config.voice if config is not None and config.voice is not None else "default"
        fields = {
            "status": getattr(self, "status", "idle"),
            "provider": getattr(self, "provider_name", ""),
            "model": config.model if config is not None else None,
            "voice": voice if isinstance(voice, str) else voice.get("id"),
            "events": len(self.events) if hasattr(self, "events") else 0,
            "call_id": getattr(self, "call_id", "") or None,
        }
        return "Realtime(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle: tuple[dict[str, Any], dict[str, Any]] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            self._displayed = True  # a front end that renders widgets now draws a view
        return bundle

    def close(self) -> None:
        """Close the widget (its views disappear); the loopback token stops working."""
        token = getattr(self, "_loopback_token", None)  # close() also runs for a half-built widget
        if token is not None:
            loopback_server().drop(token)
        super().close()

    def _open_sideband(self) -> SidebandConnection | None:
        sideband = self._sideband
        return sideband if sideband is not None and sideband.open else None

    def _send_preferring_sideband(self, event: dict[str, Any]) -> None:
        """Over the sideband when there is one (tool results: it does not wait for the browser)."""
        sideband = self._open_sideband()
        if sideband is not None:
            sideband.send(event)
            self._ingest(event, "client", call_id=self.call_id or None)
            self.events.flush()
        else:
            self.send(event)

    def _show_approvals(self, pending: list[dict[str, Any]]) -> None:
        self._approvals = pending

    def _check_budget(self, response: dict[str, Any]) -> None:
        if self._budget is None:
            return
        self._spent += analysis.response_usd(response, self._price_model)  # a running total, not a re-scan
        if self._spent >= self._budget:
            self.hangup()
            self.error = (
                f"The budget of ${self._budget:.4f} was reached (${self._spent:.4f} spent), so the call was ended."
            )

    def _check_client_event(self, event: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise TypeError(f"A client event is a dict with a 'type' string; got {event!r}.")
        if event["type"] not in CLIENT_EVENTS:
            known = ", ".join(sorted(CLIENT_EVENTS))
            raise ValueError(f"{event['type']!r} is not a client event. Client events: {known}.")
        if event["type"] == "session.update" and not self.provider.beta:
            session = event.get("session")
            if not isinstance(session, dict) or session.get("type") not in ("realtime", "transcription"):
                raise ValueError(
                    "session.update needs session={'type': 'realtime', ...}; or use s.update(...) with settings."
                )


class _Waiter:
    """One ``wait_for``: the type it waits for, its predicate, and the future to resolve."""

    def __init__(
        self,
        type_: str,
        predicate: Predicate | None,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[dict[str, Any]],
    ) -> None:
        self.type, self.predicate, self.loop, self.future = type_, predicate, loop, future

    def offer(self, event: dict[str, Any]) -> None:
        """Resolve with ``event`` if it is the one waited for (from any thread)."""
        if self.future.done():
            return
        try:
            matches, error = self.predicate is None or bool(self.predicate(event)), None
        except Exception as exc:  # the user's predicate failed: wait_for raises it, as it was
            matches, error = True, exc
        if not matches:
            return
        with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits any more
            self.loop.call_soon_threadsafe(_settle, self.future, event, error)


def _settle(future: asyncio.Future[dict[str, Any]], event: dict[str, Any], exc: Exception | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(event)


def _check_event_type(where: str, type_: Any) -> None:
    """Refuse what can never match; warn of a type no known event has (a likely typo).

    Unknown types are only warned about: the service adds event types faster than a release
    of this list, and a callback for a new one must still work.
    """
    if not isinstance(type_, str):
        raise TypeError(f"{where} needs an event type string such as 'response.done'; got {type_!r}.")
    if type_ == "*" or type_ in EVENT_TYPES:
        return
    if type_ in beta.BETA_TO_GA_EVENTS:
        ga = beta.BETA_TO_GA_EVENTS[type_]
        raise ValueError(f"{type_!r} is a legacy beta name; events are logged under GA names: use {ga!r}.")
    close = difflib.get_close_matches(type_, sorted(EVENT_TYPES), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see rt_widget.protocol.SERVER_EVENTS, or '*' for every event."
    warnings.warn(
        f"{where}: {type_!r} is not a Realtime event type rt-widget knows: {hint} "
        "(It is registered anyway, in case the service has added it.)",
        UserWarning,
        stacklevel=3,
    )


def _short(text: str, limit: int = 40) -> str:
    return repr(clip(text, limit))


def _fields(settings: dict[str, Any]) -> set[str]:
    """The config fields a set of update() keywords touches (VAD settings live in turn_detection)."""
    return {"turn_detection" if key in VAD_FIELDS else key for key in settings}
