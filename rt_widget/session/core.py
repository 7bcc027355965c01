"""Session: one realtime session's settings, events, tools and call state, with no widget in it.

A :class:`Session` owns the validated config, the provider, the :class:`~rt_widget.EventLog`,
the ingestion of events (legacy beta names made GA, sideband and browser copies merged by
``event_id``, MCP credentials scrubbed), callbacks and ``wait_for``, the tool dispatcher, the
budget, the sideband, and the call's state (``status``, ``error``, ``call_id``). It reaches its
peer through a :class:`~rt_widget.session.transport.Transport`, which hands back what the peer
reports; whoever shows the session (the widget) subscribes to its state and mirrors it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import logging
import os
import pathlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from .. import analysis, beta, protocol, providers
from .._checks import clip, finite
from .._loop import io_loop
from ..config import VAD_FIELDS, SessionConfig, check_message_size
from ..dispatch import Dispatcher
from ..events import EventLog
from ..live import Conversation
from ..providers import CallAnswer, ConnectError, DirectCall, Provider, Sideband
from ..recording import Recorder, Recording
from ..redaction import (
    protect_logger,
    redact,
    session_has_credentials,
    session_without_credentials,
    without_tool_credentials,
)
from ..sideband import SidebandConnection
from ..tools import Tool, as_tools
from .renewal import RENEW_AFTER_S, Renewal, check_renew
from .subscriptions import Callback, Predicate, Waiter, check_event_type
from .transport import Transport

log = protect_logger(logging.getLogger(__name__))  # a provider's traceback may quote its key

CLIENT_EVENTS = frozenset(protocol.CLIENT_EVENTS)
EVENT_TYPES = frozenset(protocol.SERVER_EVENTS + protocol.CLIENT_EVENTS + protocol.LIBRARY_EVENTS)
"""What ``on`` and ``wait_for`` accept (besides ``"*"``): every event that can be logged."""
SESSION_EXPIRED = (
    "The session reached the Realtime API's 60-minute limit. Connect again to start a new session "
    "(the conversation starts fresh), or pass renew=True to carry it on in a new call by itself."
)
SIDEBAND_JOIN_S = 15.0
"""How long the sideband may take to join a call before it is reported as failed."""

Reply = Callable[[dict[str, Any]], None]
StateObserver = Callable[[dict[str, Any]], None]
"""Told, with only the fields that changed, when ``status``, ``error``, ``call_id``, ``approvals`` or
``notice`` change."""
ConversationWatcher = Callable[[dict[str, Any]], None]
"""Told, for every logged event in log order, the fields of :attr:`Session.conversation` it changed."""


class Session:
    """A realtime voice session in the kernel, whatever peer carries its calls.

    Takes the same settings as :class:`~rt_widget.Realtime` (which wraps one) and checks
    every one of them before anything goes over the network.

    Parameters
    ----------
    provider:
        ``"openai"``, ``"azure"``, ``"beta"``, ``"emulator"`` or a
        :class:`~rt_widget.providers.Provider` (by default, chosen from the environment).
    sideband:
        Also join each call from the kernel over a WebSocket; its events merge with the peer's.
    autosave:
        A ``.jsonl`` path every event is appended to, batch by batch.
    budget_usd:
        Hang up once the session has cost this much (checked at every ``response.done``).
    price_model:
        The model to price with, when it is not the session's.
    renew:
        Start a fresh call with the same config before the service's 60-minute limit (and on
        its ``session_expired``), carrying the conversation over as text items.
    renew_after_s:
        With ``renew``, how long after it connected a call is renewed (once no reply is in progress).
    record:
        Record both sides of every call: the microphone as sent and the model's voice as
        received, streamed to disk as they come (see :meth:`save`, :meth:`recording`). With
        ``autosave``, that is the recording's folder: events and audio are written there, so a
        crashed kernel loses at most the last chunk.
    transport:
        How commands reach the peer; it can also be given later with :meth:`attach`.
    **settings:
        Session settings (``model``, ``voice``, ``instructions``, ``tools``, VAD settings...).
    """

    def __init__(
        self,
        *,
        provider: Provider | str | None = None,
        sideband: bool = False,
        autosave: str | pathlib.Path | None = None,
        budget_usd: float | None = None,
        price_model: str | None = None,
        renew: bool = False,
        renew_after_s: float = RENEW_AFTER_S,
        record: bool = False,
        transport: Transport | None = None,
        **settings: Any,
    ) -> None:
        if "tools" in settings:
            settings["tools"] = as_tools(settings["tools"])
        self.config = SessionConfig.from_kwargs(**settings)
        """The validated session configuration sent with every new call."""
        self._dispatcher = Dispatcher(self._send_preferring_sideband, self._show_approvals, self.output_event)
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
        """Where calls are created, and keys come from."""
        self._check_provider(self.provider)
        if not isinstance(sideband, bool):
            raise ValueError(f"sideband={sideband!r} is not valid: use True or False.")
        if sideband and self.provider.beta:
            raise ValueError("The legacy beta shape has no sideband connection; use sideband=False.")
        if autosave is not None and not isinstance(autosave, str | os.PathLike):
            raise TypeError(f"autosave={autosave!r} is not valid: use a .jsonl file path, e.g. 'session.jsonl'.")
        if not isinstance(record, bool):
            raise ValueError(f"record={record!r} is not valid: use True or False.")
        folder = None
        if record and autosave is not None:
            folder, autosave = _recording_folder(autosave)
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
        self.transport = transport
        """How commands reach the peer (``None`` until one is attached)."""
        self.connect_failure: ConnectError | None = None
        """Why the provider could not create the latest call (with its HTTP status), if it could not."""
        self._sideband_wanted = sideband
        self._sideband: SidebandConnection | None = None
        self._sideband_error = ""  # why the current call's sideband could not join, if it could not
        self._seen: set[str] = set()  # server event ids, so sideband and browser copies merge
        self._lock = threading.Lock()
        self._sideband_lock = threading.Lock()  # the sideband is swapped by offers and its watcher
        self._callbacks: dict[str, list[Callback]] = {}
        self._waiters: list[Waiter] = []
        self._stats: list[dict[str, Any]] = []
        self._budget = budget
        self._spent = 0.0  # USD of every response so far, priced as it is done
        # The call's state: set from what the peer reports, and by the session itself.
        self._state_lock = threading.Lock()
        self._state: dict[str, Any] = {"status": "idle", "error": "", "call_id": "", "approvals": [], "notice": ""}
        self._observers: list[StateObserver] = []
        # What the events add up to, updated in log order (under _lock); watchers hear it in that order.
        self._conversation = Conversation(self._price_model)
        self._watchers: list[ConversationWatcher] = []
        self._news: collections.deque[dict[str, Any]] = collections.deque()
        self._news_lock = threading.Lock()
        self._telling = False  # a thread is telling the watchers the news (it tells all of it)
        self.recorder = Recorder(folder, provider=self.provider.name, config=self.settings_kept()) if record else None
        """Where the calls' audio is being written, with ``record=True``."""
        after_s = check_renew(renew, renew_after_s)
        self._renewal = None if after_s is None else Renewal(self, after_s)

    client_events: frozenset[str] | tuple[str, ...] = CLIENT_EVENTS
    """The client events this API takes."""
    api_name = ""  # "GPT-Live " names the other API in errors
    output_event = "conversation.item.create"
    """The client event that carries a tool's output to the model."""
    event_types: frozenset[str] = frozenset(EVENT_TYPES)
    """The event types of this API, for on() and wait_for() to warn of a likely typo."""

    @property
    def api(self) -> str:
        """Which API the session speaks: ``"realtime"`` (``"live"`` for GPT-Live)."""
        return "realtime"

    def settings_sent(self) -> dict[str, Any]:
        """The session object each new call is created with (no key)."""
        return self.config.to_ga()

    def _check_provider(self, provider: Provider) -> None:
        """Refuse a provider this API cannot use, before anything else happens (every one serves Realtime)."""

    def settings_kept(self) -> dict[str, Any]:
        """:meth:`settings_sent` as a recording keeps it: an MCP server's credentials redacted."""
        return session_without_credentials(self.settings_sent())

    def attach(self, transport: Transport) -> None:
        """Send this session's commands through ``transport`` from now on."""
        self.transport = transport

    # -- the call's state ----------------------------------------------------------------------

    @property
    def status(self) -> str:
        """Connection state: ``idle``, ``connecting``, ``connected``, ``closed`` or ``error``."""
        return str(self._state["status"])

    @property
    def error(self) -> str:
        """What went wrong and what to do, when something did; empty otherwise."""
        return str(self._state["error"])

    @property
    def call_id(self) -> str:
        """The current call's ``rtc_...`` id (not a secret), empty before the first call."""
        return str(self._state["call_id"])

    @property
    def approvals(self) -> list[dict[str, Any]]:
        """The calls that wait for approval: their ids, names and arguments (no secrets)."""
        return list(self._state["approvals"])

    @property
    def responding(self) -> bool:
        """Whether a reply is in progress, or asked for (a tool's follow-up) and about to begin."""
        return self._dispatcher.responding

    @property
    def notice(self) -> str:
        """What the session did by itself that its user should know (a call renewed); empty otherwise."""
        return str(self._state["notice"])

    @property
    def active_response(self) -> str | None:
        """The id of the response in progress, or ``None``."""
        return self._dispatcher.active_response

    def subscribe(self, observer: StateObserver) -> None:
        """Call ``observer(changes)`` whenever the call's state changes (from any thread).

        ``changes`` maps each field that changed (``status``, ``error``, ``call_id``,
        ``approvals``) to its new value; a field the reporter set to something else (see
        :meth:`set_state`) is in it too, so a mirror never keeps a value the session overrode.
        """
        if not callable(observer):
            raise TypeError(f"subscribe() needs a callable; got {observer!r}.")
        with self._state_lock:
            self._observers.append(observer)

    def unsubscribe(self, observer: StateObserver) -> None:
        """Stop telling ``observer`` (nothing happens if it was not subscribed)."""
        with self._state_lock:
            if observer in self._observers:
                self._observers.remove(observer)

    @property
    def conversation(self) -> dict[str, Any]:
        """What the events so far add up to, kept up to date event by event (cheap to read).

        ``event_count`` (events logged), ``last_event`` (the latest one's ``index`` in the log,
        ``type``, ``direction``, ``call_id``, ``item_id`` and ``response_id``, not its payload),
        ``transcript_rows`` (both sides, one row per item in order of appearance, with
        ``item_id``, ``role``, ``kind``, ``text`` and ``interrupted``; the text grows with each
        delta), ``active_response`` (the id of the response in progress, ``""`` when none),
        ``cost_usd`` (the running cost, ``None`` when the price model has no price) and
        ``caption`` (the ``role`` and last 500 characters of the latest message that changed).
        """
        with self._lock:
            return self._conversation.snapshot()

    def watch(self, watcher: ConversationWatcher) -> None:
        """Call ``watcher(changes)`` for every logged event, with the :attr:`conversation` fields it changed.

        Watchers hear every event's changes once, in log order, on the thread that brought the
        event (the loopback link's, the sideband's, or the main thread for comm batches); when
        two threads bring events at once, the one already telling tells both, in order. A
        watcher may call into the session (its own news then comes after the current one).
        """
        if not callable(watcher):
            raise TypeError(f"watch() needs a callable; got {watcher!r}.")
        with self._news_lock:
            self._watchers.append(watcher)

    def unwatch(self, watcher: ConversationWatcher) -> None:
        """Stop telling ``watcher`` (nothing happens if it was not watching)."""
        with self._news_lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def _tell_watchers(self) -> None:
        """Tell the watchers the queued news in order, unless another thread is doing so (it takes ours too)."""
        with self._news_lock:
            if self._telling:
                return
            self._telling = True
        try:
            while True:
                with self._news_lock:  # checked and cleared under one lock: no news is left behind
                    if not self._news:
                        self._telling = False
                        return
                    changes = self._news.popleft()
                    watchers = list(self._watchers)
                for watcher in watchers:
                    try:
                        watcher(changes)
                    except Exception:  # one watcher must not keep the news from the others
                        log.exception("A watcher of the conversation failed")
        except BaseException:  # KeyboardInterrupt in a watcher: the next event's thread carries on
            with self._news_lock:
                self._telling = False
            raise

    def set_state(self, *, status: str | None = None, error: str | None = None, call_id: str | None = None) -> None:
        """Record the call's state as the peer reports it (fields left out stay as they are).

        A sideband that could not join stays reported: when the call connects with an empty
        ``error``, ``error`` says what happened to the sideband.
        """
        fields = {"status": status, "error": error, "call_id": call_id}
        self._change({name: value for name, value in fields.items() if value is not None})

    def _change(self, updates: dict[str, Any]) -> None:
        """Apply ``updates`` to the call's state and tell the observers what changed."""
        with self._state_lock:
            new = {**self._state, **updates}
            connected = new["status"] == "connected" and self._state["status"] != "connected"
            if connected and self._sideband_error and not new["error"]:
                new["error"] = self._sideband_error  # the peer clears error as it connects: this still holds
            # What differs from before, and what differs from what was reported (the reporter's copy
            # is then out of date: a peer that cleared ``error`` must hear the sideband's failure).
            changed = {k: v for k, v in new.items() if self._state[k] != v or (k in updates and updates[k] != v)}
            self._state.update(changed)
            observers = list(self._observers)
        if not changed:
            return
        if connected and self._renewal is not None:
            self._renewal.connected()
        for observer in observers:  # outside the lock: an observer may read the session
            try:
                observer(changed)
            except Exception:  # one observer must not keep the news from the others
                log.exception("An observer of the session's state failed")

    def _set_error(self, error: str) -> None:
        self._change({"error": error})

    # -- commands ------------------------------------------------------------------------------

    def connect(self) -> None:
        """Ask the peer to start a call (a notice of the calls before it is cleared)."""
        self._change({"notice": ""})
        self._post({"kind": "connect"})

    def hangup(self) -> None:
        """End the current call (the sideband leaves it too)."""
        if self._renewal is not None:
            self._renewal.stop()
        self._post({"kind": "hangup"})
        self._close_sideband()

    def send(self, event: dict[str, Any]) -> None:
        """Send one client event to the call; it is logged as a ``client`` event.

        It goes to the peer (or over the sideband when the peer is not connected).

        Raises
        ------
        TypeError, ValueError
            If ``event`` is not a client event.
        RuntimeError
            If there is no call to send to, saying why and what to do.
        """
        self._check_client_event(event)
        if self.status != "connected" and self._open_sideband() is not None:
            self._send_preferring_sideband(event)
            return
        self._need_call(f"Cannot send {event['type']!r}")
        self._post({"kind": "send", "event": event})

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

        Invalid settings raise before anything is sent.
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
            credentials = self._check_credentials_route(update)
        self.config = changed
        if "tools" in settings:
            self._dispatcher.replace(settings["tools"] or [])
        if update is not None:
            self._send_update(update, credentials)

    def interrupt(self) -> None:
        """Stop the model: cancel the response in progress, then cut off its audio."""
        self._need_call("Cannot interrupt")
        if self.active_response is not None:
            self.send({"type": "response.cancel"})
        self.send({"type": "output_audio_buffer.clear"})

    # -- tools ---------------------------------------------------------------------------------

    def tool(
        self, fn: Callable[..., Any] | None = None, *, needs_approval: bool = False, timeout: float | None = 30.0
    ) -> Any:
        """Offer a Python function to the model; use as ``@session.tool`` or ``@session.tool(...)``.

        See :meth:`rt_widget.Realtime.tool`. Registering while connected updates the session.
        """

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            self.update(tools=self._dispatcher.adding(Tool(function, needs_approval, timeout)))
            return function

        return register if fn is None else register(fn)

    @property
    def tool_calls(self) -> pd.DataFrame:
        """One row per function call of a Python tool, oldest first (see :attr:`rt_widget.Realtime.tool_calls`)."""
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

    def _show_approvals(self, pending: list[dict[str, Any]]) -> None:
        self._change({"approvals": list(pending)})

    # -- events --------------------------------------------------------------------------------

    def on(self, type_: str, callback: Callback) -> None:
        """Call ``callback(event)`` for every event of ``type_`` (``"*"`` for all).

        Callbacks run on the thread that brought the event: keep them short and thread-safe.
        An unknown type raises ``ValueError`` (it would never be called).
        """
        check_event_type("on()", type_, self.event_types)
        if not callable(callback):
            raise TypeError(f"on() needs a callable; got {callback!r}.")
        with self._lock:
            self._callbacks.setdefault(type_, []).append(callback)

    def off(self, type_: str, callback: Callback | None = None) -> None:
        """Remove one callback for ``type_``, or all of them (nothing happens if none is there)."""
        check_event_type("off()", type_, self.event_types)
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
        since: int | None = None,
    ) -> dict[str, Any]:
        """Wait for the next event of ``type_`` (``"*"`` for any) and return it.

        Parameters
        ----------
        type_:
            The event type, e.g. ``"response.done"``; ``"*"`` for any event.
        timeout:
            Seconds to wait (above 0), or ``None`` to wait as long as it takes.
        predicate:
            Only an event for which ``predicate(event)`` is true counts.
        since:
            Also count events logged already, from this position in :attr:`events` on (the
            reply to a command may come before the wait begins).

        Raises
        ------
        RuntimeError
            If no event can reach the kernel while a cell runs (no direct path, no sideband).
        TimeoutError
            If no such event came within ``timeout`` seconds.
        """
        check_event_type("wait_for()", type_, self.event_types)
        seconds = None if timeout is None else finite(timeout)
        if timeout is not None and (seconds is None or seconds <= 0):
            raise ValueError(f"timeout={timeout!r} is not valid: use a number of seconds above 0, or None.")
        if predicate is not None and not callable(predicate):
            raise TypeError(
                f"predicate={predicate!r} is not valid: use a function of the event that returns True or False."
            )
        if self._open_sideband() is None and not (self.transport is not None and self.transport.direct()):
            raise RuntimeError(self._no_direct_path())
        loop = asyncio.get_running_loop()
        waiter = Waiter(type_, predicate, loop, loop.create_future())
        with self._lock:  # ingest appends under this lock: no event falls between the two
            self._waiters.append(waiter)
            logged = [] if since is None else list(itertools.islice(self.events.rows("type", "event"), since, None))
        for logged_type, event in logged:
            if type_ in (logged_type, "*") and waiter.offer(event):
                break
        try:
            return await asyncio.wait_for(waiter.future, seconds)
        except TimeoutError:
            raise TimeoutError(f"No {type_!r} event within {timeout} s.") from None
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def ingest(
        self,
        event: dict[str, Any],
        direction: str,
        *,
        seq: int | None = None,
        call_id: str | None = None,
        t_browser: float | None = None,
    ) -> None:
        """Log one event (once, whichever path brings it first) and notify listeners.

        Parameters
        ----------
        event:
            The event as the peer or the sideband saw it (legacy beta names are made GA).
        direction:
            ``"server"`` or ``"client"``.
        seq, call_id, t_browser:
            The peer's sequence number, the call the event belongs to, and when the peer got it
            (seconds since the epoch).
        """
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
            self._news.append(self._conversation.update(event, direction, call_id))  # in log order
            callbacks = [*self._callbacks.get(event.get("type", ""), []), *self._callbacks.get("*", [])]
            candidates = [w for w in self._waiters if w.type in (event.get("type"), "*")]
        try:  # the event is logged; whatever its shape, acting on it must not stop the batch
            if direction == "server":
                self._dispatcher.observe(event)  # it tracks the active response for the session too
                self._track(event)
        except Exception:
            log.warning("An event of type %r could not be acted on; it is logged as it came.", event.get("type"))
            log.debug("acting on the event failed", exc_info=True)
        self._tell_watchers()  # first, so that callbacks on this thread find the traits showing the event
        for waiter in candidates:
            waiter.offer(event)  # the predicate runs outside the lock: it may read the session
        for callback in callbacks:
            try:
                callback(event)
            except Exception:  # a user's callback must not break event delivery
                log.exception("callback for %s failed", event.get("type"))

    def _track(self, event: dict[str, Any]) -> None:
        """Act on a server event: a reply's cost, and the call's end at the service's limit."""
        if event.get("type") == "response.done":
            response = event.get("response")
            self._check_budget(response if isinstance(response, dict) else {})
            if self._renewal is not None and not self._dispatcher.responding:  # no tool follow-up due
                self._renewal.idle()
        elif _expired(event):
            self._expired()

    def _expired(self) -> None:
        """The service ended the call at its limit: renew it, or say what happened."""
        if self._renewal is not None:
            self._renewal.renew("the service ended the call at its 60-minute limit (session_expired)")
            return
        self.set_state(status="error", error=SESSION_EXPIRED)
        self._post({"kind": "hangup"})

    def _record(self, event: dict[str, Any]) -> None:
        """Log an event of the library's own (``rt_widget.*``), as the client's doing."""
        self.ingest(event, "client", call_id=self.call_id or None, t_browser=time.time())
        self.events.flush()

    # -- what the peer reports -----------------------------------------------------------------

    def offer(self, sdp: str, reply: Reply) -> None:
        """A peer offers a new call: create it through the provider, then ``reply`` with the answer.

        The answer is ``{"sdp": ..., "call_id": ...}``, ``{"direct": {"url": ..., "token": ...}}``
        (the peer connects itself with an ephemeral key, which travels only in this reply) or
        ``{"error": ...}`` (what went wrong, without secrets). ``reply`` runs on the I/O loop.
        """
        self._close_sideband()
        self.connect_failure = None
        self._dispatcher.reset()
        future = io_loop().submit(self._create_call(sdp))
        future.add_done_callback(lambda f: self._answer(f, reply))

    async def _create_call(self, sdp: str) -> CallAnswer | DirectCall:
        """Create a call for the offer ``sdp`` through the provider (GPT-Live creates its own kind)."""
        return await self.provider.connect(sdp, self.config)

    def _sideband_target(self, call_id: str) -> Sideband | None:
        """Where the kernel joins ``call_id`` over its own WebSocket, if it can."""
        return self.provider.sideband(call_id)

    def _answer(self, future: concurrent.futures.Future[CallAnswer | DirectCall], reply: Reply) -> None:
        try:
            result = future.result()
        except ConnectError as exc:
            self.connect_failure = exc
            reply({"error": str(exc)})
            return
        except Exception as exc:
            log.debug("connect failed", exc_info=True)
            # A provider of the user's own may raise anything; its text must still hold no key.
            self.connect_failure = ConnectError(f"Unexpected {type(exc).__name__} while creating the call: {exc}")
            reply({"error": str(self.connect_failure)})
            return
        if isinstance(result, DirectCall):
            reply({"direct": {"url": result.url, "token": result.token}})
            return
        reply({"sdp": result.sdp, "call_id": result.call_id})
        self.call_started(result.call_id or "")

    def call_started(self, call_id: str) -> None:
        """The peer is in call ``call_id``: note it, and join it from the kernel if asked to."""
        if not call_id or (call_id == self.call_id and self._sideband is not None):
            return
        self._sideband_error = ""
        self._change({"call_id": call_id})
        if not self._sideband_wanted:
            return
        try:
            target = self._sideband_target(call_id)
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

    def decide(self, call_id: str, approved: bool) -> None:
        """The peer's user approved or denied a call (one decided already is only logged)."""
        try:
            self._dispatcher.decide(call_id, approved)
        except ValueError as exc:  # decided already (in Python or another view)
            log.info("%s", exc)

    def add_stats(self, sample: dict[str, Any]) -> None:
        """Keep one sample of the peer's transport statistics (see :attr:`stats`)."""
        self._stats.append(sample)

    @property
    def stats(self) -> pd.DataFrame:
        """Transport statistics sampled by the peer every second while connected.

        Columns: ``t``, ``call_id``, ``rtt_s``, ``jitter_s``, ``jitter_buffer_s`` (how long the
        model's voice waits in the browser's buffer before it plays, on average), ``packets_lost``,
        ``packets_received``, ``packets_sent``, ``audio_level_in`` (the model's voice, 0-1),
        ``audio_level_mic``, ``codec``.
        """
        columns = ["t", "call_id", "rtt_s", "jitter_s", "jitter_buffer_s", "packets_lost", "packets_received"]
        columns += ["packets_sent", "audio_level_in", "audio_level_mic", "codec"]
        return pd.DataFrame(list(self._stats), columns=columns)

    # -- analysis ------------------------------------------------------------------------------

    def transcript(self) -> pd.DataFrame:
        """Both sides of the conversation, one row per item, in conversation order."""
        return analysis.transcript(self.events)

    def turns(self) -> pd.DataFrame:
        """One row per user turn: its timeline, latencies, tool calls and outcome.

        When recording, also what the audio shows (see :func:`rt_widget.analysis.turns`).
        """
        return analysis.turns(self.recording() if self.recorder is not None else self.events)

    def usage(self) -> pd.DataFrame:
        """Tokens by modality per response, with a total row."""
        return analysis.usage(self.events)

    def cost(self, **kwargs: Any) -> pd.DataFrame:
        """USD per response and in total (see :func:`rt_widget.analysis.cost` for options)."""
        return analysis.cost(self.events, **kwargs)

    # -- recording -----------------------------------------------------------------------------

    def record(
        self, track: str, samples: Any, t: float, index: int | None = None, segment: str = "", as_played: bool = False
    ) -> None:
        """Add a chunk of audio to the recording (from a transport); nothing without ``record=True``."""
        if self.recorder is not None:
            self.recorder.add(track, samples, t, index, segment or self.call_id, as_played)

    def add_sent_anchor(self, call_id: str, buffer_s: float, t: float) -> None:
        """``buffer_s`` into call ``call_id``'s sent audio was captured at Unix time ``t`` (from a transport).

        The service's ``audio_start_ms`` and ``audio_end_ms`` count from that audio's start:
        with these points a recording places them on the events' clock. Nothing without ``record=True``.
        """
        if self.recorder is not None:
            self.recorder.add_sent_anchor(call_id, buffer_s, t)

    def recording(self) -> Recording:
        """The session so far: its events, both audio tracks (empty without ``record=True``) and settings."""
        if self.recorder is not None:
            return self.recorder.recording(self.events)
        return Recording(self.events, provider=self.provider.name, config=self.settings_kept())

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write the session to the folder ``path``: events, both audio tracks (FLAC) and settings, no key.

        Load it back with :func:`rt_widget.load`.
        """
        return self.recording().save(path)

    # -- the sideband --------------------------------------------------------------------------

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
        self._set_error(self._sideband_error)

    def _from_sideband(self, event: dict[str, Any], call_id: str) -> None:
        self.ingest(event, "server", call_id=call_id)
        self.events.flush()

    def _close_sideband(self) -> None:
        with self._sideband_lock:
            sideband, self._sideband = self._sideband, None
            self._sideband_error = ""
        if sideband is not None:
            sideband.close()

    def _open_sideband(self) -> SidebandConnection | None:
        sideband = self._sideband
        return sideband if sideband is not None and sideband.open else None

    def _check_credentials_route(self, update: dict[str, Any]) -> bool:
        """Whether ``update`` holds MCP credentials; raises if only the browser could carry it."""
        credentials = session_has_credentials(update["session"])
        if credentials and self._open_sideband() is None:
            raise ValueError(
                "This update holds an MCP server's authorization or headers, and sent now it would pass "
                "through the browser. Connect with sideband=True (updates then go over the kernel's own "
                "connection), or give the MCP tool when you create the session (the kernel sends it)."
            )
        return credentials

    def _send_update(self, update: dict[str, Any], credentials: bool) -> None:
        """Send a checked ``session.update``: one with MCP credentials over the sideband only."""
        if credentials:
            self._send_preferring_sideband(update)  # open: checked by _check_credentials_route
        else:
            self.send(update)

    def _send_preferring_sideband(self, event: dict[str, Any]) -> None:
        """Over the sideband when there is one (tool results: it does not wait for the browser)."""
        sideband = self._open_sideband()
        if sideband is not None:
            sideband.send(event)
            self.ingest(event, "client", call_id=self.call_id or None)
            self.events.flush()
        else:
            self.send(event)

    # -- checks --------------------------------------------------------------------------------

    def _post(self, message: dict[str, Any]) -> None:
        if self.transport is None:
            raise RuntimeError("This session has no transport to reach a peer: attach() one first.")
        self.transport.post(message)

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

    def _check_budget(self, response: dict[str, Any]) -> None:
        if self._budget is None:
            return
        self._spent += analysis.response_usd(response, self._price_model)  # a running total, not a re-scan
        if self._spent >= self._budget:
            self.hangup()
            self._set_error(
                f"The budget of ${self._budget:.4f} was reached (${self._spent:.4f} spent), so the call was ended."
            )

    def _check_client_event(self, event: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise TypeError(f"A client event is a dict with a 'type' string; got {event!r}.")
        if event["type"] not in self.client_events:
            known = ", ".join(sorted(self.client_events))
            raise ValueError(f"{event['type']!r} is not a {self.api_name}client event. Client events: {known}.")
        self._check_session_update(event)

    def _check_session_update(self, event: dict[str, Any]) -> None:
        """A Realtime ``session.update`` must carry a session of a known type."""
        if event["type"] == "session.update" and not self.provider.beta:
            session = event.get("session")
            if not isinstance(session, dict) or session.get("type") not in ("realtime", "transcription"):
                raise ValueError(
                    "session.update needs session={'type': 'realtime', ...}; or use s.update(...) with settings."
                )


def _expired(event: dict[str, Any]) -> bool:
    """Whether ``event`` is the service's ``session_expired`` error."""
    error = event.get("error")
    return event.get("type") == "error" and isinstance(error, dict) and error.get("code") == "session_expired"


def _short(text: str, limit: int = 40) -> str:
    return repr(clip(text, limit))


def _fields(settings: dict[str, Any]) -> set[str]:
    """The config fields a set of update() keywords touches (VAD settings live in turn_detection)."""
    return {"turn_detection" if key in VAD_FIELDS else key for key in settings}


def _recording_folder(autosave: str | os.PathLike[str]) -> tuple[pathlib.Path, pathlib.Path]:
    """With ``record=True``, ``autosave`` names the recording's folder: it and its event log."""
    if not isinstance(autosave, str | os.PathLike):
        raise TypeError(f"autosave={autosave!r} is not valid: use a folder name for the recording, e.g. 'run1'.")
    folder = pathlib.Path(autosave)
    if folder.suffix in {".jsonl", ".parquet"}:
        raise ValueError(
            f"With record=True, autosave is the recording's folder, not an event log: use "
            f"autosave={str(folder.with_suffix(''))!r} (events and audio are written there)."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"autosave={str(autosave)!r} cannot be created ({exc.strerror or exc}): use a folder you can write to."
        ) from None
    return folder, folder / "events.jsonl"
