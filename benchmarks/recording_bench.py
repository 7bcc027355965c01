"""What recording a call costs (issue 14): event latency, CPU, disk. Prints markdown tables, asserts nothing.

Run it in a loopback-only network namespace (as the tests do):

    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/recording_bench.py'

Setup. The emulator runs in its own process (``rt-widget emulator``), as the real service would
be remote. One JupyterLab notebook, in one Chromium page, shows three widgets on it: ``off``
(``record=False``) and ``rec1``, ``rec2`` (``record=True``, each with a fresh recorder), all with
``turn_detection=None``. Chromium's fake microphone plays a WAV in a loop: espeak-ng saying a
sentence (about 3 s), then 2 s of silence, so the microphone track holds speech about half the
time, as in a conversation.

1. CPU per minute of call, and disk. Rounds ``off``, ``rec1``, ``off``, ``rec2``: each connects,
   then holds the call for :data:`CALL_S` seconds in which the kernel calls ``s.say("Tell me a
   joke.")`` every :data:`TURN_EVERY_S` seconds, so the emulator's model speaks a reply of a few
   seconds each time (the model track holds speech about half the time). CPU is user + system time
   from ``/proc`` over the held call (connecting and hanging up left out): the browser's is the
   sum over every Chromium process under this one (browser, renderers, GPU, audio and network
   services), the kernel's is its one process (its pid asked of the kernel). Reported as CPU
   seconds per minute of call (60 would be one core busy). Disk: the sizes of the raw tracks the
   recorder streams to (``s.session.recorder.folder``, ``mic.pcm`` and ``model.pcm``, 16-bit PCM
   at 24 kHz), and of the FLAC files ``s.save(folder)`` writes after hanging up, per minute of
   recorded audio (1 MB = 10^6 bytes).
2. Event latency, browser receipt to the Python callback, at 500 events/s (2 s bursts of
   ``rate_limits.updated`` from the emulator, as in ``session_bench.py``), in alternating rounds
   ``rec2``, ``off``, ... (:data:`LATENCY_ROUNDS` of each) on the same page, each on a fresh call
   that has been up for :data:`SETTLE_S` seconds (so the recording is streaming during the burst).
   Every round is printed, so the noise of a shared machine shows. The cost is the median of the
   paired differences (each recorded round less the unrecorded one after it), with a 95% interval
   that assumes nothing of their distribution (order statistics of the differences: the sign
   test's interval for a median). Targets: at most +1 ms at p50, +5 ms at p99.

``--rounds N`` sets the number of latency pairs (default :data:`LATENCY_ROUNDS`); the p99 of a 2 s
burst swings by tens of ms from round to round here (unrecorded rounds as much as recorded ones),
so a tight interval takes many pairs: 15 left the p99's interval 12 ms wide, 30 about 2.5 ms.
``--latency-only`` skips part 1.

The machine's core count and load average (before and after) are printed with the tables: the
figures are only as quiet as the machine was.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headless_bench import process_cpu_s, table
from playwright.sync_api import Page, sync_playwright
from session_bench import SESSION_CELL, external_emulator, latency

from tests.browser.conftest import launch
from tests.browser.lab import KernelProbe, LabServer, jupyter_lab
from tests.browser.mic import speech_wav
from tests.browser.notebook import open_and_run, write_notebook

CALL_S = 60.0
TURN_EVERY_S = 10.0
SETTLE_S = 1.5
LATENCY_ROUNDS = 30
RATE = 500
# In the notebook's order: the n-th .rt-connect is WIDGETS[n]. Each recorded CPU round has its own
# widget, so its folder holds that call alone (a widget's later calls go into the same tracks).
WIDGETS = ("off", "rec1", "rec2")
MB = 1e6


@dataclass
class CpuRound:
    widget: str
    held_s: float
    browser_s: float
    kernel_s: float
    replies: int

    @property
    def recorded(self) -> bool:
        return self.widget != "off"

    def per_minute(self, cpu_s: float) -> float:
        return cpu_s / self.held_s * 60


@dataclass
class LatencyRound:
    widget: str
    p50_ms: float
    p99_ms: float
    events: int

    @property
    def recorded(self) -> bool:
        return self.widget != "off"


@dataclass
class DiskRound:
    widget: str
    track: str
    seconds: float
    pcm_bytes: int
    flac_bytes: int


def notebook(lab: LabServer, emulator: SimpleNamespace) -> str:
    """The bench notebook: one widget a cell; each made ``s`` in turn, with session_bench's callback."""
    provider = f"OpenAI(api_key={emulator.api_key!r}, base_url={emulator.base_url!r})"
    cells = [
        f"s = {name} = rt.Realtime(provider={provider}, turn_detection=None, record={name != 'off'})\n{SESSION_CELL}"
        for name in WIDGETS
    ]
    return write_notebook(
        lab,
        "recording_bench.ipynb",
        "import time\nimport rt_widget as rt\nfrom rt_widget.providers import OpenAI",
        *cells,
    )


def descendants(pid: int) -> list[int]:
    """The processes under ``pid``, from ``/proc`` (others on the machine may run Chromium too)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended meanwhile
        children.setdefault(int(text[text.rindex(")") + 2 :].split()[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def chromium_cpu_s() -> dict[int, float]:
    """CPU seconds of every Chromium process under this one, by pid."""
    times = {}
    for pid in descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().startswith("chrom"):
                times[pid] = process_cpu_s(pid)
        except OSError:
            pass  # it ended meanwhile
    return times


def connect(page: Page, kernel: KernelProbe, widget: str) -> None:
    """Make ``widget`` the kernel's ``s`` and start its call from the page."""
    kernel.execute(f"s = {widget}")
    page.locator(".rt-connect").nth(WIDGETS.index(widget)).click()
    kernel.wait_until("s.status == 'connected'")
    time.sleep(SETTLE_S)
    if widget != "off":
        kernel.wait_until("s.session.recorder.duration_s('mic') > 0")  # the page streams its recording


def hang_up(page: Page, kernel: KernelProbe, widget: str) -> None:
    page.locator(".rt-connect").nth(WIDGETS.index(widget)).click()
    kernel.wait_until("s.status == 'closed'")


def cpu_round(page: Page, kernel: KernelProbe, widget: str, kernel_pid: int) -> CpuRound:
    """Hold a call on ``widget`` for CALL_S with a spoken reply every TURN_EVERY_S; the CPU it took."""
    connect(page, kernel, widget)
    spoken = "len(s.events.of_type('output_audio_buffer.started'))"
    replies = kernel.eval(spoken)
    browser0, kernel0, start = chromium_cpu_s(), process_cpu_s(kernel_pid), time.monotonic()
    turn = 0
    while (elapsed := time.monotonic() - start) < CALL_S:
        if elapsed >= turn * TURN_EVERY_S:
            kernel.execute("s.say('Tell me a joke.')")
            turn += 1
        time.sleep(0.1)
    browser1, kernel1, held = chromium_cpu_s(), process_cpu_s(kernel_pid), time.monotonic() - start
    replies = kernel.eval(spoken) - replies
    hang_up(page, kernel, widget)
    browser = sum(cpu - browser0.get(pid, 0.0) for pid, cpu in browser1.items())
    return CpuRound(widget, held, browser, kernel1 - kernel0, replies)


def disk_rounds(kernel: KernelProbe, widget: str, saved: Path) -> list[DiskRound]:
    """The sizes of ``widget``'s streamed tracks and of the FLAC files of its saved recording."""
    time.sleep(0.5)  # the chunks the page sent on hanging up
    kernel.execute(f"s = {widget}\ns.save({str(saved)!r})", timeout=120)
    streamed = Path(kernel.eval("str(s.session.recorder.folder)"))
    rows = []
    for track in ("mic", "model"):
        seconds = kernel.eval(f"s.session.recorder.duration_s({track!r})")
        pcm, flac = (streamed / f"{track}.pcm").stat().st_size, (saved / f"{track}.flac").stat().st_size
        rows.append(DiskRound(widget, track, seconds, pcm, flac))
    return rows


def latency_rounds(page: Page, kernel: KernelProbe, emulator: SimpleNamespace, pairs: int) -> list[LatencyRound]:
    """Alternating calls on ``rec2`` and ``off``: p50, p99 and count of one 500/s burst each."""
    rows = []
    for n in range(pairs):
        print(f"latency pair {n + 1}/{pairs}", file=sys.stderr, flush=True)
        for widget in ("rec2", "off"):
            connect(page, kernel, widget)
            rows.append(LatencyRound(widget, *latency(kernel, emulator, RATE)))
            hang_up(page, kernel, widget)
    return rows


def report(
    cpu: list[CpuRound],
    disk: list[DiskRound],
    lat: list[LatencyRound],
    loads: tuple[tuple[float, ...], tuple[float, ...]],
) -> None:
    fmt = "{:.2f}".format
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in loads)
    print(f"\nMachine: {os.cpu_count()} cores; load average (1, 5, 15 min) {before} before, {after} after")

    print(f"\n### Event latency, browser receipt -> Python callback, {RATE} ev/s, 2 s bursts\n")
    print(table(["round", "recording", "events", "p50 ms", "p99 ms"], [
        [i // 2 + 1, "on" if r.recorded else "off", r.events, fmt(r.p50_ms), fmt(r.p99_ms)] for i, r in enumerate(lat)
    ]))  # fmt: skip
    on, off = [r for r in lat if r.recorded], [r for r in lat if not r.recorded]
    d50 = [a.p50_ms - b.p50_ms for a, b in zip(on, off, strict=True)]
    d99 = [a.p99_ms - b.p99_ms for a, b in zip(on, off, strict=True)]
    print()
    print(table(["", "p50 ms", "p99 ms"], [
        ["recording off (median of rounds)", fmt(statistics.median(r.p50_ms for r in off)),
         fmt(statistics.median(r.p99_ms for r in off))],
        ["recording on (median of rounds)", fmt(statistics.median(r.p50_ms for r in on)),
         fmt(statistics.median(r.p99_ms for r in on))],
        [f"added by recording (median of {len(d50)} paired differences)", f"{statistics.median(d50):+.2f}",
         f"{statistics.median(d99):+.2f}"],
        ["95% interval of that median", interval(d50), interval(d99)],
        ["target", "<= +1", "<= +5"],
    ]))  # fmt: skip
    if cpu:
        report_cpu_and_disk(cpu, disk)


def interval(differences: list[float], confidence: float = 0.95) -> str:
    """The distribution-free interval for the median of ``differences`` (order statistics, sign test).

    With n values, the k-th smallest and k-th largest bound the median with probability
    1 - 2 P(Binomial(n, 1/2) < k); k is the largest that keeps that at ``confidence`` or more.
    """
    n = len(differences)
    ordered = sorted(differences)
    k = 0
    while k + 1 <= n // 2 and 1 - 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n >= confidence:
        k += 1
    if k == 0:
        return f"needs >= 6 pairs (have {n})"
    covered = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
    return f"{ordered[k - 1]:+.2f} to {ordered[n - k]:+.2f} ({covered:.0%})"


def report_cpu_and_disk(cpu: list[CpuRound], disk: list[DiskRound]) -> None:
    fmt = "{:.2f}".format

    print(f"\n### CPU per minute of call ({CALL_S:.0f} s held, a spoken reply every {TURN_EVERY_S:.0f} s)\n")
    print(table(["round", "widget", "recording", "held s", "replies", "browser CPU s/min", "kernel CPU s/min"], [
        [i + 1, r.widget, "on" if r.recorded else "off", f"{r.held_s:.1f}", r.replies, fmt(r.per_minute(r.browser_s)),
         fmt(r.per_minute(r.kernel_s))] for i, r in enumerate(cpu)
    ]))  # fmt: skip
    print()
    means = {
        on: [statistics.mean(r.per_minute(getattr(r, f"{side}_s")) for r in cpu if r.recorded == on)
             for side in ("browser", "kernel")]
        for on in (False, True)
    }  # fmt: skip
    rows = [[f"recording {'on' if on else 'off'} (mean of rounds)", *map(fmt, means[on])] for on in (False, True)]
    rows.append(["added by recording", *(f"{b - a:+.2f}" for a, b in zip(means[False], means[True], strict=True))])
    print(table(["", "browser CPU s/min", "kernel CPU s/min"], rows))

    print("\n### Disk per minute of recorded audio, per track (16-bit, 24 kHz, mono)\n")
    print(table(["widget", "track", "recorded s", "streaming .pcm MB/min", "saved .flac MB/min", "FLAC / PCM"], [
        [d.widget, d.track, f"{d.seconds:.1f}", fmt(d.pcm_bytes / MB / d.seconds * 60),
         fmt(d.flac_bytes / MB / d.seconds * 60), fmt(d.flac_bytes / d.pcm_bytes)] for d in disk
    ]))  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=LATENCY_ROUNDS, help="latency pairs (on, off) to run")
    parser.add_argument("--latency-only", action="store_true", help="skip the CPU and disk rounds")
    args = parser.parse_args(argv)
    loads_before = os.getloadavg()
    proc, emulator = external_emulator()
    with tempfile.TemporaryDirectory() as tmpdir, jupyter_lab(Path(tmpdir)) as lab, sync_playwright() as pw:
        # The fake microphone loops a spoken sentence with a pause after it.
        wav = speech_wav(Path(tmpdir) / "mic.wav", "The quick brown fox jumps over the lazy dog.", 0.0, 2.0)
        browser = launch(pw, f"--use-file-for-fake-audio-capture={wav}")
        page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        page.set_default_timeout(60_000)
        kernel = open_and_run(page, lab, notebook(lab, emulator))
        page.locator(".rt-connect").nth(len(WIDGETS) - 1).wait_for()
        kernel_pid = int(kernel.eval("__import__('os').getpid()"))
        time.sleep(5)  # the page's first drawing, out of the first round

        cpu: list[CpuRound] = []
        disk: list[DiskRound] = []
        for widget in () if args.latency_only else ("off", "rec1", "off", "rec2"):
            cpu.append(cpu_round(page, kernel, widget, kernel_pid))
            if widget != "off":
                disk += disk_rounds(kernel, widget, lab.root / f"saved_{widget}")
        lat = latency_rounds(page, kernel, emulator, args.rounds)
        kernel.close()
        browser.close()
    proc.terminate()
    report(cpu, disk, lat, (loads_before, os.getloadavg()))


if __name__ == "__main__":
    main()
