"""The recognizer's own process: same answers as in-process, restarted if it dies, quiet."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rt_widget.emulator import asr, asr_worker
from rt_widget.emulator.asr_worker import RecognizerProcess
from tests.samples import speech


@pytest.fixture(scope="module")
def weather():
    return speech("hello there")


def test_the_child_recognizes_what_the_process_itself_would(weather):
    worker = RecognizerProcess()
    try:
        phrases = asr.phrases_for({})
        heard = worker.recognize(weather.samples, weather.rate, phrases)
        assert heard == asr.recognize(weather.samples, weather.rate, phrases) == "hello there"
        child = worker._child
        assert child is not None
        assert child.pid != os.getpid()
        assert worker.recognize(weather.samples[:0], weather.rate, phrases) == ""  # empty audio: nothing heard
    finally:
        worker.stop()
    assert worker._child is None


def test_a_dead_child_is_replaced_and_the_turn_still_recognized(weather):
    # Killed between turns: the next turn finds it gone and starts another.
    worker = RecognizerProcess()
    try:
        worker.start()
        first = worker._child
        assert first is not None
        first.kill()
        first.wait(5)
        assert worker.recognize(weather.samples, weather.rate, ["hello there"]) != ""
        assert worker._child is not None
        assert worker._child.pid != first.pid
    finally:
        worker.stop()


def test_transcribe_falls_back_to_a_thread_when_no_process_can_start(weather, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(asr_worker._recognizer, "recognize", refuse)
    with caplog.at_level("INFO", logger="rt_widget.emulator.asr_worker"):
        heard = asyncio.run(asr_worker.transcribe(weather.samples, weather.rate, {}))
    assert heard == "hello there"
    assert "recognizing this turn in a thread" in caplog.text


def test_the_child_keeps_stray_output_out_of_its_answers(weather, capfd):
    worker = RecognizerProcess()
    try:
        for _ in range(3):
            assert worker.recognize(weather.samples, weather.rate, ["hello there"]) != ""
    finally:
        worker.stop()
    out, err = capfd.readouterr()
    assert out == ""  # the answers travel on the child's own pipe
    assert "RuntimeWarning" not in err
    assert "Traceback" not in err


def test_a_child_dying_mid_turn_is_an_oserror_and_the_next_turn_works(weather, monkeypatch):
    worker = RecognizerProcess()
    try:
        worker.start()
        child = worker._child
        assert child is not None
        assert child.stdout is not None
        real_read = asr_worker.read

        def die_then_read(stream):
            child.kill()
            child.wait(5)
            return real_read(stream)

        monkeypatch.setattr(asr_worker, "read", die_then_read)
        with pytest.raises(OSError, match="recognizer process stopped"):
            worker.recognize(weather.samples, weather.rate, ["hello there"])
        monkeypatch.setattr(asr_worker, "read", real_read)
        assert worker.recognize(weather.samples, weather.rate, ["hello there"]) == "hello there"
    finally:
        worker.stop()


def test_the_child_ends_with_the_process_that_started_it_and_leaves_nothing_open():
    code = "from rt_widget.emulator import asr_worker\nasr_worker.warm_up()\nprint(asr_worker._recognizer._child.pid)"
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr  # "subprocess ... is still running", unclosed pipes
    pid = int(done.stdout)
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "State:\tZ" in status.read_text()  # gone (or only unreaped)
