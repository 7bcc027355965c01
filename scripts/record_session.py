"""Record a spoken session with the emulator, in real time, for notebooks/analysis.ipynb.

    .venv/bin/python scripts/record_session.py [notebooks/data/emulator_session.jsonl]

A WebRTC client (aiortc) speaks espeak-ng phrases into the call like a microphone: a
greeting; a question it interrupts by speaking again; a request that makes the model call a
tool, which the script answers. Every event, both directions, goes into an EventLog.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rt_widget import Emulator, EventLog
from rt_widget.emulator import _loopback, tts
from rt_widget.emulator.speaker import Speaker

SESSION = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "You are a friendly tutor.",
    "audio": {
        "input": {"transcription": {"model": "gpt-4o-mini-transcribe"}},
        "output": {"voice": "marin"},
    },
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ],
}


class Recorder:
    def __init__(self) -> None:
        self.log = EventLog()
        self.seq = 0
        self.call_id: str | None = None
        self.arrived = asyncio.Event()

    def record(self, event: dict[str, Any], direction: str) -> None:
        self.log.append(event, direction=direction, seq=self.seq, call_id=self.call_id, t_browser=time.time())  # type: ignore[arg-type]
        self.seq += 1
        self.arrived.set()

    async def until(self, type_: str, after: int = 0, timeout: float = 30) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in list(self.log)[after:]:
                if record["type"] == type_:
                    return record["event"]
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=deadline - time.monotonic())
        raise TimeoutError(type_)


def speak(mic: Speaker, text: str) -> float:
    spoken = tts.speak(text)
    return mic.play(spoken.samples, spoken.rate)


async def record(path: Path) -> None:
    _loopback.restrict_current_thread()
    rec = Recorder()
    with Emulator() as emu:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        mic = Speaker()
        pc.addTrack(mic)
        channel = pc.createDataChannel("oai-events")
        channel.on("message", lambda m: rec.record(json.loads(m), "server"))
        pc.on("track", lambda track: asyncio.ensure_future(_drain(track)))

        def send(event: dict[str, Any]) -> None:
            channel.send(json.dumps(event))
            rec.record(event, "client")

        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{emu.base_url}/realtime/calls",
                files={"sdp": (None, pc.localDescription.sdp, "application/sdp"),
                       "session": (None, json.dumps(SESSION), "application/json")},
                headers={"Authorization": f"Bearer {emu.api_key}"},
            )  # fmt: skip
        rec.call_id = r.headers["location"].rsplit("/", 1)[-1]
        await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))
        await rec.until("session.created")
        await asyncio.sleep(1.0)

        mark = len(rec.log)  # 1: a greeting, answered in full
        speak(mic, "hello there")
        await rec.until("output_audio_buffer.stopped", mark)
        await asyncio.sleep(0.8)

        mark = len(rec.log)  # 2: a question, interrupted by the caller speaking again
        speak(mic, "what is the weather")
        await rec.until("output_audio_buffer.started", mark)
        await asyncio.sleep(0.8)
        speak(mic, "thank you")
        await rec.until("output_audio_buffer.cleared", mark)
        await rec.until("output_audio_buffer.stopped", mark)
        await asyncio.sleep(0.8)

        mark = len(rec.log)  # 3: a tool call, answered by the "kernel"
        speak(mic, "call get weather")
        call = await rec.until("response.function_call_arguments.done", mark)
        await rec.until("response.done", mark)
        output = {"type": "function_call_output", "call_id": call["call_id"], "output": '{"temperature": "21 C"}'}
        send({"type": "conversation.item.create", "item": output})
        send({"type": "response.create"})
        await rec.until("output_audio_buffer.stopped", mark)
        await asyncio.sleep(0.5)
        await pc.close()
    rec.log.save(path)
    print(f"{len(rec.log)} events -> {path}")


async def _drain(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except Exception:
        return


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks/data/emulator_session.jsonl")
    asyncio.run(record(target))
