"""The local backend: trials as threads of this process, ``concurrency`` at a time.

A headless call spends its time waiting on the network and on real-time audio, and its media
runs on rt-widget's own peer loop, so threads are enough here.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Generator, Sequence

from ..providers import Provider
from .plan import Trial
from .trial import Options, Outcome, run_trial


def run_local(
    trials: Sequence[Trial], provider: Provider, options: Options, concurrency: int
) -> Generator[tuple[Trial, Outcome]]:
    """Run ``trials`` on ``concurrency`` threads; yield each with its outcome as it finishes.

    Closing the generator (an exception or Ctrl+C in the caller) cancels the trials not yet
    started and hangs up those running, so the process can exit at once.
    """
    stop = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rt-experiment")
    try:
        futures = {pool.submit(run_trial, trial, provider, options, stop): trial for trial in trials}
        for future in concurrent.futures.as_completed(futures):
            yield futures[future], future.result()  # run_trial records its failures, it never raises
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
