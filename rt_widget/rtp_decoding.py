"""Decode a received audio track's packets on the event loop, not on a thread of their own.

aiortc gives every receiver a decoder thread: each 20 ms packet goes to it through a
``queue.Queue`` and comes back through ``run_coroutine_threadsafe``, so two thread hops and a
fight for the GIL per packet, 50 times a second a call. Decoding 20 ms of Opus takes a few tens
of microseconds, far less than the hops; with ten calls in one process the hops were a third
of its CPU and their GIL hand-offs stalled the event loop that paces the audio
(benchmarks/headless_bench.py). :func:`decode_on_loop` swaps the receiver's queue for one that
decodes as the packet is put and hands the frames straight to the track.

It reaches into one private attribute of aiortc's ``RTCRtpReceiver``; when that is not there
(another aiortc), the receiver is left as it is and only the saving is lost.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterBuffer

log = logging.getLogger(__name__)
_QUEUE = "_RTCRtpReceiver__decoder_queue"
_THREAD = "_RTCRtpReceiver__decoder_thread"
_JITTER = "_RTCRtpReceiver__jitter_buffer"


class _DecodeOnPut:
    """Stands in for the decoder thread's input queue: :meth:`put` decodes, :meth:`get` waits.

    aiortc still starts its decoder thread, which blocks in :meth:`get` until the receiver
    stops (``put(None)``) and then ends the track as it always does.
    """

    def __init__(self, frames: asyncio.Queue[Any]) -> None:
        self._frames = frames
        self._stopped = threading.Event()
        self._decoder: Any = None
        self._codec: str | None = None

    def put(self, task: tuple[Any, Any] | None) -> None:
        if task is None:
            self._stopped.set()
            return
        codec, encoded = task
        if codec.name != self._codec:
            self._decoder, self._codec = get_decoder(codec), codec.name
        try:
            frames = self._decoder.decode(encoded)
        except av.FFmpegError as exc:  # keep the decoder's state, as aiortc does
            log.warning("failed to decode a %s frame: %s", codec.name, exc)
            return
        for frame in frames:
            self._frames.put_nowait(frame)

    def get(self) -> None:
        self._stopped.wait()


def decode_on_loop(pc: RTCPeerConnection, track: MediaStreamTrack, *, buffered_frames: int | None = None) -> bool:
    """Make the receiver of a remote audio ``track`` decode on the event loop.

    Call it from the connection's ``track`` event, before the connection starts. Returns
    whether it took effect (False with an aiortc whose receiver is built differently).

    ``buffered_frames`` sets how many later frames aiortc's jitter buffer waits for before
    it releases one (4 by default: 80 ms added to every frame's arrival). The kernel peer
    takes 1, so that the model's voice as heard is not 60 ms later than it came in.
    """
    receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
    if receiver is None or track.kind != "audio":
        return False
    original = getattr(receiver, _QUEUE, None)
    frames = getattr(track, "_queue", None)
    if not isinstance(original, queue.Queue) or original.qsize():
        return False
    if not isinstance(frames, asyncio.Queue) or getattr(receiver, _THREAD, True) is not None:
        return False  # started: its thread already waits on the original queue
    setattr(receiver, _QUEUE, _DecodeOnPut(frames))
    if buffered_frames is not None and isinstance(getattr(receiver, _JITTER, None), JitterBuffer):
        setattr(receiver, _JITTER, JitterBuffer(capacity=16, prefetch=buffered_frames))
    return True
