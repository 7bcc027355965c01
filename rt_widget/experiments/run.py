"""``rt.experiment``: run every (config, input, repeat) as a headless call and tabulate them.

This module only joins the parts: the plan (:mod:`.plan`) is checked first, then the folder
(:mod:`.store`) says which trials are already done, a backend (:mod:`.local`,
:mod:`.ray_backend`) runs the rest, and each result is written the moment it comes back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Mapping
from typing import Any

import pandas as pd

from .. import providers
from .._checks import finite, whole
from ..providers import Provider
from .local import run_local
from .plan import Trial, plan
from .ray_backend import ray_module, run_ray
from .retry import Retry
from .store import Store, table
from .target import target_for
from .trial import Options, Outcome

BACKENDS = ("local", "ray")


def experiment(
    configs: Mapping[str, Mapping[str, Any]],
    inputs: Mapping[str, Any],
    *,
    repeats: int = 1,
    concurrency: int = 4,
    provider: Provider | str | None = None,
    folder: str | os.PathLike[str] = "experiments",
    backend: str = "local",
    retries: int = 3,
    backoff_s: float = 1.0,
    reply_timeout_s: float = 30.0,
    connect_timeout_s: float = 20.0,
    price_model: str | None = None,
    voice: str = "alloy",
    progress: bool = True,
    ray_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run each config on each input, ``repeats`` times, each as a headless :class:`~rt_widget.Call`.

    Every config and input is checked before the first call. Each trial's result, events and
    audio are written to ``folder`` as soon as it finishes, so a crash or Ctrl+C loses
    nothing, and running the same experiment again skips the trials that finished ``ok``
    (a changed config, or an input with other content, makes new trials). A trial that fails
    in a way that may pass (HTTP 429 or 5xx, a timeout, ICE failing, no reply in time) is
    tried again with exponential backoff; then it is recorded as failed, and the others go on.

    Parameters
    ----------
    configs:
        Name -> session settings for :class:`~rt_widget.Call` (``instructions``, ``voice``,
        ``turn_detection`` and the VAD settings, ``tools``, ``transcription``,
        ``output_modalities``...).
    inputs:
        Name -> what to play: one source, or a list of sources played in turn, each after the
        reply to the one before (``response.done``, and the end of the model's audio when it
        speaks). A source is what :meth:`rt_widget.Call.play` takes: an audio file's path,
        ``(samples, rate)``, a :class:`~rt_widget.peer.Clip`, or text to speak.
    repeats:
        How many times each (config, input) runs.
    concurrency:
        How many calls run at the same time.
    provider:
        Where calls go, as for :class:`~rt_widget.Call`. With ``backend="ray"``, give it by
        name (``"openai"``, ``"azure"``, ``"beta"``: each worker builds it from its own
        environment) or an emulator (``rt.providers.Local(emu)``, ``"emulator"``).
    folder:
        Where results go (see :mod:`rt_widget.experiments.store` for the layout).
    backend:
        ``"local"`` (threads of this process) or ``"ray"`` (a Ray task per trial; needs
        ``pip install 'rt-widget[ray]'``; uses the Ray that ``ray.init`` started, else starts one).
    retries, backoff_s:
        Attempts after the first, and the wait before the first retry (doubling after each,
        with jitter; a ``Retry-After`` from the service is honoured).
    reply_timeout_s, connect_timeout_s:
        How long a reply, and a call's ICE and DTLS, may take.
    price_model:
        The model to price with, when the session's has no price (an Azure deployment name).
    voice:
        The offline TTS voice that speaks text inputs.
    progress:
        Show a progress bar (a widget in a notebook, text in a terminal).
    ray_options:
        Options for each Ray task (``num_cpus``, ``resources``...: see ``ray.remote``).

    Returns
    -------
    pandas.DataFrame
        One row per trial, in (config, input, repeat) order: ``trial`` (its id and file name),
        ``config``, ``settings`` (the config as JSON text), ``input``, ``input_fingerprint``,
        ``repeat``, ``status`` (``ok`` or ``failed``), ``error``, ``attempts``, ``started_at``,
        ``duration_s``, ``call_id``, ``latency_s`` and ``audio_latency_s`` (lists, one per
        turn), ``input_tokens``, ``output_tokens``, ``total_tokens``, ``cost_usd``,
        ``user_transcript`` and ``model_transcript`` (lists of texts), ``tool_calls`` (JSON
        text), ``events_path`` and ``audio_path``.

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        A config, an input or an option is invalid (before any call starts).
    ImportError
        ``backend="ray"`` without Ray, or no pyarrow to write Parquet.

    Examples
    --------
    >>> table = rt.experiment(                                      # doctest: +SKIP
    ...     {"brief": {"instructions": "Answer in one sentence."}, "chatty": {}},
    ...     {"greeting": "hello there", "question": "question.wav"},
    ...     repeats=3,
    ...     folder="runs/brevity",
    ... )
    >>> table.groupby("config")["cost_usd"].mean()                   # doctest: +SKIP
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not known: use 'local' or 'ray'.")
    workers = whole(concurrency, 1)
    if workers is None:
        raise ValueError(f"concurrency={concurrency!r} is not valid: use a whole number of calls at once, 1 or more.")
    if not isinstance(progress, bool):
        raise ValueError(f"progress={progress!r} is not valid: use True or False.")
    if backend == "ray":
        ray_module()  # installed? say so before anything else is done
        if ray_options is not None and not isinstance(ray_options, Mapping):
            raise TypeError(f"ray_options={ray_options!r} is not valid: use a dict such as {{'num_cpus': 1}}.")
    options = Options(
        retry=Retry(retries, backoff_s),
        reply_timeout_s=_seconds("reply_timeout_s", reply_timeout_s),
        connect_timeout_s=_seconds("connect_timeout_s", connect_timeout_s),
        price_model=price_model,
    )
    target = target_for(provider) if backend == "ray" else None  # by name or address: no key crosses to Ray
    local = providers.select(provider) if target is None else None
    trials = plan(configs, inputs, repeats, voice=voice)
    if target is not None:
        _no_credentials_to_ray(trials)
    store = Store(folder)
    rows: dict[str, dict[str, Any]] = {}
    for trial in trials:
        earlier = store.finished(trial.id)
        if earlier is not None:
            rows[trial.id] = earlier
    todo = [trial for trial in trials if trial.id not in rows]
    if todo:
        if target is not None:
            outcomes = run_ray(todo, target, options, workers, dict(ray_options or {}))
        else:
            assert local is not None
            outcomes = run_local(todo, local, options, workers)
        _collect(outcomes, store, rows, total=len(trials), progress=progress)
    return table([rows[trial.id] for trial in trials if trial.id in rows])


def _collect(
    outcomes: Generator[tuple[Trial, Outcome]],
    store: Store,
    rows: dict[str, dict[str, Any]],
    *,
    total: int,
    progress: bool,
) -> None:
    """Write each outcome as it comes, counting done and failed trials on the progress bar."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]  # the notebook widget, or text in a terminal

    done = len(rows)
    failed = 0
    with (
        contextlib.closing(outcomes),  # Ctrl+C: trials not yet started are cancelled
        tqdm(total=total, initial=done, disable=not progress, desc="experiment", unit="trial") as bar,
    ):
        bar.set_postfix(ok=done, failed=failed)
        for trial, outcome in outcomes:
            rows[trial.id] = store.write(trial.id, outcome)
            if outcome.row["status"] == "ok":
                done += 1
            else:
                failed += 1
            bar.set_postfix(ok=done, failed=failed)
            bar.update(1)


def _no_credentials_to_ray(trials: list[Trial]) -> None:
    """Refuse MCP credentials with Ray: a task's arguments are kept in Ray's object store."""
    for trial in trials:
        if trial.has_credentials:
            raise ValueError(
                f"Config {trial.config!r} gives an MCP tool its server's authorization or headers, and with "
                "backend='ray' they would travel through Ray's object store. Run it with backend='local', or "
                "use an MCP server that needs no credentials from the client."
            )


def _seconds(name: str, value: Any) -> float:
    seconds = finite(value)
    if seconds is None or seconds <= 0:
        raise ValueError(f"{name}={value!r} is not valid: use a number of seconds above 0.")
    return seconds
