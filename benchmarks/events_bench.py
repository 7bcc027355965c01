"""EventLog at scale: 1,000,000 synthetic events to .df and to turns(). Prints a table.

    .venv/bin/python benchmarks/events_bench.py [N]

Targets (2-core machine): .df and turns() each within 3 s, peak memory within 1.5 GB, and
.df at least 3x faster than pandas.json_normalize over the same events, measured in this run.
The events mimic a spoken session: per turn, VAD and commit events, a response with about
40 transcript deltas, usage, and the audio buffer markers.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from rt_widget import EventLog, turns
from tests.samples import REFERENCE_USAGE


def turn_events(n: int) -> list[dict]:
    user, resp, item = f"item_u{n}", f"resp_{n}", f"item_a{n}"
    ids = {"response_id": resp, "item_id": item, "output_index": 0, "content_index": 0}
    events = [
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": n * 1000, "item_id": user},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": n * 1000 + 800, "item_id": user},
        {"type": "input_audio_buffer.committed", "item_id": user, "previous_item_id": f"item_a{n - 1}" if n else None},
        {"type": "conversation.item.added", "previous_item_id": f"item_a{n - 1}" if n else None,
         "item": {"id": user, "type": "message", "status": "completed", "role": "user",
                  "content": [{"type": "input_audio", "transcript": None}]}},
        {"type": "response.created", "response": {"id": resp, "status": "in_progress", "output": []}},
        {"type": "conversation.item.added", "previous_item_id": user,
         "item": {"id": item, "type": "message", "status": "in_progress", "role": "assistant", "content": []}},
        {"type": "output_audio_buffer.started", "response_id": resp},
    ]  # fmt: skip
    events += [{"type": "response.output_audio_transcript.delta", **ids, "delta": "word "} for _ in range(40)]
    events += [
        {"type": "response.output_audio_transcript.done", **ids, "transcript": "word " * 40},
        {
            "type": "response.done",
            "response": {"id": resp, "status": "completed", "output": [], "usage": REFERENCE_USAGE},
        },
        {"type": "output_audio_buffer.stopped", "response_id": resp},
    ]
    return events


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(n: int = 1_000_000) -> None:
    per_turn = len(turn_events(0))
    log = EventLog()
    t0 = 1_700_000_000.0
    count = 0
    for turn in range(n // per_turn + 1):
        for i, event in enumerate(turn_events(turn)):
            if count == n:
                break
            event["event_id"] = f"event_{count}"
            log.append(event, direction="server", seq=count, call_id="rtc_bench", t_browser=t0 + turn + i * 0.01)
            count += 1
    after_build = peak_mb()
    frame, t_df = timed(lambda: log.df)
    table, t_turns = timed(lambda: turns(log))
    ours = peak_mb()
    payloads = [r["event"] for r in log]
    _, t_norm = timed(lambda: pd.json_normalize(payloads))
    print(f"\nEventLog at scale: {len(log):,} events ({len(table):,} turns)")
    print(f"  {'step':34} {'seconds':>8}")
    print(f"  {'.df':34} {t_df:8.2f}   target <= 3")
    print(f"  {'turns()':34} {t_turns:8.2f}   target <= 3")
    print(f"  {'pandas.json_normalize (same list)':34} {t_norm:8.2f}")
    print(f"  {'.df speed-up over json_normalize':34} {t_norm / t_df:8.1f}x  target >= 3x")
    print(
        f"  peak memory through .df and turns(): {ours:,.0f} MB "
        f"(the log alone: {after_build:,.0f} MB), target <= 1536 MB"
    )
    print(f"  peak memory including json_normalize: {peak_mb():,.0f} MB")
    assert len(frame) == len(log)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
