"""A saved session: the event log, both audio tracks and the settings, in one folder.

Layout of a recording folder::

    run1/
      recording.json    what it is: provider, model, settings (no key), each track's rate,
                        length and clock anchors
      events.jsonl      the event log (EventLog.save)
      mic.flac          the microphone as sent, mono 16-bit
      model.flac        the model's voice as received, mono 16-bit
      sent_clock.jsonl  when the sent audio was captured, per call (see sent_clock.py)

FLAC because it is lossless (a loaded track is sample for sample what was recorded) and
speech with its silences compresses to about half of raw PCM; PyAV, already needed for
WebRTC, writes and reads it. A recording still being written (or cut short by a crashed
kernel) holds ``mic.pcm`` and ``mic.anchors.jsonl`` instead; :func:`load` reads those too.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ..events import EventLog
from .sent_clock import FILE as SENT_CLOCK
from .sent_clock import SentClock
from .track import RATE, TRACKS, Track

FORMAT = "rt-widget recording"
VERSION = 1
MANIFEST = "recording.json"
EVENTS = "events.jsonl"


@dataclass
class Recording:
    """A call's events and audio, as recorded or loaded with :func:`load`.

    Every analysis function that takes an event log takes a recording too.

    Attributes
    ----------
    events:
        The event log.
    audio:
        ``"mic"`` and ``"model"`` tracks (:class:`Track`), on the events' clock.
    provider:
        The provider's name (``"openai"``, ``"azure"``, ``"emulator"``...), or ``None``.
    config:
        The session settings as sent (never a key).
    path:
        The folder it was loaded from or last saved to.
    sent_clock:
        When each call's sent audio was captured: places the service's ``audio_start_ms`` and
        ``audio_end_ms`` on the events' clock (empty where the page could not read it).
    """

    events: EventLog
    audio: dict[str, Track] = field(default_factory=dict)
    provider: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    sent_clock: SentClock = field(default_factory=SentClock)

    def __post_init__(self) -> None:
        for name in TRACKS:
            self.audio.setdefault(name, Track.empty(name))

    @property
    def mic(self) -> Track:
        """The microphone track."""
        return self.audio["mic"]

    @property
    def model(self) -> Track:
        """The model's voice."""
        return self.audio["model"]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the recording to the folder ``path`` (created; an earlier recording there is replaced)."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"Cannot save a recording to {folder}: it is a file. Give a folder name.")
        if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).exists():
            raise ValueError(f"Cannot save a recording to {folder}: it holds other files. Give a new or empty folder.")
        staging = folder.with_name(folder.name + ".saving")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.events.save(staging / EVENTS)
        (staging / SENT_CLOCK).write_text("".join(line + "\n" for line in self.sent_clock.lines()), encoding="utf-8")
        tracks = {}
        for name, track in self.audio.items():
            write_flac(staging / f"{name}.flac", track.samples, track.rate)
            tracks[name] = _track_entry(track, f"{name}.flac")
        _write_manifest(staging, self.provider, self.config, tracks)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
        self.path = folder
        return folder

    def player(self, which: str = "both") -> Any:
        """An audio player for the notebook: ``"mic"``, ``"model"`` or ``"both"`` (stereo, aligned)."""
        from IPython.display import Audio

        if which in self.audio:
            track = self.audio[which]
            return Audio(track.float32(), rate=track.rate, normalize=False)  # type: ignore[no-untyped-call]
        if which != "both":
            raise ValueError(f"No track {which!r}: choose 'mic', 'model' or 'both'.")
        left, right, _ = aligned(self.mic, self.model)
        return Audio(  # type: ignore[no-untyped-call]
            np.vstack([left, right]).astype(np.float32) / 32768.0, rate=self.mic.rate, normalize=False
        )

    def __repr__(self) -> str:
        parts = [f"{len(self.events)} events"]
        parts += [f"{name} {track.duration_s:.1f} s" for name, track in self.audio.items()]
        where = f" at {self.path}" if self.path else ""
        return f"<Recording{where}: {', '.join(parts)}>"


def aligned(a: Track, b: Track) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16], float | None]:
    """Both tracks on one timeline, and when it starts (``None`` when both are empty).

    The timeline runs from the earlier start to the later end, with zeros around each track.
    """
    if a.rate != b.rate:
        raise ValueError(f"The tracks have different rates ({a.rate} and {b.rate} Hz).")
    starts = [t.start for t in (a, b) if t.start is not None]
    if not starts:
        return a.samples[:0], b.samples[:0], None
    origin = min(starts)
    out = []
    offsets = [0 if t.start is None else round((t.start - origin) * t.rate) for t in (a, b)]
    length = max(offset + len(t.samples) for offset, t in zip(offsets, (a, b), strict=True))
    for offset, track in zip(offsets, (a, b), strict=True):
        line = np.zeros(length, np.int16)
        line[offset : offset + len(track.samples)] = track.samples
        out.append(line)
    return out[0], out[1], origin


def load(path: str | os.PathLike[str]) -> Recording:
    """Read a recording folder written by :meth:`Recording.save` or by recording with autosave.

    Raises
    ------
    FileNotFoundError
        If there is no folder at ``path``.
    ValueError
        If the folder is not a recording, or a file in it is damaged; the message names it.
    """
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"No recording at {folder}.")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file: give the folder a recording was saved to.")
    manifest = _read_manifest(folder)
    events = EventLog.load(folder / EVENTS) if (folder / EVENTS).exists() else EventLog()
    audio = {name: _read_track(folder, name, entry) for name, entry in manifest["tracks"].items()}
    sent = SentClock.read(folder / SENT_CLOCK)
    return Recording(events, audio, manifest.get("provider"), manifest.get("config") or {}, folder, sent)


# -- tracks on disk ------------------------------------------------------------------------------


def write_flac(target: Path | BinaryIO, samples: npt.NDArray[np.int16], rate: int) -> None:
    """Mono 16-bit samples to a FLAC file (a path, or a binary file object)."""
    import av  # PyAV: imported when needed, it takes a while

    with av.open(target if not isinstance(target, Path) else str(target), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        stream.format = "s16"
        for start in range(0, max(len(samples), 1), rate):
            chunk = samples[start : start + rate]
            if len(chunk) == 0:
                break
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk).reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def read_flac(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """A mono 16-bit FLAC file's samples and rate."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            rate = stream.rate
            chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
    except (av.FFmpegError, IndexError) as exc:
        raise ValueError(f"Cannot read the audio track {path}: {exc}.") from None
    samples = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    return samples, int(rate)


def _read_track(folder: Path, name: str, entry: Mapping[str, Any]) -> Track:
    rate = int(entry.get("rate", RATE))
    flac = folder / str(entry.get("file", f"{name}.flac"))
    if flac.suffix == ".flac" and flac.exists():
        samples, rate = read_flac(flac)
        anchors = np.asarray(entry.get("anchors") or np.zeros((0, 2)), np.float64).reshape(-1, 2)
    else:  # still being written, or cut short: the raw stream and its anchors
        samples, anchors = read_stream(folder, name)
    return Track(name, samples, rate, anchors, as_played=bool(entry.get("as_played", False)))


def read_stream(folder: Path, name: str) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float64]]:
    """A track as streamed to disk during the call (``NAME.pcm``, ``NAME.anchors.jsonl``).

    A chunk whose anchor line was not written (the kernel died between the two writes) is
    kept, timed from the last anchor; a torn last line or odd last byte is dropped.
    """
    pcm = folder / f"{name}.pcm"
    raw = pcm.read_bytes() if pcm.exists() else b""
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], np.int16).copy()
    rows = []
    for line in _lines(folder / f"{name}.anchors.jsonl"):
        try:
            index, t = json.loads(line)
            if math.isfinite(index) and math.isfinite(t):
                rows.append((float(index), float(t)))
        except (ValueError, TypeError):
            continue  # a torn last line
    return samples, np.asarray(rows, np.float64).reshape(-1, 2)


def _lines(path: Path) -> Iterator[str]:
    if path.exists():
        yield from path.read_text(encoding="utf-8", errors="replace").splitlines()


def _track_entry(track: Track, file: str) -> dict[str, Any]:
    entry = {"file": file, "rate": track.rate, "samples": len(track.samples), "anchors": track.anchors.tolist()}
    return entry | ({"as_played": True} if track.as_played else {})


def _write_manifest(folder: Path, provider: str | None, config: Mapping[str, Any], tracks: dict[str, Any]) -> None:
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "saved": datetime.now(UTC).isoformat(timespec="seconds"),
        "provider": provider,
        "config": dict(config),
        "tracks": tracks,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise ValueError(f"{folder} is not a recording: it has no {MANIFEST}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is damaged: {exc}.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not an rt-widget recording manifest.")
    if not isinstance(manifest.get("tracks"), dict):
        raise ValueError(f"{path} lists no tracks.")
    if int(manifest.get("version", 0)) > VERSION:
        raise ValueError(f"{path} was written by a newer rt-widget (format {manifest['version']}): upgrade to read it.")
    return manifest
