"""The emulator's VAD on the labelled clips of tests/vad_clips.py. Prints a table.

    .venv/bin/python benchmarks/vad_bench.py

Each clip goes through a fresh Listener (default server_vad: threshold 0.5, prefix padding
300 ms, silence 200 ms) in three conditions: the clip alone (it starts the stream), after 1 s
of digital silence, and after 1 s of room noise (pink, -50 dBFS RMS). A clip "started" when
the listener emitted input_audio_buffer.speech_started. Targets: every speech clip starts a
turn, no other clip does. Also printed: how far speech_started/speech_stopped land from where
the speech begins and ends (clean speech clips, after the second of silence), and the
detector's CPU cost per 20 ms frame.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from rt_widget.emulator.vad import SpeechDetector
from tests.vad_clips import FRAME, RATE, SPEECH, Clip, labelled_clips, pink, to_int16, vad_events

PREFIX_PADDING_MS = 300  # the default session's
CONDITIONS = {
    "alone": np.zeros(0, np.int16),
    "after silence": np.zeros(RATE, np.int16),
    "after room noise": to_int16(pink(1.0, -50, seed=100)),
}


def started(clip: Clip, lead: np.ndarray) -> tuple[bool, list[dict[str, Any]]]:
    events = vad_events(np.concatenate([lead, clip.samples]))
    return any(e["type"] == "input_audio_buffer.speech_started" for e in events), events


def detector_cost_us(clips: tuple[Clip, ...]) -> float:
    """CPU time of SpeechDetector.feed per 20 ms frame, over every clip."""
    frames = 0
    start = time.process_time()
    for clip in clips:
        detector = SpeechDetector()
        for at in range(0, len(clip.samples) - FRAME + 1, FRAME):
            detector.feed(clip.samples[at : at + FRAME])
            frames += 1
    return (time.process_time() - start) / frames * 1e6


def main() -> None:
    clips = labelled_clips()
    kinds = list(dict.fromkeys(c.kind for c in clips))
    results = {name: [started(c, lead) for c in clips] for name, lead in CONDITIONS.items()}

    print(f"\nVAD on {len(clips)} labelled clips (turn started = speech_started emitted)")
    header = "".join(f" {name:>18}" for name in CONDITIONS)
    print(f"  {'class':15} {'clips':>5}{header}   (started / accuracy)")
    for kind in kinds:
        idx = [i for i, c in enumerate(clips) if c.kind == kind]
        cells = ""
        for name in CONDITIONS:
            n = sum(results[name][i][0] for i in idx)
            correct = n if kind == SPEECH else len(idx) - n
            cells += f" {n:>9} / {correct / len(idx):6.1%}"
        print(f"  {kind:15} {len(idx):>5}{cells}")
    cells = ""
    for name in CONDITIONS:
        correct = sum(ok == c.is_speech for c, (ok, _) in zip(clips, results[name], strict=True))
        cells += f" {'':>9}   {correct / len(clips):6.1%}"
    print(f"  {'all':15} {len(clips):>5}{cells}")

    for name in CONDITIONS:
        wrong = [c.name for c, (ok, _) in zip(clips, results[name], strict=True) if ok != c.is_speech]
        for clip_name in wrong:
            print(f"  wrong ({name}): {clip_name}")

    # Timed after the lead of silence: a clip that starts the stream less than the prefix padding
    # into its speech gets audio_start_ms clamped at 0, which reads as a late onset.
    lead_ms = len(CONDITIONS["after silence"]) / RATE * 1000
    start_err, end_err = [], []
    for clip, (_, events) in zip(clips, results["after silence"], strict=True):
        if clip.speech_s is None or "noise" in clip.name:
            continue
        for e in events:
            if e["type"] == "input_audio_buffer.speech_started":
                start_err.append(e["audio_start_ms"] + PREFIX_PADDING_MS - lead_ms - clip.speech_s[0] * 1000)
            if e["type"] == "input_audio_buffer.speech_stopped":
                end_err.append(e["audio_end_ms"] - lead_ms - clip.speech_s[1] * 1000)
                break
    print(
        f"\n  timing on clean speech clips after {lead_ms / 1000:g} s of silence (ms, event minus true; "
        "a Silero window is 32 ms)"
    )
    for label, err in (("speech onset (audio_start_ms + 300)", start_err), ("speech end (audio_end_ms)", end_err)):
        print(
            f"    {label:38} n={len(err):2}  median {statistics.median(err):+6.0f}"
            f"  min {min(err):+6.0f}  max {max(err):+6.0f}"
        )
    print(f"\n  detector cost: {detector_cost_us(clips):.0f} us of CPU per 20 ms frame (one core)")


if __name__ == "__main__":
    main()
