"""The recognizer's own process: ``python -m rt_widget.emulator.recognizer`` (see :mod:`.asr_worker`)."""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np

from . import asr
from .asr_worker import read, write


def main() -> None:
    """The child: answer requests until stdin closes."""
    # Ctrl+C or a kernel interrupt reaches the whole process group; this child ends when its
    # parent closes the pipe, so it ignores the signal rather than print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")  # the answers' own copy of stdout...
    os.dup2(2, 1)  # ...and anything else printed goes to stderr, not into an answer
    asr.recognize(np.zeros(asr.RATE // 10, np.int16), asr.RATE, ["hello"])  # load the model first
    while True:
        try:
            header = json.loads(read(stdin))
            samples = np.frombuffer(read(stdin), np.int16)
        except ValueError:
            return  # the emulator's process closed the pipe (or ended)
        try:
            answer = {"text": asr.recognize(samples, int(header["rate"]), [str(p) for p in header["phrases"]])}
        except Exception as exc:  # this turn goes unheard; the next one may be fine
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        write(stdout, json.dumps(answer).encode())
        stdout.flush()


if __name__ == "__main__":
    main()
