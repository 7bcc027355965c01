"""The recognizer in a process of its own, so that decoding never stalls the emulator's calls.

pocketsphinx holds the GIL while it decodes: in a thread of the emulator's process it would
stop the event loop, and with it every call's audio, for as long as a turn takes to recognize
(70 ms and more per turn, turns of many calls one after the other). So turns are recognized by
``python -m rt_widget.emulator.recognizer``, a child process reading requests on its stdin.
A plain child process, not :mod:`multiprocessing`: spawning that way would run the user's own
script again in the child (its ``__main__`` is re-imported), and forking a process with
threads is unsafe.

The wire, both ways: a 4-byte big-endian length, then that many bytes. A request is a JSON
header (``rate``, ``phrases``) followed by a second frame of 16-bit PCM; the answer is JSON,
``{"text": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import struct
import subprocess
import sys
import threading
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from . import asr

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
CHILD = "rt_widget.emulator.recognizer"
"""The child's module (run with ``-m``; the emulator's package does not import it)."""


class RecognizerProcess:
    """A child process recognizing turns one at a time (thread-safe, blocking)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the child now (it loads the acoustic model while calls are set up)."""
        with self._lock:
            self._ensure()

    def recognize(self, samples: npt.NDArray[np.int16], rate: int, phrases: list[str]) -> str:
        """Which of ``phrases`` was said in ``samples``, decided in the child.

        Raises
        ------
        OSError
            The child could not be started, or died (it is started again next time).
        RuntimeError
            The child could not recognize this turn (it goes on with the next).
        """
        header = json.dumps({"rate": int(rate), "phrases": phrases}).encode()
        with self._lock:
            child = self._ensure()
            assert child.stdin is not None
            assert child.stdout is not None
            try:
                write(child.stdin, header)
                write(child.stdin, np.ascontiguousarray(samples, np.int16).tobytes())
                child.stdin.flush()
                answer = read(child.stdout)
            except (OSError, ValueError):
                self._stop_locked()
                raise OSError("the recognizer process stopped") from None
        reply = json.loads(answer)
        if "error" in reply:
            raise RuntimeError(f"the recognizer failed on this turn ({reply['error']})")
        return str(reply["text"])

    def stop(self) -> None:
        """End the child (a new one starts on the next request)."""
        with self._lock:
            self._stop_locked()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        return self._child

    def _stop_locked(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()


_recognizer = RecognizerProcess()  # one for every emulator of this process
# Ended with this process: closing its pipe ends the child, and the Popen is not left to be
# collected with the child still running (a ResourceWarning, and unclosed pipes, at exit).
atexit.register(_recognizer.stop)


def warm_up() -> None:
    """Start the recognizer's process now, so that the first turn is not kept waiting for it."""
    try:
        _recognizer.start()
    except OSError as exc:
        log.info("No recognizer process (%s): turns will be recognized in a thread.", exc)


async def transcribe(samples: npt.NDArray[np.int16], rate: int, session: dict[str, Any]) -> str:
    """The phrase heard in ``samples`` (see :func:`.asr.transcribe`), decided in the recognizer's process.

    Should the process fail (it could not start, or died), this turn is recognized in a thread.
    """
    phrases = asr.phrases_for(session)
    try:
        return await asyncio.to_thread(_recognizer.recognize, samples, rate, phrases)
    except OSError as exc:
        log.info("The recognizer process failed (%s): recognizing this turn in a thread.", exc)
        return await asyncio.to_thread(asr.recognize, samples, rate, phrases)


def write(stream: IO[bytes], data: bytes) -> None:
    """Send one frame: its length, then its bytes."""
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)


def read(stream: IO[bytes]) -> bytes:
    """Receive one frame (``ValueError`` if the stream ends first)."""

    def exactly(n: int) -> bytes:
        data = stream.read(n)
        if data is None or len(data) != n:
            raise ValueError("the stream ended")
        return data

    return exactly(_LENGTH.unpack(exactly(_LENGTH.size))[0])
