"""The ``rt-widget`` console command."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from pathlib import Path

DEFAULT_KEY = "sk-emulator-local"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``rt-widget``."""
    parser = argparse.ArgumentParser(
        prog="rt-widget",
        description="Tools of rt-widget, realtime voice models in Jupyter notebooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    emu = commands.add_parser(
        "emulator",
        help="run the local Realtime API emulator",
        description="Serve the local Realtime API emulator until interrupted (Ctrl+C).",
    )
    emu.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    emu.add_argument("--port", type=int, default=8765, help="TCP port (default: 8765; 0 picks a free one)")
    emu.add_argument(
        "--api-key",
        default=DEFAULT_KEY,
        help=f"the standard key clients must send (default: {DEFAULT_KEY}, a well-known "
        "local-only value; choose your own when others share the machine)",
    )
    emu.add_argument(
        "--replay",
        metavar="FOLDER",
        help="answer every call by replaying the recording saved in FOLDER (its server events "
        "on their recorded timing and the model's voice) instead of the scripted model",
    )
    notebooks = commands.add_parser(
        "notebooks",
        help="copy the example notebooks into a folder",
        description="Copy the example notebooks, and the data they read, into DIR. "
        "Files already there are left alone unless --force is given.",
    )
    notebooks.add_argument(
        "dir",
        nargs="?",
        default="rt-widget-notebooks",
        metavar="DIR",
        help="the folder to copy into, created if missing (default: rt-widget-notebooks)",
    )
    notebooks.add_argument("--force", action="store_true", help="overwrite files that are already in DIR")
    args = parser.parse_args(argv)
    if args.command == "notebooks":
        return _copy_notebooks(Path(args.dir), args.force)
    return _run_emulator(args.host, args.port, args.api_key, args.replay)


def _copy_notebooks(target: Path, force: bool) -> int:
    from ._notebooks import NotebooksError, copy_examples

    try:
        copied, replaced = copy_examples(target, force=force)
    except NotebooksError as exc:
        print(f"rt-widget: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"rt-widget: cannot copy the notebooks into {target}: {reason}{where}.", file=sys.stderr)
        print("Name a folder you can write to.", file=sys.stderr)
        return 1
    overwritten = f", overwriting {len(replaced)}" if replaced else ""
    print(f"Copied {len(copied)} files into {target}{overwritten}:")
    for path in copied:
        print(f"  {path.as_posix()}")
    quickstart = (target / "quickstart.ipynb").as_posix()
    print(f"Start with {quickstart}: with no OPENAI_API_KEY set, it runs offline on the built-in emulator.")
    return 0


def _run_emulator(host: str, port: int, api_key: str, replay_folder: str | None) -> int:
    from .emulator import Emulator, Replay, load_replay

    # The process is the emulator's alone: let its event loop take the GIL back from the speech
    # thread within 1 ms (the default 5 ms is a quarter of an audio frame, for every call).
    sys.setswitchinterval(0.001)
    replay: Replay | None = None
    if replay_folder is not None:
        try:
            replay = load_replay(replay_folder)
        except ValueError as exc:
            print(f"rt-widget: {exc}", file=sys.stderr)
            return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            server = Emulator(host=host, port=port, api_key=api_key, replay=replay)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"rt-widget: cannot listen on {host}:{port}: {reason}.", file=sys.stderr)
        print("Pick another --port, or 0 for a free one; --host defaults to 127.0.0.1.", file=sys.stderr)
        return 2
    # Ctrl+C (or a SIGTERM) stops it cleanly from now on: one may come as soon as the first line is out.
    stop = threading.Event()
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, lambda *_: stop.set())
    for warning in caught:
        print(f"rt-widget: warning: {warning.message}", file=sys.stderr, flush=True)
    print(f"Realtime emulator listening on {server.base_url} (Ctrl+C stops it)", flush=True)
    if api_key == DEFAULT_KEY:  # a public, well-known value; a key the user chose is never printed
        print(f"Clients send: Authorization: Bearer {DEFAULT_KEY}", flush=True)
    if replay is not None:
        print(
            f"Every call replays {replay.source}: {len(replay.events)} server events over {replay.duration_s:.1f} s",
            flush=True,
        )
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
