"""The Ray backend: each trial a Ray task, on a local Ray or the cluster ``ray.init`` points at.

Ray does the scheduling; this module only keeps ``concurrency`` trials in flight (a service's
rate limit is per key, however large the cluster) and hands each result back to the driver,
which writes every file, so the workers need no shared filesystem. Tasks carry a provider by
name or an emulator's address (:mod:`~rt_widget.experiments.target`), never a key.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Sequence
from typing import Any

from .plan import Trial
from .target import Target
from .trial import Options, Outcome, failed, run_trial

INSTALL_HINT = "backend='ray' needs Ray, an optional extra: pip install 'rt-widget[ray]'."


def ray_module() -> Any:
    """The ``ray`` module, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return ray


def run_ray(
    trials: Sequence[Trial], target: Target, options: Options, concurrency: int, ray_options: dict[str, Any]
) -> Generator[tuple[Trial, Outcome]]:
    """Run ``trials`` as Ray tasks, ``concurrency`` at a time; yield each with its outcome as it finishes.

    Uses the Ray the user started (``ray.init(address=...)``), or starts one (``ray.init()``
    joins ``RAY_ADDRESS`` when it is set, else starts Ray on this machine). Closing the
    generator cancels the tasks still pending.
    """
    ray = ray_module()
    if not ray.is_initialized():
        ray.init()
    task = _task(ray).options(**ray_options) if ray_options else _task(ray)
    waiting = iter(trials)
    pending: dict[Any, Trial] = {}

    def submit() -> None:
        trial = next(waiting, None)
        if trial is not None:
            pending[task.remote(trial, target, options)] = trial

    try:
        for _ in range(concurrency):
            submit()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                trial = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # the worker died, or could not unpickle the trial
                    outcome = failed(trial, exc, options)
                submit()
                yield trial, outcome
    finally:
        for ref in pending:
            ray.cancel(ref)


@functools.cache
def _task(ray: Any) -> Any:
    """:func:`run_trial` as a Ray remote function (registered once per process)."""
    return ray.remote(run_trial)
