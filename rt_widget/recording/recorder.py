"""Recording as the call goes: each track's chunks streamed to a folder, so memory stays flat.

The page (or the kernel peer, for a headless call) hands over chunks of 16-bit PCM at
:data:`~.track.RATE`, each with the index of its first sample in its track and the time that
sample was captured. Chunks are written to ``NAME.pcm`` as they come, and an anchor
``[index, time]`` goes to ``NAME.anchors.jsonl`` at least once a second, both unbuffered: a
kernel that dies loses at most the chunk it was writing. Anchors of the sent audio's clock
(see :mod:`.sent_clock`) go to ``sent_clock.jsonl`` the same way. :meth:`Recorder.recording`
reads the folder back; :meth:`~.store.Recording.save` turns it into FLAC.

A chunk that starts past the end of its track (a chunk lost on the way, a page that slept)
leaves silence up to its index; one that overlaps what is written loses the overlap.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..events import EventLog
from .sent_clock import FILE as SENT_CLOCK
from .store import Recording, _write_manifest, load
from .track import RATE, TRACKS

ANCHOR_EVERY_S = 1.0
MAX_GAP_S = 60.0
"""A chunk further ahead of its segment's end than this is refused (an index that cannot be
right), instead of filling the disk with silence."""


class Recorder:
    """Writes a call's tracks to ``folder`` (a temporary one by default) as chunks arrive.

    Thread-safe: chunks come from the loopback link's thread, the comm or the media loop.
    """

    def __init__(
        self, folder: str | Path | None = None, *, provider: str | None = None, config: Mapping[str, Any] | None = None
    ) -> None:
        self.temporary = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="rt-widget-recording-")) if folder is None else Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._written = dict.fromkeys(TRACKS, 0)
        self._anchored = dict.fromkeys(TRACKS, -ANCHOR_EVERY_S * RATE)  # index of the last anchor
        self._t0: float | None = None  # time of the first chunk: sample 0 of both tracks
        self._bases: dict[tuple[str, str], int] = {}  # (track, segment): its sample 0 in the track
        self._next: dict[tuple[str, str], int] = {}
        self._pcm: dict[str, IO[bytes]] = {}
        self._anchors: dict[str, IO[bytes]] = {}
        for name in TRACKS:
            self._pcm[name] = open(self.folder / f"{name}.pcm", "wb", buffering=0)  # noqa: SIM115 (kept open)
            self._anchors[name] = open(self.folder / f"{name}.anchors.jsonl", "wb", buffering=0)  # noqa: SIM115
        self._sent_clock = open(self.folder / SENT_CLOCK, "wb", buffering=0)  # noqa: SIM115 (kept open)
        self._provider, self._config = provider, dict(config or {})
        self._tracks: dict[str, dict[str, Any]] = {name: {"rate": RATE, "file": f"{name}.pcm"} for name in TRACKS}
        _write_manifest(self.folder, self._provider, self._config, self._tracks)
        self.closed = False
        # A recorder dropped without close() (its session collected, the kernel exiting) still
        # closes its files, and removes its folder if it was a temporary one.
        files = [*self._pcm.values(), *self._anchors.values(), self._sent_clock]
        self._finalizer = weakref.finalize(self, _release, files, self.folder if self.temporary else None)

    def add(
        self,
        track: str,
        samples: npt.NDArray[np.int16],
        t: float,
        index: int | None = None,
        segment: str = "",
        as_played: bool = False,
    ) -> None:
        """Append a chunk of ``track`` captured from Unix time ``t``.

        ``segment`` names one continuous capture (a call, a page's recording of it); ``index``
        is the chunk's first sample within it (``None``: right after the segment's last chunk).
        A new segment is placed by its time from the recording's first chunk, with silence
        before it. ``as_played`` marks the track as :attr:`.Track.as_played` from then on.
        """
        if track not in self._pcm:
            raise ValueError(f"No track {track!r}: the tracks are {', '.join(TRACKS)}.")
        with self._lock:
            if self.closed:
                return
            if as_played and not self._tracks[track].get("as_played"):  # once: the manifest says so from now on
                self._tracks[track]["as_played"] = True
                _write_manifest(self.folder, self._provider, self._config, self._tracks)
            if self._t0 is None:
                self._t0 = t
            key = (track, segment)
            placed = key in self._bases
            if not placed:  # by its time: a later call starts as long after the first as it did
                at = max(round((t - self._t0) * RATE), self._written[track])
                self._bases[key] = at - (index or 0)
            within = self._next.get(key, 0) if index is None else index
            start = self._bases[key] + within
            ahead_s = (start - max(self._written[track], self._bases[key])) / RATE
            if placed and ahead_s > MAX_GAP_S:
                raise ValueError(f"A {track} chunk starts {ahead_s:.0f} s past the end of its call's audio.")
            self._next[key] = within + len(samples)
            self._write(track, samples, t, start)

    def _write(self, track: str, samples: npt.NDArray[np.int16], t: float, start: int) -> None:
        position = self._written[track]
        if start < position:  # overlaps what is written: keep the new part only
            samples, t, start = samples[position - start :], t + (position - start) / RATE, position
        if len(samples) == 0:
            return
        if start > position:
            self._pcm[track].write(bytes(2 * (start - position)))
        if start - self._anchored[track] >= ANCHOR_EVERY_S * RATE:
            self._anchors[track].write(json.dumps([start, t]).encode() + b"\n")
            self._anchored[track] = start
        self._pcm[track].write(np.ascontiguousarray(samples, "<i2").tobytes())
        self._written[track] = start + len(samples)

    def add_sent_anchor(self, call_id: str, buffer_s: float, t: float) -> None:
        """``buffer_s`` into call ``call_id``'s sent audio was captured at Unix time ``t``."""
        with self._lock:
            if not self.closed:
                self._sent_clock.write(json.dumps([call_id, buffer_s, t]).encode() + b"\n")

    def duration_s(self, track: str) -> float:
        """Seconds written to ``track`` so far."""
        return self._written[track] / RATE

    def recording(self, events: EventLog) -> Recording:
        """What has been recorded so far, with ``events``."""
        recording = load(self.folder)
        recording.events = events
        return recording

    def close(self) -> None:
        """Stop writing (a temporary folder is removed)."""
        with self._lock:
            self.closed = True
        self._finalizer()

    def __repr__(self) -> str:
        sides = ", ".join(f"{name} {self.duration_s(name):.1f} s" for name in TRACKS)
        return f"<Recorder {self.folder}: {sides}>"


def _release(files: list[IO[bytes]], temporary: Path | None) -> None:
    for file in files:
        file.close()
    if temporary is not None:
        shutil.rmtree(temporary, ignore_errors=True)
