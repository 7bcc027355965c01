"""Every kind of bad input gets a clear error naming what was wrong, raised deliberately.

"Deliberately" is checked: no internal exception is chained to the error, so the user sees
one message, not a traceback from inside the library.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

import rt_widget as rt
from rt_widget.config import SessionConfig
from rt_widget.providers import Azure, Beta, ConnectError, Local, OpenAI
from tests.aio import run


def realtime(**kwargs: Any) -> Callable[[], object]:
    return lambda: rt.Realtime(provider=Local(), **kwargs)


def connected(**kwargs: Any) -> rt.Realtime:
    widget = rt.Realtime(provider=Local(), **kwargs)
    widget.status = "connected"
    widget._post = lambda msg: None  # type: ignore[method-assign]
    return widget


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CASES: list[tuple[str, Callable[[], object], type[Exception], tuple[str, ...]]] = [
    ("unknown voice", realtime(voice="bob"), ValueError, ("voice='bob'", "'marin'")),
    ("loopback not a bool", realtime(loopback="yes"), ValueError, ("loopback='yes'", "True or False")),
    ("voice of wrong type", realtime(voice=3), ValueError, ("voice=3",)),
    ("threshold above 1", realtime(threshold=1.5), ValueError, ("threshold=1.5", "from 0 to 1")),
    ("threshold below 0", realtime(threshold=-0.1), ValueError, ("threshold=-0.1",)),
    ("threshold as text", realtime(threshold="high"), ValueError, ("threshold='high'",)),
    ("negative prefix padding", realtime(prefix_padding_ms=-1), ValueError, ("prefix_padding_ms=-1",)),
    ("silence too long", realtime(silence_duration_ms=20_000), ValueError, ("silence_duration_ms=20000",)),
    ("silence not an integer", realtime(silence_duration_ms=1.5), ValueError, ("an integer",)),
    ("idle timeout too short", realtime(idle_timeout_ms=100), ValueError, ("idle_timeout_ms=100", "5000")),
    ("bad eagerness", realtime(turn_detection="semantic_vad", eagerness="max"), ValueError, ("eagerness='max'",)),
    ("eagerness with server_vad", realtime(eagerness="low"), ValueError, ("semantic_vad",)),
    ("threshold with semantic_vad", realtime(turn_detection="semantic_vad", threshold=0.5), ValueError, ("threshold",)),
    ("unknown turn detection", realtime(turn_detection="push"), ValueError, ("turn_detection='push'", "None")),
    ("unknown VAD field", realtime(turn_detection={"type": "server_vad", "foo": 1}), ValueError, ("'foo'",)),
    ("VAD setting without VAD", realtime(turn_detection=None, threshold=0.5), ValueError, ("threshold", "None")),
    ("two modalities", realtime(output_modalities=["audio", "text"]), ValueError, ("output_modalities",)),
    ("unknown modality", realtime(output_modalities="video"), ValueError, ("'video'", "'audio'")),
    ("unknown transcription model", realtime(transcription="whisper-2"), ValueError, ("'whisper-2'", "whisper-1")),
    (
        "unknown transcription field",
        realtime(transcription={"model": "whisper-1", "lang": "en"}),
        ValueError,
        ("'lang'",),
    ),
    ("transcription of wrong type", realtime(transcription=5), ValueError, ("transcription=5",)),
    ("language not a code", realtime(transcription={"language": "english"}), ValueError, ("'english'", "'en'")),
    ("unknown noise reduction", realtime(noise_reduction="studio"), ValueError, ("'studio'", "'near_field'")),
    ("tools not a list", realtime(tools="get_weather"), ValueError, ("tools='get_weather'",)),
    ("tool without type", realtime(tools=[{"name": "x"}]), ValueError, ("tools[0].type",)),
    ("function tool without name", realtime(tools=[{"type": "function"}]), ValueError, ("tools[0].name",)),
    ("unknown tool choice", realtime(tool_choice="always"), ValueError, ("'always'", "'required'")),
    ("zero max tokens", realtime(max_output_tokens=0), ValueError, ("max_output_tokens=0", "4096")),
    ("too many max tokens", realtime(max_output_tokens=5000), ValueError, ("max_output_tokens=5000",)),
    ("max tokens as text", realtime(max_output_tokens="lots"), ValueError, ("'lots'",)),
    ("speed too fast", realtime(speed=2), ValueError, ("speed=2", "1.5")),
    ("speed as a bool", realtime(speed=True), ValueError, ("speed=True",)),
    ("bad tracing", realtime(tracing=5), ValueError, ("tracing=5",)),
    ("instructions not text", realtime(instructions=123), ValueError, ("instructions=123",)),
    ("empty model", realtime(model=""), ValueError, ("model=''",)),
    ("unknown setting", realtime(temperature=0.7), TypeError, ("'temperature'", "voice")),
    ("unknown provider", lambda: rt.Realtime(provider="gemini"), ValueError, ("'gemini'", "'openai'")),
    ("OpenAI without a key", lambda: OpenAI(api_key="", base_url="http://x"), ValueError, ("OPENAI_API_KEY",)),
    ("Azure without endpoint", lambda: Azure(deployment="d", api_key="k"), ValueError, ("AZURE_OPENAI_ENDPOINT",)),
    ("Azure without deployment", lambda: Azure(endpoint="https://x", api_key="k"), ValueError, ("deployment",)),
    ("Azure without credentials", lambda: Azure(endpoint="https://x", deployment="d"), ValueError, ("token_provider",)),
    ("unknown flow", lambda: OpenAI(api_key="sk", flow="magic"), ValueError, ("flow='magic'",)),
    ("ephemeral TTL too short", lambda: OpenAI(api_key="sk", ttl=5), ValueError, ("ttl=5", "7200")),
    ("sideband on beta", lambda: rt.Realtime(provider=Beta(api_key="sk"), sideband=True), ValueError, ("sideband",)),
    ("changing the model", lambda: connected().update(model="gpt-realtime-mini"), ValueError, ("model cannot change",)),
    ("empty update", lambda: connected().update(), ValueError, ("at least one setting",)),
    ("bad voice in update", lambda: connected().update(voice="bob"), ValueError, ("voice='bob'",)),
    ("unknown client event", lambda: connected().send({"type": "bogus"}), ValueError, ("'bogus'", "response.create")),
    ("event that is not a dict", lambda: connected().send("hello"), TypeError, ("'type' string",)),
    (
        "session.update without type",
        lambda: connected().send({"type": "session.update", "session": {}}),
        ValueError,
        ("'type': 'realtime'",),
    ),
    ("say nothing", lambda: connected().say(""), ValueError, ("say() needs some text",)),
    ("callback not callable", lambda: connected().on("response.done", 5), TypeError, ("callable",)),
    ("send before connecting", lambda: rt.Realtime(provider=Local()).say("hi"), RuntimeError, ("Press Connect",)),
    (
        "wait_for without sideband",
        lambda: run(rt.Realtime(provider=Local()).wait_for("response.done")),
        RuntimeError,
        ("sideband=True",),
    ),
    (
        "unreachable host",
        lambda: run(
            OpenAI(api_key="sk", base_url=f"http://127.0.0.1:{free_port()}/v1").connect("v=0", SessionConfig())
        ),
        ConnectError,
        ("Could not reach", "Check the network and base_url"),
    ),
]


@pytest.mark.parametrize(("name", "action", "error", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, action, error, says):
    with pytest.raises(error) as info:
        action()
    message = str(info.value)
    for words in says:
        assert words in message, f"{name}: {message!r} does not mention {words!r}"
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__, f"{name}: chained internal error"


def test_refused_sdp_gives_the_servers_message(emulator):
    provider = OpenAI(api_key=emulator.api_key, base_url=emulator.base_url)
    with pytest.raises(ConnectError) as info:
        run(provider.connect("this is not an SDP offer", SessionConfig()))
    assert "HTTP 400" in str(info.value)
    assert "Invalid SDP offer" in str(info.value)


def test_wrong_key_says_to_check_the_key(emulator):
    provider = OpenAI(api_key="sk-wrong", base_url=emulator.base_url)
    with pytest.raises(ConnectError, match=r"HTTP 401: .*Check the API key"):
        run(provider.connect("v=0", SessionConfig()))


def test_there_are_at_least_30_cases():
    assert len(CASES) + 2 >= 30
