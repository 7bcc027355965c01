"""20 ms of mono audio as one Opus packet, for an aiortc track that hands over packets, not frames.

Given a frame, aiortc's sender computes its audio level in pure Python, then encodes it on a
thread pool at 96 kbit/s stereo: about 0.4 ms of CPU and two thread hops per frame, 50 times
a second, on every call, mostly for silence. A track that returns an ``av.Packet`` skips all
of that; :class:`OpusPackets` encodes mono speech at a voice bitrate on the caller's thread
and, once a stretch of silence has settled, sends the same encoded silent packet again
instead of encoding more zeros. Measured on the headless benchmark, this is most of what a
call's sending side costs.

The packets are Opus only: a peer that hands them over must have negotiated Opus
(:func:`negotiated_opus` tells, :func:`prefer_opus` makes an offer say so).
"""

from __future__ import annotations

import fractions
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.sdp import SessionDescription

RATE = 48_000
FRAME = RATE // 50  # 20 ms
TIME_BASE = fractions.Fraction(1, RATE)
BITRATE = 32_000
"""Opus's recommended rate for full-band mono speech (RFC 7587 section 3.1.1 gives 28-40 kbit/s)."""
SETTLE_FRAMES = 5
"""Silent frames still encoded after sound, so the decoder's state settles before repeats begin."""


class OpusPackets:
    """Encodes 20 ms frames of mono 16-bit PCM at 48 kHz into Opus packets, one per frame."""

    def __init__(self) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = RATE
        codec.layout = "mono"
        codec.format = "s16"
        codec.bit_rate = BITRATE
        codec.time_base = TIME_BASE
        codec.options = {"application": "voip"}
        self._codec = codec
        self._quiet = 0  # silent frames in a row
        self._silence = b""
        for _ in range(SETTLE_FRAMES):  # the encoder's delay passes, and the silent packet is known
            self._silence = self._encode(np.zeros(FRAME, np.int16)) or self._silence

    def packet(self, samples: npt.NDArray[np.int16], pts: int) -> av.Packet[Any]:
        """The packet for one frame (``FRAME`` samples), stamped ``pts`` in 1/48000 s."""
        self._quiet = 0 if samples.any() else self._quiet + 1
        data = self._silence if self._quiet > SETTLE_FRAMES else self._encode(samples) or self._silence
        return self.stamped(data, pts)

    @staticmethod
    def stamped(data: bytes, pts: int) -> av.Packet[Any]:
        """An encoded frame as a packet stamped ``pts`` in 1/48000 s."""
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = TIME_BASE
        return packet

    def _encode(self, samples: npt.NDArray[np.int16]) -> bytes:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = None  # the encoder counts; the packet gets the track's own stamp
        packets = self._codec.encode(frame)
        return bytes(packets[0]) if packets else b""


def prefer_opus(transceiver: RTCRtpTransceiver) -> None:
    """Offer only Opus on ``transceiver`` (every WebRTC endpoint supports it)."""
    codecs = RTCRtpSender.getCapabilities("audio").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "audio/opus"])


def negotiated_opus(sdp: str) -> bool:
    """Whether the first audio codec of a local description ``sdp`` (the one sent with) is Opus."""
    for media in SessionDescription.parse(sdp).media:
        if media.kind == "audio" and media.rtp.codecs:
            return media.rtp.codecs[0].mimeType.lower() == "audio/opus"
    return False
