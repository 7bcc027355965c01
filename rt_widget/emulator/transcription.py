"""Transcribing committed user turns, and what the scripted model understood of them.

Every committed turn is recognized offline (the scripted model needs words), in the
recognizer's own process (see :mod:`.asr_worker`). The ``conversation.item.input_audio_transcription.*``
events go out only when the session asks for transcription.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from . import asr_worker
from .model import item_text

INPUT_RATE = 24_000  # audio/pcm in events: 16-bit mono at 24 kHz
logger = logging.getLogger(__name__)


class Transcriber:
    """Recognizes turns; ``emit`` sends server events, ``session`` gives the current session."""

    def __init__(self, session: Callable[[], dict[str, Any]], emit: Callable[[dict[str, Any]], None]) -> None:
        self._session = session
        self._emit = emit
        self._heard: dict[str, str] = {}  # user audio item id -> what the model understood
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, item: dict[str, Any], pcm: bytes) -> None:
        """Begin recognizing a committed user audio item."""
        task = asyncio.ensure_future(self._run(item, np.frombuffer(pcm, np.int16)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Wait for every turn still being recognized."""
        if self._pending:
            await asyncio.wait(list(self._pending))

    def as_heard(self, item: dict[str, Any]) -> dict[str, Any]:
        """``item`` with its recognized words, when the model could not read any otherwise."""
        heard = self._heard.get(str(item.get("id")))
        if not heard or item_text(item):
            return item
        return {**item, "content": [{"type": "input_audio", "transcript": heard}]}

    def close(self) -> None:
        """Stop recognition in progress."""
        for task in list(self._pending):
            task.cancel()

    async def _run(self, item: dict[str, Any], pcm: npt.NDArray[np.int16]) -> None:
        session = self._session()
        try:
            text = await asr_worker.transcribe(pcm, INPUT_RATE, session)
        except Exception as exc:  # the turn goes on unheard, as an unintelligible one would
            logger.warning("The emulator could not recognize a turn: %s: %s", type(exc).__name__, exc)
            text = ""
        self._heard[item["id"]] = text
        if session["audio"]["input"]["transcription"] is None:
            return
        ids = {"item_id": item["id"], "content_index": 0}
        if not text:
            error = {
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": "The audio could not be transcribed.",
                "param": None,
            }
            self._emit({"type": "conversation.item.input_audio_transcription.failed", **ids, "error": error})
            return
        item["content"][0]["transcript"] = text
        for word in re.findall(r"\S+\s*", text):
            self._emit({"type": "conversation.item.input_audio_transcription.delta", **ids, "delta": word})
        usage = {"type": "duration", "seconds": round(len(pcm) / INPUT_RATE, 3)}
        self._emit(
            {"type": "conversation.item.input_audio_transcription.completed", **ids, "transcript": text, "usage": usage}
        )
