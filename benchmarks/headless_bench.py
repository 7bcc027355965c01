"""Headless call benchmarks: connect time against the widget, and how many real-time calls one machine holds.

Run it in a loopback-only network namespace (as the tests do):

    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/headless_bench.py'

The emulator runs in its own process (``rt-widget emulator``, see ``session_bench.py``), as the
real service would be remote; this process is the kernel. Prints markdown tables, asserts nothing.

1. Connect time: ``rt.Call.connect()`` (start to ``status == "connected"``, the data channel
   open) against the widget's click to data channel open in JupyterLab + Chromium, on the same
   emulator, with the same settings. One warm-up connect of each is left out. Target: headless
   no slower.
2. Concurrency ladder: N calls at once, each playing a spoken utterance in real time
   (``tests/samples.py`` ``speech()``) and waiting for the spoken reply to finish, for
   ``--turns`` turns. Per level: the largest gap between consecutive captured model-audio frames
   inside each reply's speaking stretch (first to last loud frame), the largest gap between the
   microphone's frames of each utterance (:attr:`Playback.max_gap_s`), the latency as heard,
   whether every turn completed, and CPU seconds per call in this process and in the emulator's
   (connect and hang-up included). Target: at least 10 calls with no gap over 60 ms and every
   turn done. A third table tells where the gaps came from: how many overlap a stall of the
   kernel peers' event loop (the others came from the emulator's side), that loop's worst lag,
   the longest garbage-collector pause here, how many turns were cut short by their call
   ending, and how many ICE connections this process closed for unanswered consent checks
   (:class:`ConsentExpiries`). The machine's load average is printed too: others may be using
   the same cores.

``--quick`` runs fewer connects and a smaller ladder; ``--no-widget`` skips the browser part;
``--stagger S`` spreads the calls' starts over S seconds (by default they all start together,
so their speech, recognition and replies coincide: the worst case).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from session_bench import external_emulator

import rt_widget as rt
from rt_widget.peer import CapturedAudio, Clip, Playback, media_loop
from rt_widget.peer.capture import SILENCE_PEAK
from rt_widget.providers import OpenAI
from tests.samples import speech

UTTERANCE = "hello there"
TRANSCRIBE = "gpt-4o-mini-transcribe"
GAP_TARGET_S = 0.060
STALL_S = 0.030  # a loop this late delays a 20 ms frame past the gap target, give or take
CALLS_TARGET = 10
TURN_TIMEOUT_S = 60.0
TAIL_S = 0.5  # after the reply's last event, for its last frames to arrive
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- CPU of both processes -----------------------------------------------------------------------


def own_cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid: int) -> float:
    """CPU seconds of process ``pid`` and its waited-for children, from ``/proc/<pid>/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; utime is field 14 of stat
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


class Stalls:
    """While entered: how late the kernel peers' event loop runs its callbacks, and this process's GC pauses.

    Every frame a call sends or receives passes through that one loop, so a stall there is a
    gap in every call at once; a gap with no stall here came from the emulator or the network.
    """

    PERIOD_S = 0.010

    def __init__(self) -> None:
        self.lags: list[tuple[float, float]] = []  # (wall-clock time the wait began, lateness)
        self.gc_pauses: list[float] = []
        self._gc_start = 0.0
        self._probe: concurrent.futures.Future[None] | None = None

    async def _measure(self) -> None:
        while True:
            began, t = time.time(), time.perf_counter()
            await asyncio.sleep(self.PERIOD_S)
            self.lags.append((began, time.perf_counter() - t - self.PERIOD_S))

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_pauses.append(time.perf_counter() - self._gc_start)

    def __enter__(self) -> Stalls:
        self._probe = media_loop().submit(self._measure())
        gc.callbacks.append(self._gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._gc)
        if self._probe is not None:
            self._probe.cancel()

    def max_lag(self) -> float | None:
        return max((lag for _, lag in self.lags), default=None)

    def stalled(self, start: float, end: float, at_least_s: float) -> bool:
        """Whether the loop was at least ``at_least_s`` late at some point from ``start`` to ``end``."""
        return any(
            lag >= at_least_s and began <= end and began + lag + self.PERIOD_S >= start for began, lag in self.lags
        )


class ConsentExpiries(logging.Handler):
    """Counts the ICE connections this process closed because their consent checks went unanswered.

    aioice checks consent (RFC 7675) every 5 s with one STUN request given 0.5 s for its
    answer, and closes the connection after 6 misses in a row: an overloaded event loop on
    either side ends the call that way, and the call then reports only ``closed``.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "Consent to send expired" in record.getMessage():
            self.count += 1

    def __enter__(self) -> ConsentExpiries:
        ice = logging.getLogger("aioice.ice")
        self._level = ice.level
        ice.setLevel(logging.INFO)  # the message is logged at INFO; nothing is printed
        ice.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        ice = logging.getLogger("aioice.ice")
        ice.removeHandler(self)
        ice.setLevel(self._level)


# -- connect time --------------------------------------------------------------------------------


def provider(emulator: SimpleNamespace) -> OpenAI:
    return OpenAI(api_key=emulator.api_key, base_url=emulator.base_url)


async def headless_connect_times(emulator: SimpleNamespace, runs: int) -> list[float]:
    """Milliseconds from ``connect()`` to connected, one fresh call per run, after one warm-up."""
    times = []
    for _ in range(runs + 1):
        call = rt.Call(provider=provider(emulator), turn_detection=None)
        start = time.perf_counter()
        await call.connect()
        times.append((time.perf_counter() - start) * 1000)
        await call.hangup()
    return times[1:]


def widget_connect_times(emulator: SimpleNamespace, runs: int) -> list[float]:
    """Milliseconds from the widget's Connect click to its data channel open, after one warm-up."""
    from playwright.sync_api import sync_playwright
    from session_bench import TIMING, click_to_open

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.lab import jupyter_lab
    from tests.browser.notebook import open_and_run, write_notebook

    with tempfile.TemporaryDirectory() as tmpdir, jupyter_lab(Path(tmpdir)) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(TIMING)
        page = context.new_page()
        page.set_default_timeout(60_000)
        path = write_notebook(
            lab,
            "headless_bench.ipynb",
            "import rt_widget as rt\nfrom rt_widget.providers import OpenAI",
            f"s = rt.Realtime(provider=OpenAI(api_key={emulator.api_key!r}, base_url={emulator.base_url!r}), "
            "turn_detection=None)\ns",
        )
        kernel = open_and_run(page, lab, path)
        page.locator(".rt-connect").wait_for()
        times = []
        for _ in range(runs + 1):
            times.append(click_to_open(page, ".rt-connect"))
            kernel.wait_until("s.status == 'connected'")
            page.locator(".rt-connect").click()  # hang up
            kernel.wait_until("s.status == 'closed'")
        kernel.close()
        browser.close()
    return times[1:]


# -- the concurrency ladder ----------------------------------------------------------------------


@dataclass
class Turn:
    """One utterance and the reply to it, as one call saw them."""

    done: bool = False
    heard: str = ""
    mic_gap_s: float | None = None
    reply_gap_s: float | None = None
    heard_latency_s: float | None = None
    long_gaps: list[tuple[float, float]] = field(default_factory=list)  # (start, length) over the target
    error: str = ""


@dataclass
class Level:
    """What N concurrent calls did."""

    calls: int
    turns: list[Turn] = field(default_factory=list)
    wall_s: float = 0.0
    kernel_cpu_s: float = 0.0
    emulator_cpu_s: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average as the level began (others share it)
    stalls: Stalls = field(default_factory=Stalls)
    consent_expired: int = 0  # ICE connections this process closed for unanswered consent checks

    @property
    def all_done(self) -> bool:
        return all(t.done for t in self.turns)

    def worst(self, name: str) -> float | None:
        values = [getattr(t, name) for t in self.turns if getattr(t, name) is not None]
        return max(values) if values else None

    @property
    def meets_target(self) -> bool:
        worst = [self.worst("reply_gap_s"), self.worst("mic_gap_s")]
        return self.all_done and all(w is not None and w <= GAP_TARGET_S for w in worst)

    def long_gaps(self) -> tuple[int, int]:
        """Reply gaps over the target, and how many of them overlap a stall of the kernel's loop."""
        gaps = [gap for turn in self.turns for gap in turn.long_gaps]
        stalled = sum(self.stalls.stalled(start, start + length, STALL_S) for start, length in gaps)
        return len(gaps), stalled


def frame_peaks(audio: CapturedAudio) -> npt.NDArray[np.int64]:
    """The loudest sample of each captured frame (0 for a frame that decoded to no samples)."""
    offsets = audio.frame_offsets
    ends = np.append(offsets[1:], len(audio.samples))
    filled = ends > offsets
    peaks = np.zeros(len(offsets), np.int64)
    if filled.any():
        peaks[filled] = np.maximum.reduceat(np.abs(audio.samples.astype(np.int64)), offsets[filled])
    return peaks


def reply_timing(turn: Turn, audio: CapturedAudio, peaks: npt.NDArray[np.int64], since: float, until: float) -> None:
    """Time the reply heard from ``since`` (the utterance's end) to ``until``: its latency as heard,
    and the gaps between consecutive frames from its first loud frame to its last."""
    inside = (audio.frame_times >= since) & (audio.frame_times < until)
    loud = np.flatnonzero(inside & (peaks > SILENCE_PEAK))
    if len(loud) == 0:
        return
    turn.heard_latency_s = float(audio.frame_times[loud[0]]) - since
    times = audio.frame_times[loud[0] : loud[-1] + 1]
    if len(times) < 2:
        return
    gaps = np.diff(times)
    turn.reply_gap_s = float(gaps.max())
    turn.long_gaps = [(float(times[i]), float(gaps[i])) for i in np.flatnonzero(gaps > GAP_TARGET_S)]


async def one_turn(call: rt.Call, clip: Clip) -> tuple[Turn, Playback | None]:
    """Play ``clip`` and wait until the spoken reply has been played out."""
    turn = Turn()
    waiters = [
        asyncio.ensure_future(call.wait_for(type_, TURN_TIMEOUT_S))
        for type_ in ("response.done", "output_audio_buffer.stopped")
    ]
    await asyncio.sleep(0)  # the waiters are registered before anything can arrive
    replies = asyncio.gather(*waiters)
    ended = asyncio.ensure_future(until_closed(call))
    playback = None
    try:
        playback = call.play(clip)
        await playback
        turn.mic_gap_s = playback.max_gap_s
        either: list[asyncio.Future[Any]] = [replies, ended]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not replies.done():
            raise ConnectionError(f"the call ended mid-turn (status {call.status!r}, error {call.error!r})")
        response, _ = replies.result()
        status = response["response"]["status"]
        turn.done = status == "completed"
        turn.error = "" if turn.done else f"response {status}"
    except Exception as exc:  # a benchmark reports what failed and goes on
        turn.error = f"{type(exc).__name__}: {exc}"
    finally:
        replies.cancel()  # and the waiters with it
        ended.cancel()
        await asyncio.gather(replies, ended, return_exceptions=True)  # collected: no "never retrieved" noise
    return turn, playback


async def until_closed(call: rt.Call) -> None:
    """Return once the call is no longer connected."""
    while call.status == "connected":  # noqa: ASYNC110 - polled: a benchmark needs no observer
        await asyncio.sleep(0.2)


async def one_call(emulator: SimpleNamespace, clip: Clip, turns: int, delay_s: float) -> list[Turn]:
    """A call that starts after ``delay_s`` and says ``clip`` ``turns`` times, each once the reply to the one
    before has ended."""
    await asyncio.sleep(delay_s)
    call = rt.Call(provider=provider(emulator), transcription=TRANSCRIBE)
    try:
        await call.connect()
    except Exception as exc:
        return [Turn(error=f"connect: {exc}") for _ in range(turns)]
    results: list[tuple[Turn, Playback | None]] = []
    try:
        for _ in range(turns):
            results.append(await one_turn(call, clip))
            if results[-1][0].error:
                break  # the call is broken or stuck: its other turns would only wait as long
        await asyncio.sleep(TAIL_S)  # the last reply's last frames are still on their way
    finally:
        await call.hangup()
    results += [(Turn(error="not played: an earlier turn failed"), None)] * (turns - len(results))
    heard = call.events.of_type("conversation.item.input_audio_transcription.completed")  # in turn order
    audio = call.audio
    peaks = frame_peaks(audio)
    # Each reply is heard between the end of its utterance and the start of the next one.
    bounds = [(p and p.started_at) or np.inf for _, p in results[1:]] + [np.inf]
    for i, ((turn, playback), until) in enumerate(zip(results, bounds, strict=True)):
        if i < len(heard):
            turn.heard = str(heard[i]["transcript"]).strip(" .!").lower()
        if playback is not None and playback.ended_at is not None:
            reply_timing(turn, audio, peaks, playback.ended_at, until)
    return [turn for turn, _ in results]


def measure_level(
    emulator: SimpleNamespace, emulator_pid: int, clip: Clip, calls: int, turns: int, stagger_s: float
) -> Level:
    """Run ``calls`` calls at once, each saying ``clip`` ``turns`` times, their starts spread over ``stagger_s``."""
    level = Level(calls, load=os.getloadavg()[0])
    kernel, emu, start = own_cpu_s(), process_cpu_s(emulator_pid), time.perf_counter()

    async def run() -> list[list[Turn]]:
        delays = np.linspace(0, stagger_s, calls, endpoint=False)
        return await asyncio.gather(*(one_call(emulator, clip, turns, float(d)) for d in delays))

    with level.stalls, ConsentExpiries() as expiries:
        for turns_of_call in asyncio.run(run()):
            level.turns += turns_of_call
    level.consent_expired = expiries.count
    level.wall_s = time.perf_counter() - start
    level.kernel_cpu_s = own_cpu_s() - kernel
    level.emulator_cpu_s = process_cpu_s(emulator_pid) - emu
    return level


# -- printing ------------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def connect_table(headless: list[float], widget: list[float] | None) -> str:
    rows: list[list[object]] = [
        ["headless `rt.Call`", len(headless), *(f"{percentile(headless, q):.0f}" for q in (0.5, 0.9))]
    ]
    if widget:
        rows.append(["widget in JupyterLab", len(widget), *(f"{percentile(widget, q):.0f}" for q in (0.5, 0.9))])
    text = table(["connect", "runs", "p50 ms", "p90 ms"], rows)
    if widget:
        ratio = statistics.median(headless) / statistics.median(widget)
        verdict = "met" if ratio <= 1.0 else "NOT met"
        text += f"\n\nheadless / widget (p50): {ratio:.2f} (target <= 1.00: {verdict})"
    return text


def ladder_tables(levels: Sequence[Level]) -> str:
    """Three tables: what the calls heard, what they cost, and where the gaps came from."""
    heard, cost, causes = [], [], []
    for level in levels:
        turns = level.turns
        latencies = [t.heard_latency_s for t in turns if t.heard_latency_s is not None]
        heard.append(
            [
                level.calls,
                f"{sum(t.done for t in turns)}/{len(turns)}",
                f"{sum(t.heard == UTTERANCE for t in turns)}/{len(turns)}",
                ms(level.worst("reply_gap_s")),
                ms(level.worst("mic_gap_s")),
                ms(statistics.median(latencies)) if latencies else "-",
                ms(max(latencies, default=None)),
                "yes" if level.meets_target else "no",
            ]
        )
        cost.append(
            [
                level.calls,
                f"{level.kernel_cpu_s / level.calls:.2f}",
                f"{level.emulator_cpu_s / level.calls:.2f}",
                f"{100 * level.kernel_cpu_s / level.wall_s:.0f}",
                f"{100 * level.emulator_cpu_s / level.wall_s:.0f}",
                f"{level.wall_s:.1f}",
                f"{level.load:.1f}",
            ]
        )
        causes.append(
            [
                level.calls,
                "{} ({})".format(*level.long_gaps()),
                ms(level.stalls.max_lag()),
                ms(max(level.stalls.gc_pauses, default=None)),
                sum("ended mid-turn" in t.error for t in turns),
                level.consent_expired,
            ]
        )
    target = f"{GAP_TARGET_S * 1000:.0f} ms"
    return "\n\n".join(
        [
            table(
                [
                    "calls",
                    "turns done",
                    "heard right",
                    "max reply gap ms",
                    "max mic gap ms",
                    "p50 latency as heard ms",
                    "max latency ms",
                    f"no gap > {target}, all done",
                ],
                heard,
            ),
            table(
                [
                    "calls",
                    "kernel CPU s/call",
                    "emulator CPU s/call",
                    "kernel % of a core",
                    "emulator % of a core",
                    "wall s",
                    "load avg at start",
                ],
                cost,
            ),
            table(
                [
                    "calls",
                    f"reply gaps > {target} (in a kernel loop stall)",
                    "kernel loop max lag ms",
                    "max GC pause ms",
                    "turns cut by the call ending",
                    "ICE consent expiries here",
                ],
                causes,
            ),
        ]
    )


def errors(levels: Sequence[Level]) -> Iterator[str]:
    for level in levels:
        for error in sorted({t.error for t in level.turns if t.error}):
            yield f"- {level.calls} calls: {error}"


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="3 connects and a ladder of 1 and 5 calls, one turn")
    parser.add_argument("--no-widget", action="store_true", help="skip the JupyterLab + Chromium part")
    parser.add_argument("--ladder", type=int, nargs="+", help="concurrency levels (default 1 5 10 15 20)")
    parser.add_argument("--turns", type=int, help="turns per call (default 2)")
    parser.add_argument(
        "--stagger", type=float, default=0.0, help="spread the calls' starts evenly over this many seconds (default 0)"
    )
    args = parser.parse_args(argv)
    runs = 3 if args.quick else 10
    ladder = args.ladder or ([1, 5] if args.quick else [1, 5, 10, 15, 20])
    turns = args.turns or (1 if args.quick else 2)

    said = speech(UTTERANCE)  # in a fresh process, before any CPU is counted
    clip = Clip.from_array(said.samples, said.rate)
    proc, emulator = external_emulator()
    try:
        headless = asyncio.run(headless_connect_times(emulator, runs))
        widget = None if args.no_widget else widget_connect_times(emulator, runs)
        levels = [measure_level(emulator, proc.pid, clip, n, turns, args.stagger) for n in ladder]
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)

    print("\n## Connect time, start to data channel open (same emulator, own process; 1 warm-up left out)\n")
    print(connect_table(headless, widget))
    print(
        f"\n## Concurrent real-time calls ({turns} turn(s) each: {clip.duration_s:.2f} s of speech, then the "
        f"spoken reply; starts spread over {args.stagger:g} s)\n"
    )
    print(ladder_tables(levels))
    passing = [level.calls for level in levels if level.meets_target]
    best = max(passing) if passing else 0
    verdict = "met" if best >= CALLS_TARGET else "NOT met"
    print(
        f"\nHighest level with no gap over {GAP_TARGET_S * 1000:.0f} ms and every turn done: {best} calls "
        f"(target >= {CALLS_TARGET}: {verdict})."
        f" Load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores."
    )
    problems = list(errors(levels))
    if problems:
        print("\nErrors:\n" + "\n".join(problems))


if __name__ == "__main__":
    main()
