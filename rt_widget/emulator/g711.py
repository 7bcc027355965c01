"""G.711 μ-law and A-law (``audio/pcmu``, ``audio/pcma``): 8-bit telephone audio at 8 kHz.

The Realtime formats other than ``audio/pcm`` (telephony bridges such as Twilio's send
μ-law). The tables follow ITU-T G.711 as the classic Sun reference code (and CPython's old
``audioop``) implement it; ``audioop`` itself is gone from Python 3.13.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 8_000
_ULAW_BIAS = 0x21  # on 14-bit samples (0x84 on 16-bit ones, when decoding)
_ULAW_CLIP = 8159
# Upper bounds of the segments: μ-law's on 14-bit magnitudes, A-law's on 13-bit ones.
_ULAW_SEGMENTS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENTS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(samples: npt.NDArray[np.int16]) -> bytes:
    """16-bit samples as μ-law bytes."""
    x = samples.astype(np.int32) >> 2  # 14 bits
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    segment = np.searchsorted(_ULAW_SEGMENTS, magnitude)  # 0..8; 8 means beyond the last
    value = (np.minimum(segment, 7) << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    value = np.where(segment >= 8, 0x7F, value)
    return ((value ^ mask) & 0xFF).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """μ-law bytes as 16-bit samples."""
    u = ~np.frombuffer(data, np.uint8).astype(np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def alaw_encode(samples: npt.NDArray[np.int16]) -> bytes:
    """16-bit samples as A-law bytes."""
    x = samples.astype(np.int32) >> 3  # 13 bits
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.where(x >= 0, x, -x - 1)
    segment = np.searchsorted(_ALAW_SEGMENTS, magnitude)  # 0..8; 8 means beyond the last
    shift = np.where(segment < 2, 1, segment)
    value = (np.minimum(segment, 7) << 4) | ((magnitude >> shift) & 0x0F)
    value = np.where(segment >= 8, 0x7F, value)
    return ((value ^ mask) & 0xFF).astype(np.uint8).tobytes()


def alaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """A-law bytes as 16-bit samples."""
    a = np.frombuffer(data, np.uint8).astype(np.int32) ^ 0x55
    segment = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(segment == 0, t + 8, (t + 0x108) << np.maximum(segment - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)
