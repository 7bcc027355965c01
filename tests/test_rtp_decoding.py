"""Received audio is decoded on the event loop on both ends of a call (rt_widget.rtp_decoding).

If an aiortc upgrade changes the receiver so that the swap no longer takes effect, calls keep
working on aiortc's decoder threads, and this test says so.
"""

from __future__ import annotations

import asyncio

import numpy as np

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.peer import Clip
from rt_widget.providers import Local
from rt_widget.rtp_decoding import _DecodeOnPut
from tests.samples import speech


def decoder_queues(pc) -> list[object]:
    return [getattr(t.receiver, "_RTCRtpReceiver__decoder_queue", None) for t in pc.getTransceivers()]


def test_both_ends_decode_on_the_loop_and_hear_each_other():
    said = speech("hello there")
    with Emulator() as emu:

        async def body() -> None:
            async with rt.Call(provider=Local(emu), transcription="gpt-4o-mini-transcribe") as call:
                peer = call._transport.peer
                assert peer is not None
                assert [type(q) for q in decoder_queues(peer._pc)] == [_DecodeOnPut]
                (receiver,) = [t.receiver for t in peer._pc.getTransceivers()]
                assert receiver._RTCRtpReceiver__jitter_buffer._prefetch == 1  # the voice as it comes in
                served = emu.call(call.call_id)
                assert [type(q) for q in decoder_queues(served._pc)] == [_DecodeOnPut]
                done = asyncio.ensure_future(call.wait_for("output_audio_buffer.stopped", timeout=30))
                await call.play(Clip.from_array(said.samples, said.rate))
                await done
                transcript = call.events.of_type("conversation.item.input_audio_transcription.completed")
                assert "hello there" in transcript[-1]["transcript"].lower()  # the emulator heard us
                assert np.abs(call.audio.samples).max() > 1000  # and we heard it

        asyncio.run(body())
