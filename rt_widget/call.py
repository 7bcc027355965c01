"""Headless calls: a realtime session whose WebRTC peer is the kernel itself, with no browser.

:class:`Call` takes the settings, providers and tools :class:`~rt_widget.Realtime` takes, plays
audio files, arrays or offline speech into the call as its microphone, and captures the
model's voice. Its peer runs on a loop of its own, so the call works the same awaited from a
notebook cell (``async with``) and blocking from a script (``with``, or ``start``/``close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
from collections.abc import Callable
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from ._loop import io_loop
from .events import EventLog
from .gptlive.session import CLOSE_WAIT_S, new_session
from .heard import heard
from .peer import Capture, CapturedAudio, Clip, Playback
from .providers import ConnectError, Local, Provider
from .providers.base import is_loopback_url
from .recording import Recording
from .session.kernel import EPHEMERAL_ERROR, KernelTransport
from .session.renewal import RENEW_AFTER_S

HANGUP_WAIT_S = 5.0
"""How long :meth:`Call.hangup` waits for the call to end, beyond a GPT-Live session's close."""
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm", ".aac"})
"""A string ending in one of these is a file to play; any other string is text to speak."""

Source = str | os.PathLike[str] | Clip | tuple[Any, int]


class Call:
    """One headless realtime call: the kernel is the WebRTC peer, its microphone plays clips.

    Parameters
    ----------
    provider:
        ``"openai"``, ``"azure"``, ``"beta"``, ``"emulator"`` or a
        :class:`~rt_widget.providers.Provider`, as for :class:`~rt_widget.Realtime`. Its flow
        must be ``"unified"``: an ephemeral key is for a browser. The legacy beta shape works:
        the kernel mints its key and posts the offer itself.
    sideband, autosave, budget_usd, price_model, renew, renew_after_s:
        As for :class:`~rt_widget.Realtime`.
    record:
        Record both sides: the microphone as sent and the model's voice as received, streamed
        to disk as they go (to a temporary folder; with ``autosave="run1"``, to that folder,
        events included). :meth:`save` writes them out; :meth:`recording` gives them.
    connect_timeout_s:
        How long ICE and DTLS may take once the call is answered.
    **settings:
        Session settings (``model``, ``voice``, ``instructions``, ``tools``, ``transcription``...).

    Examples
    --------
    In a notebook cell (or any coroutine):

    >>> async with rt.Call(provider="emulator") as call:          # doctest: +SKIP
    ...     await call.play("question.wav")
    ...     await call.wait_for("response.done")

    In a script:

    >>> with rt.Call(provider="emulator") as call:                # doctest: +SKIP
    ...     call.play("What is the weather in Paris?").wait()
    ...     call.wait("response.done")
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
        connect_timeout_s: float = 20.0,
        **settings: Any,
    ) -> None:
        self.session = new_session(
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
        """The session behind the call (events, tools, state)."""
        if getattr(self.session.provider, "flow", "unified") == "ephemeral":
            raise ValueError(EPHEMERAL_ERROR)  # before any call starts
        self._transport = KernelTransport(
            self.session, loopback=_on_loopback(self.session.provider), connect_timeout_s=connect_timeout_s
        )
        self.session.attach(self._transport)
        self._played: list[Playback] = []  # what the microphone said, for the latency as heard
        self._captures: list[Capture] = []  # the model's voice, one capture per call (renewed ones too)
        self.session.subscribe(self._on_state)
        self._cursor = 0  # where the next wait starts looking: after the last command, or the last wait

    # -- connecting ----------------------------------------------------------------------------

    def _on_state(self, changes: dict[str, Any]) -> None:
        if changes.get("status") == "connected" and self._transport.capture not in self._captures:
            self._captures.append(self._transport.capture)

    async def connect(self) -> Call:
        """Start the call and return once it is connected (awaitable from any event loop).

        Raises
        ------
        ConnectError
            The call could not be set up; the message says why and what to do.
        """
        self.session.connect()
        try:
            await asyncio.wrap_future(self._transport.connecting)
        except ConnectError as exc:
            raise exc.with_traceback(None) from None  # the reason, not the peer loop's traceback
        return self

    async def hangup(self) -> None:
        """End the call and return once the peer has closed (nothing happens without a call).

        A GPT-Live session is asked to close first, and ends once the service said so (with
        its final usage), or after ``CLOSE_WAIT_S`` seconds.
        """
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def end() -> None:
            if not ended.done():
                ended.set_result(None)

        def watch(changes: dict[str, Any]) -> None:
            if changes.get("status") in ("closed", "error"):
                loop.call_soon_threadsafe(end)

        self.session.subscribe(watch)
        connected = self.session.status == "connected"
        try:
            self.session.hangup()
            if connected:
                with contextlib.suppress(TimeoutError):  # the session's own fallbacks end it sooner
                    await asyncio.wait_for(ended, CLOSE_WAIT_S + HANGUP_WAIT_S)
        finally:
            self.session.unsubscribe(watch)
        # The transport's hang-up has begun by now (a session ends its call through it).
        await asyncio.wrap_future(self._transport.closing)

    def start(self, timeout: float | None = None) -> Call:
        """Blocking :meth:`connect`, for scripts (``timeout`` in seconds).

        Raises
        ------
        ConnectError
            The call could not be set up.
        TimeoutError
            Not connected within ``timeout`` seconds.
        """
        self.session.connect()
        try:
            self._transport.connecting.result(timeout)
        except ConnectError as exc:
            raise exc.with_traceback(None) from None  # the reason, not the peer loop's traceback
        except TimeoutError:
            raise TimeoutError(f"The call did not connect within {timeout:g} s; see call.status.") from None
        return self

    def close(self, timeout: float | None = 10.0) -> None:
        """Blocking :meth:`hangup`, for scripts."""
        io_loop().run(self.hangup(), timeout=timeout)

    async def __aenter__(self) -> Call:
        return await self.connect()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.hangup()

    def __enter__(self) -> Call:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the microphone and the ears -----------------------------------------------------------

    def play(self, source: Source, *, voice: str = "alloy") -> Playback:
        """Say ``source`` into the call, in real time, after whatever is already queued.

        Parameters
        ----------
        source:
            An audio file's path (a :class:`~pathlib.Path`, or a string ending in ``.wav``,
            ``.flac``, ``.ogg``...), a :class:`~rt_widget.peer.Clip`, ``(samples, rate)``, or
            any other string: text spoken by the offline TTS.
        voice:
            The offline TTS voice, for text.

        Returns
        -------
        Playback
            Await it (or call ``.wait()``) to return once it has been played.

        Raises
        ------
        RuntimeError
            There is no call (connect first).
        FileNotFoundError, ValueError, TypeError
            ``source`` cannot be played (the message says why).
        """
        clip = as_clip(source, voice)
        peer = self._transport.peer
        if peer is None or self.session.status != "connected":
            raise RuntimeError(f"Cannot play {clip.label}: the call is not connected (status {self.status!r}).")
        self._mark()
        playback = peer.play(clip)
        self._played.append(playback)
        return playback

    @property
    def audio(self) -> CapturedAudio:
        """The model's voice as the kernel heard it in the current (or last) call."""
        return self._transport.capture.audio()

    @property
    def last_heard(self) -> float | None:
        """When the model's voice was last heard in the current (or last) call (``time.time()``), or ``None``."""
        return self._transport.capture.last_sound

    # -- the session ---------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """``idle``, ``connecting``, ``connected``, ``closed`` or ``error``."""
        return self.session.status

    @property
    def error(self) -> str:
        """What went wrong and what to do, when something did; empty otherwise."""
        return self.session.error

    @property
    def call_id(self) -> str:
        """The current call's ``rtc_...`` id, empty before the first call."""
        return self.session.call_id

    @property
    def events(self) -> EventLog:
        """Every event of every call, in order."""
        return self.session.events

    def say(self, text: str) -> None:
        """Add a user text message and ask for a reply."""
        self._mark()
        self.session.say(text)

    def send(self, event: dict[str, Any]) -> None:
        """Send one client event; it is logged as a ``client`` event."""
        self._mark()
        self.session.send(event)

    def update(self, **settings: Any) -> None:
        """Change session settings (a ``session.update`` is sent while connected)."""
        self._mark()
        self.session.update(**settings)

    def _mark(self) -> None:
        """A command: the waits after it count what it caused, even what came before they began."""
        self._cursor = len(self.events)

    def tool(self, fn: Callable[..., Any] | None = None, **options: Any) -> Any:
        """Offer a Python function to the model (see :meth:`rt_widget.Realtime.tool`)."""
        return self.session.tool(fn, **options)

    def on(self, type_: str, callback: Callable[[dict[str, Any]], object]) -> None:
        """Call ``callback(event)`` for every event of ``type_`` (``"*"`` for all), on the peer's thread."""
        self.session.on(type_, callback)

    def off(self, type_: str, callback: Callable[[dict[str, Any]], object] | None = None) -> None:
        """Remove one callback for ``type_``, or all of them."""
        self.session.off(type_, callback)

    async def wait_for(
        self,
        type_: str,
        timeout: float | None = 30,  # noqa: ASYNC109 - the API the docs show
        predicate: Callable[[dict[str, Any]], object] | None = None,
    ) -> dict[str, Any]:
        """Wait for the next event of ``type_`` and return it (see :meth:`Session.wait_for`).

        Waits go through the log in order: the first event that counts is the first one after
        the latest command (``say``, ``play``, ``send``, ``update``) or the event the previous
        wait returned, whichever is later. So ``call.say("hi")`` then ``call.wait_for(...)``
        finds the reply even if it came before the wait began, and two waits in a row for
        ``response.done`` return two different replies.
        """
        event = await self.session.wait_for(type_, timeout, predicate, since=self._cursor)
        self._cursor = max(self._cursor, _position(self.events, event) + 1)
        return event

    def wait(
        self,
        type_: str,
        timeout: float | None = 30,
        predicate: Callable[[dict[str, Any]], object] | None = None,
    ) -> dict[str, Any]:
        """Blocking :meth:`wait_for`, for scripts (not from a coroutine: it would block its loop)."""
        # On rt-widget's I/O loop, so it also works where a loop is running (a notebook cell).
        return io_loop().run(self.wait_for(type_, timeout, predicate))

    def transcript(self) -> pd.DataFrame:
        """Both sides of the conversation, one row per item."""
        return self.session.transcript()

    def turns(self) -> pd.DataFrame:
        """One row per user turn: its timeline, latencies, tool calls and outcome.

        Besides the event-based figures of :func:`rt_widget.analysis.turns`, a spoken turn has
        its latency as heard (see :mod:`rt_widget.heard`): ``input_ended``, when the last loud
        frame of the input went out; ``first_heard``, when the first loud frame of the model's
        voice came in; and ``audio_latency_s`` between the two (``NaN`` for typed turns). A call
        made with ``record=True`` gives the recording's figures instead (``speech_ended``,
        ``first_heard``, ``silence_s``, ``overlap_s``, ``heard_s``: see :func:`rt_widget.analysis.turns`).
        """
        if self.session.recorder is not None:
            return self.session.turns()  # the recording's tracks tell
        return heard(self.session.turns(), self._played, self._captures)

    def recording(self) -> Recording:
        """The call so far as a recording: events, both tracks (with ``record=True``) and settings."""
        return self.session.recording()

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write the call to the folder ``path``: events, both tracks (FLAC), settings; see :func:`rt_widget.load`."""
        return self.session.save(path)

    def usage(self) -> pd.DataFrame:
        """Tokens by modality per response, with a total row."""
        return self.session.usage()

    def cost(self, **kwargs: Any) -> pd.DataFrame:
        """USD per response and in total (see :func:`rt_widget.analysis.cost`)."""
        return self.session.cost(**kwargs)

    @property
    def tool_calls(self) -> pd.DataFrame:
        """One row per function call of a Python tool, oldest first."""
        return self.session.tool_calls

    def __repr__(self) -> str:
        return f"Call(status={self.status!r}, provider={self.session.provider.name!r}, events={len(self.events)})"


def _position(events: EventLog, event: dict[str, Any]) -> int:
    """Where ``event`` (the very object) is in ``events``, searching from the end; -1 if absent."""
    logged = [e for (e,) in events.rows("event")]
    return next((i for i in range(len(logged) - 1, -1, -1) if logged[i] is event), -1)


def as_clip(source: Source, voice: str) -> Clip:
    """``source`` as a clip: a file, a clip, ``(samples, rate)`` or text to speak."""
    if isinstance(source, Clip):
        return source
    if isinstance(source, tuple):
        if len(source) != 2:
            raise TypeError("An array to play is given as (samples, rate), e.g. (np.zeros(16000), 16000).")
        return Clip.from_array(np.asarray(source[0]), source[1])
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and pathlib.Path(source).suffix.lower() in AUDIO_SUFFIXES
    ):
        return Clip.from_file(source)
    if isinstance(source, str):
        return Clip.from_text(source, voice=voice)
    raise TypeError(
        f"Cannot play a {type(source).__name__}: give an audio file's path, a Clip, (samples, rate), or text to speak."
    )


def _on_loopback(provider: Provider) -> bool:
    """Whether the call's only peer is a service on this machine's loopback (ICE then offers 127.0.0.1)."""
    url = provider.emulator.base_url if isinstance(provider, Local) else getattr(provider, "base_url", "")
    return is_loopback_url(str(url))
