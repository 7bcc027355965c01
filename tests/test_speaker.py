"""The emulator's speaker reports a drained queue only once the speech queued has played out."""

from __future__ import annotations

import asyncio

import numpy as np

from rt_widget.emulator.speaker import FRAME, RATE, Speaker


def _speech(frames: int) -> np.ndarray:
    return np.full(frames * FRAME, 1000, np.int16)


def _drains_seen(script) -> list[float]:
    """Run ``script(speaker)`` and return the played samples each time the speaker said drained."""

    async def body() -> list[float]:
        speaker = Speaker()
        seen: list[float] = []
        speaker.on_drained = lambda: seen.append(speaker.played_samples)
        await script(speaker)
        for _ in range(3):  # let deferred callbacks run
            await asyncio.sleep(0)
        return seen

    return asyncio.run(body())


def test_silence_never_reports_a_drain():
    async def script(speaker: Speaker) -> None:
        for _ in range(5):
            await speaker.recv()

    assert _drains_seen(script) == []
    assert Speaker().played_samples == 0


def test_speech_queued_just_after_a_silent_frame_is_not_reported_played():
    # The race that ended a CI run: a silent frame went out, then the engine queued a reply
    # in the same loop turn, and the reply was reported drained before any of it played.
    async def script(speaker: Speaker) -> None:
        await speaker.recv()  # silence
        speaker.play(_speech(3), RATE)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert speaker.queued_s > 0

    assert _drains_seen(script) == []


def test_a_drain_is_reported_once_the_last_frame_played():
    async def script(speaker: Speaker) -> None:
        speaker.play(_speech(3), RATE)
        for _ in range(4):
            await speaker.recv()

    assert _drains_seen(script) == [3 * FRAME]


def test_more_speech_queued_before_the_report_runs_holds_it_back():
    async def script(speaker: Speaker) -> None:
        speaker.play(_speech(1), RATE)
        await speaker.recv()  # the last queued frame: a report is due on the next loop turn
        speaker.play(_speech(2), RATE)  # ... but more came first
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert speaker.queued_s > 0
        for _ in range(2):
            await speaker.recv()

    assert _drains_seen(script) == [3 * FRAME]
