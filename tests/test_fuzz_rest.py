"""Generated bad input against every REST route of the emulator, under /v1 and /openai/v1.

Every answer must be below 500 and every error OpenAI's error JSON; after each input the
server still mints a key, nothing reaches stderr or the log (WARNING and up), and at the end
the call that was connected all along still answers on its data channel and its sideband.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from rt_widget.emulator import Emulator
from rt_widget.emulator import call as call_module
from tests.rtc_client import RtcClient

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PREFIXES = ["/v1", "/openai/v1"]
# aioice, on the emulator's thread, draws from the global `random` while Hypothesis generates on
# this one; Hypothesis takes that for a strategy using `random`. It is not.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)


@dataclass
class World:
    """One emulator for the module, one call connected to it all along, and what was logged."""

    emu: Emulator
    client: RtcClient
    call_id: str
    offer: str
    http: httpx.Client
    records: list[logging.LogRecord] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.emu.port}"


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    patch = pytest.MonkeyPatch()
    patch.setattr(call_module, "CONNECT_TIMEOUT_S", 2.0)  # calls made from fuzzed offers never connect
    emu = Emulator()
    client = RtcClient()
    offer = client.offer()
    http = httpx.Client(timeout=30)
    response = http.post(
        f"{emu.base_url}/realtime/calls",
        content=offer,
        headers={"Authorization": f"Bearer {emu.api_key}", "Content-Type": "application/sdp"},
    )
    client.accept(response.text)
    client.wait_for("session.created")
    records: list[logging.LogRecord] = []
    handler = _Collect(records)
    logging.getLogger().addHandler(handler)
    try:
        yield World(emu, client, response.headers["location"].rsplit("/", 1)[-1], offer, http, records)
    finally:
        logging.getLogger().removeHandler(handler)
        http.close()
        client.close()
        emu.stop()
        patch.undo()


def headers_for(world: World, auth: str, content_type: str | None = None) -> dict[str, str]:
    key = world.emu.api_key
    headers = {
        "good": {"Authorization": f"Bearer {key}"},
        "azure": {"api-key": key},
        "wrong": {"Authorization": "Bearer sk-wrong"},
        "ephemeral junk": {"Authorization": "Bearer ek_" + "0" * 32},
        "basic": {"Authorization": f"Basic {key}"},
        "none": {},
    }[auth]
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def check(world: World, response: httpx.Response) -> None:
    """The invariants every answer keeps, then a good request that must still work."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), response.text[:300]
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert isinstance(body["error"]["message"], str)
        assert body["error"]["message"]
    if response.status_code == 201 and "location" in response.headers:
        hangup = world.http.post(
            world.base + response.headers["location"] + "/hangup", headers=headers_for(world, "good")
        )
        assert hangup.status_code == 200
    good = world.http.post(f"{world.emu.base_url}/realtime/client_secrets", json={}, headers=headers_for(world, "good"))
    assert good.status_code == 200, good.text
    assert not world.records, [r.getMessage() for r in world.records]


@pytest.fixture
def quiet(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Nothing written to stderr (by any thread) during the test."""
    capfd.readouterr()
    yield
    err = capfd.readouterr().err
    assert err == "", err[-2000:]


# -- strategies ------------------------------------------------------------------------------

AUTHS = st.sampled_from(["good", "good", "good", "azure", "wrong", "ephemeral junk", "basic", "none"])
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
SPECIAL_BODIES = [
    b"",
    b"   ",
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a": ' * 2_000 + b"1" + b"}" * 2_000,
    b'{"expires_after": {"seconds": ' + b"9" * 5_000 + b"}}",
    b'{"expires_after": {"seconds": 1e999}}',
    b'{"session": NaN}',
    b'{"session": {"type": "realtime", "instructions": "\\ud83d"}}',
    b'{"session": "\xff\xfe"}',
    b'{"session": ',
    b"null",
    b"[]",
    b'"text"',
    b'{"session": {"type": "realtime", "instructions": "' + b"x" * 1_100_000 + b'"}}',
]
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=bogus",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "text/plain",
        "application/sdp",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "",
    ]
)
GA_SESSION_KEYS = [
    "type",
    "model",
    "instructions",
    "output_modalities",
    "audio",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "tracing",
    "truncation",
    "prompt",
    "include",
    "modalities",
    "voice",
]
BETA_KEYS = [
    "modalities",
    "instructions",
    "voice",
    "input_audio_format",
    "output_audio_format",
    "input_audio_transcription",
    "turn_detection",
    "tools",
    "tool_choice",
    "temperature",
    "max_response_output_tokens",
    "speed",
    "tracing",
    "model",
    "client_secret",
    "input_audio_noise_reduction",
    "type",
    "session",
]
PLAUSIBLE = st.sampled_from(
    ["realtime", "transcription", "alloy", "pcm16", "mp3", ["text"], ["audio", "text"], ["video"], 0.8, 5,
     "inf", {"type": "server_vad"}, {"model": "whisper-1"}, [{"type": "function", "name": "f"}], [5],
     {"expires_after": {"anchor": "created_at", "seconds": 60}}, {"type": "audio/pcm", "rate": 24000}]
)  # fmt: skip
session_like = st.dictionaries(st.sampled_from(GA_SESSION_KEYS) | st.text(max_size=8), PLAUSIBLE | json_values,
                               max_size=5)  # fmt: skip
beta_like = st.dictionaries(st.sampled_from(BETA_KEYS) | st.text(max_size=8), PLAUSIBLE | json_values, max_size=5)
mint_like = st.fixed_dictionaries(
    {},
    optional={
        "session": session_like | json_values,
        "expires_after": st.fixed_dictionaries({}, optional={"anchor": PLAUSIBLE | json_values,
                                                             "seconds": st.integers(-10, 10_000) | json_values}),
        "other": json_values,
    },
)  # fmt: skip


def encoded(value: object) -> bytes:
    return json.dumps(value).encode()


json_bodies = st.one_of(
    mint_like.map(encoded),
    beta_like.map(encoded),
    json_values.map(encoded),
    st.sampled_from(SPECIAL_BODIES),
    st.binary(max_size=200),
)
SDP_LINES = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111",
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=ice-ufrag:x", "a=ice-pwd:y",
             "a=fingerprint:sha-256 00", "a=setup:actpass", "a=mid:0", "a=rtpmap:111 opus/48000/2",
             "c=IN IP4 0.0.0.0", "a=group:BUNDLE 0 1", "a=sctp-port:5000", "a=candidate:junk"]  # fmt: skip


@st.composite
def sdps(draw: st.DrawFn, offer: str) -> str:
    """SDP-like text: assembled from real lines, a real offer with lines dropped, or any text."""
    kind = draw(st.sampled_from(["lines", "mutated", "text"]))
    if kind == "lines":
        return "\r\n".join(draw(st.lists(st.sampled_from(SDP_LINES), max_size=12))) + "\r\n"
    if kind == "mutated":
        lines = offer.split("\r\n")
        keep = draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
        return "\r\n".join(line for line, kept in zip(lines, keep, strict=True) if kept)
    return draw(st.text(max_size=200))


@st.composite
def multiparts(draw: st.DrawFn, offer: str) -> tuple[bytes, str]:
    """A multipart body and its Content-Type: sometimes without a boundary, or cut short."""
    parts = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["sdp", "session", "other", ""]),
                st.one_of(sdps(offer).map(str.encode), session_like.map(encoded), json_bodies),
                st.sampled_from(["", "text/plain", "application/json", "text/plain; charset=bogus"]),
            ),
            max_size=3,
        )
    )
    body = b""
    for name, content, part_type in parts:
        body += b'--b\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n'
        if part_type:
            body += b"Content-Type: " + part_type.encode() + b"\r\n"
        body += b"\r\n" + content + b"\r\n"
    body += b"--b--\r\n"
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    content_type = draw(
        st.sampled_from(["multipart/form-data; boundary=b", "multipart/form-data", "multipart/form-data; boundary="])
    )
    return body, content_type


# -- the routes ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@FUZZ
@given(auth=AUTHS, content_type=CONTENT_TYPES, body=json_bodies)
def test_client_secrets(world, quiet, prefix, auth, content_type, body):
    url = f"{world.base}{prefix}/realtime/client_secrets"
    check(world, world.http.post(url, content=body, headers=headers_for(world, auth, content_type)))


@pytest.mark.parametrize("prefix", PREFIXES)
@FUZZ
@given(data=st.data(), auth=AUTHS, form=st.sampled_from(["sdp", "multipart", "other"]), filtered=st.booleans())
def test_calls(world, quiet, prefix, data, auth, form, filtered):
    url = f"{world.base}{prefix}/realtime/calls" + ("?webrtcfilter=on" if filtered else "")
    if form == "sdp":
        body, content_type = data.draw(sdps(world.offer)).encode(), "application/sdp"
    elif form == "multipart":
        body, content_type = data.draw(multiparts(world.offer))
    else:
        body, content_type = data.draw(json_bodies), data.draw(CONTENT_TYPES)
    check(world, world.http.post(url, content=body, headers=headers_for(world, auth, content_type)))


call_ids = st.text(min_size=1, max_size=40) | st.sampled_from(["rtc_" + "0" * 32, "rtc_", "%00", "..", "a/b"])


@pytest.mark.parametrize("prefix", PREFIXES)
@FUZZ
@given(auth=AUTHS, call_id=call_ids, body=json_bodies)
def test_hangup(world, quiet, prefix, auth, call_id, body):
    url = f"{world.base}{prefix}/realtime/calls/{quote(call_id, safe='')}/hangup"
    check(world, world.http.post(url, content=body, headers=headers_for(world, auth)))


UPGRADES = [
    {},
    {"Connection": "Upgrade", "Upgrade": "websocket"},
    {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"},
    {"Connection": "Upgrade", "Upgrade": "h2c"},
]


@pytest.mark.parametrize("prefix", PREFIXES)
@FUZZ
@given(auth=AUTHS, call_id=call_ids | st.just("<real>"), upgrade=st.sampled_from(UPGRADES), extra=st.text(max_size=20))
def test_sideband_handshake(world, quiet, prefix, auth, call_id, upgrade, extra):
    # None of these is a complete handshake (no Sec-WebSocket-Key): each must be refused in JSON.
    call_id = world.call_id if call_id == "<real>" else call_id
    url = f"{world.base}{prefix}/realtime?call_id={quote(call_id, safe='')}&x={quote(extra, safe='')}"
    check(world, world.http.get(url, headers={**headers_for(world, auth), **upgrade}))


not_an_int = json_values.filter(lambda v: not isinstance(v, int) or isinstance(v, bool))
# Bodies for the connected call: whatever is valid stays short (at most 30 events in 50 ms).
burst_values = st.fixed_dictionaries(
    {"count": st.integers(-5, 30) | st.integers(100_001, 10**7) | not_an_int},
    optional={
        "seconds": st.floats(0, 0.05) | st.sampled_from([1e308, -1.0, 61, True, "1", None]) | not_an_int,
        "other": json_values,
    },
)


@FUZZ
@given(auth=AUTHS, real=st.booleans(), call_id=call_ids, burst=burst_values, junk=json_bodies)
def test_burst(world, quiet, auth, real, call_id, burst, junk):
    target, body = (world.call_id, encoded(burst)) if real else (quote(call_id, safe=""), junk)
    url = f"{world.base}/emulator/calls/{target}/burst"
    check(world, world.http.post(url, content=body, headers=headers_for(world, auth, "application/json")))


@pytest.mark.parametrize("prefix", PREFIXES)
@FUZZ
@given(auth=AUTHS, body=beta_like.map(encoded) | json_bodies, content_type=CONTENT_TYPES)
def test_beta_sessions(world, quiet, prefix, auth, body, content_type):
    url = f"{world.base}{prefix}/realtime/sessions"
    check(world, world.http.post(url, content=body, headers=headers_for(world, auth, content_type)))


@pytest.mark.parametrize("prefix", PREFIXES)
@FUZZ
@given(data=st.data(), auth=AUTHS, content_type=CONTENT_TYPES, model=st.text(max_size=20))
def test_beta_call(world, quiet, prefix, data, auth, content_type, model):
    body = data.draw(sdps(world.offer)).encode() if content_type == "application/sdp" else data.draw(json_bodies)
    url = f"{world.base}{prefix}/realtime?model={quote(model, safe='')}"
    check(world, world.http.post(url, content=body, headers=headers_for(world, auth, content_type)))


KNOWN_PATHS = ["/realtime/client_secrets", "/realtime/calls", "/realtime/calls/rtc_x/hangup", "/realtime",
               "/realtime/sessions", "/realtime/transcription_sessions", "/models", "", "/"]  # fmt: skip


@pytest.mark.parametrize("prefix", [*PREFIXES, "/emulator", ""])
@FUZZ
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "POST", "TRACE"]),
    path=st.sampled_from(KNOWN_PATHS) | st.text(max_size=30).map(lambda t: "/" + quote(t)),
    preflight=st.booleans(),
    asked=st.sampled_from(["", "authorization, x-openai-agents-sdk", "x-stainless-lang", "bad header", "x,,y", "*"]),
)
def test_any_method_on_any_path(world, quiet, prefix, method, path, preflight, asked):
    headers = {"Origin": "http://localhost:8888"}
    if preflight:
        headers["Access-Control-Request-Method"] = "POST"
        if asked:
            headers["Access-Control-Request-Headers"] = asked
    response = world.http.request(method, world.base + prefix + path, headers=headers)
    if method == "HEAD":  # no body to check: only the status
        assert response.status_code < 500
        return
    check(world, response)
    if method == "OPTIONS" and response.status_code == 204:
        assert response.headers["access-control-allow-origin"] == "*"
        assert "POST" in response.headers["access-control-allow-methods"] or "GET" in response.headers[
            "access-control-allow-methods"]  # fmt: skip


def test_the_call_connected_all_along_still_answers(world):
    world.client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    assert world.client.wait_for("response.done", timeout=20)["response"]["status"] == "completed"
    url = f"ws://127.0.0.1:{world.emu.port}/v1/realtime?call_id={world.call_id}"
    with connect(url, additional_headers={"Authorization": f"Bearer {world.emu.api_key}"}) as sideband:
        sideband.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        types = []
        while "response.done" not in types:
            types.append(json.loads(sideband.recv(timeout=20))["type"])
    assert "response.created" in types
    assert world.call_id in world.emu._routes.calls
