"""Opus packets made by the tracks themselves: they decode to what was said, silence is cheap."""

from __future__ import annotations

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection

import rt_widget as rt
from rt_widget.opus import FRAME, RATE, SETTLE_FRAMES, OpusPackets, negotiated_opus, prefer_opus
from rt_widget.providers import Local
from tests.aio import run


def decode(packets: list[av.Packet]) -> np.ndarray:
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout, decoder.format = RATE, "mono", "s16"
    return np.concatenate([f.to_ndarray().reshape(-1) for p in packets for f in decoder.decode(p)])


def test_packets_decode_to_the_tone_that_was_encoded():
    t = np.arange(FRAME * 50) / RATE
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    opus = OpusPackets()
    packets = [opus.packet(tone[i * FRAME : (i + 1) * FRAME], i * FRAME) for i in range(50)]
    assert [p.pts for p in packets] == [i * FRAME for i in range(50)]
    heard = decode(packets)
    assert len(heard) == len(tone)
    spectrum = np.abs(np.fft.rfft(heard[FRAME * 5 :]))  # past the codec's delay
    assert abs(np.argmax(spectrum) * RATE / len(heard[FRAME * 5 :]) - 440) < 5
    assert 6000 < np.abs(heard).max() < 10000


def test_settled_silence_is_one_packet_sent_again_and_decodes_to_silence():
    opus = OpusPackets()
    loud = (np.random.default_rng(1).normal(0, 3000, FRAME)).astype(np.int16)
    opus.packet(loud, 0)
    quiet = [bytes(opus.packet(np.zeros(FRAME, np.int16), (i + 1) * FRAME)) for i in range(SETTLE_FRAMES + 5)]
    repeats = quiet[SETTLE_FRAMES:]
    assert len(set(repeats)) == 1  # the same encoded silence, not encoded again
    assert np.abs(decode([av.Packet(b) for b in repeats])).max() < 50


def test_an_offer_that_prefers_opus_offers_nothing_else():
    async def body() -> str:
        pc = RTCPeerConnection()
        prefer_opus(pc.addTransceiver("audio", direction="sendrecv"))
        await pc.setLocalDescription(await pc.createOffer())
        sdp = str(pc.localDescription.sdp)
        await pc.close()
        return sdp

    sdp = run(body())
    rtpmaps = [line for line in sdp.splitlines() if line.startswith("a=rtpmap:")]
    assert rtpmaps
    assert all("opus/48000" in line for line in rtpmaps)
    assert negotiated_opus(sdp)
    assert not negotiated_opus(sdp.replace("opus/48000/2", "PCMU/8000"))


@pytest.mark.timeout(60)
def test_a_headless_call_and_the_emulator_both_send_opus_packets():
    with rt.Emulator() as emu, rt.Call(provider=Local(emu), output_modalities=["audio"]) as call:
        assert emu.call(call.call_id).speaker.opus is not None
        call.say("hello")
        call.wait("output_audio_buffer.stopped", timeout=20)
        audio = call.audio
    assert audio.duration_s > 1.0
    assert int(np.abs(audio.samples.astype(np.int32)).max()) > 1000  # the reply is heard
