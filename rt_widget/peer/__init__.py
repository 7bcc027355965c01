"""Calls without a browser: the kernel as the WebRTC peer, with a microphone and ears.

:class:`KernelPeer` is the media plane of a headless call: it offers, takes the answer, sends
:class:`Clip` s in real time on its microphone, captures the model's voice and carries the
``oai-events`` data channel. It knows nothing of sessions or providers.
"""

from __future__ import annotations

from .capture import Capture, CapturedAudio
from .clips import Clip
from .microphone import Microphone, PeerClosedError, Playback
from .peer import KernelPeer, media_loop

__all__ = ["Capture", "CapturedAudio", "Clip", "KernelPeer", "Microphone", "PeerClosedError", "Playback", "media_loop"]
