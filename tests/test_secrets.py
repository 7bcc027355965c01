"""Key hygiene: keys with stray whitespace work, bad keys are refused, and no key leaks.

Every provider and flow (OpenAI unified and ephemeral, Azure with api-key or token_provider in
both flows, beta, and the sideband) runs against the real emulator with keys wrapped in
whitespace, and against a local server whose every reply echoes the request's headers. The
sentinel key must appear in no exception text, no log record at DEBUG from any logger, and no
repr.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from rt_widget import Emulator
from rt_widget._loop import BackgroundLoop
from rt_widget.config import SessionConfig
from rt_widget.providers import Azure, Beta, CallAnswer, ConnectError, DirectCall, OpenAI, Provider, base
from rt_widget.redaction import redact
from rt_widget.sideband import SidebandConnection
from tests.aio import run
from tests.rtc_client import RtcClient

# Not shaped like an OpenAI key, so only the registry of known secrets can catch it.
SENTINEL = "SENTINEL0do0not0leak0a1b2c3d4e5f6"
CONFIG = SessionConfig()
WRAPPINGS = [" {} ", "{}\n", "{}\r\n", "\t{}\t", "\r\n {} \n"]
INNER = [
    "SENTINEL\n0do0not0leak",
    "SENTINEL\r\n0do0not0leak",
    "SENTINEL\t0do0not",
    "SENTINEL 0do0not",
    "SENTINEL\x000do",
]

Make = Callable[[str, str], Provider]
"""A provider from (root URL without /v1, key)."""

PROVIDERS: dict[str, Make] = {
    "openai-unified": lambda root, key: OpenAI(api_key=key, base_url=f"{root}/v1"),
    "openai-ephemeral": lambda root, key: OpenAI(api_key=key, base_url=f"{root}/v1", flow="ephemeral"),
    "azure-key-unified": lambda root, key: Azure(endpoint=root, deployment="d", api_key=key),
    "azure-key-ephemeral": lambda root, key: Azure(endpoint=root, deployment="d", api_key=key, flow="ephemeral"),
    "azure-token-unified": lambda root, key: Azure(endpoint=root, deployment="d", token_provider=lambda: key),
    "azure-token-ephemeral": lambda root, key: Azure(
        endpoint=root, deployment="d", token_provider=lambda: key, flow="ephemeral"
    ),
    "beta": lambda root, key: Beta(api_key=key, base_url=f"{root}/v1"),
}


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG; after the test, no record may hold the sentinel."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    formatter = logging.Formatter("%(name)s %(message)s")
    leaks = [formatter.format(r) for r in caplog.records if SENTINEL in formatter.format(r)]
    assert leaks == [], f"the key is in {len(leaks)} log lines, e.g. {redact(leaks[0])[:300]!r}"


def assert_clean(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert SENTINEL not in text
    assert "SENTINEL" not in str(exc)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=SENTINEL) as emu:
        yield emu


@pytest.fixture(scope="module")
def offer() -> Iterator[str]:
    client = RtcClient()
    yield client.offer()
    client.close()


def hang_up(emulator: Emulator, answer: CallAnswer) -> None:
    """Calls whose client never completes ICE would linger; end each at once."""
    url = f"{emulator.base_url}/realtime/calls/{answer.call_id}/hangup"
    httpx.post(url, headers={"Authorization": f"Bearer {SENTINEL}"}, timeout=5)


# -- keys with surrounding whitespace work in every flow -----------------------------------------


@pytest.mark.parametrize("wrapping", WRAPPINGS, ids=repr)
@pytest.mark.parametrize("name", PROVIDERS)
def test_a_key_with_surrounding_whitespace_works(name: str, wrapping: str, emulator: Emulator, offer: str):
    root = emulator.base_url.removesuffix("/v1")
    provider = PROVIDERS[name](root, wrapping.format(SENTINEL))
    result = run(provider.connect(offer, CONFIG))
    if isinstance(result, CallAnswer):
        assert result.sdp.startswith("v=0")
        hang_up(emulator, result)
    else:
        assert isinstance(result, DirectCall)
        assert result.token.startswith("ek_")
        assert result.token not in repr(result)
    assert SENTINEL not in repr(provider)


@pytest.mark.parametrize("wrapping", WRAPPINGS[:3], ids=repr)
@pytest.mark.parametrize("name", ["openai-unified", "azure-key-unified", "azure-token-unified"])
def test_the_sideband_joins_with_a_wrapped_key(name: str, wrapping: str, emulator: Emulator, offer: str):
    provider = PROVIDERS[name](emulator.base_url.removesuffix("/v1"), wrapping.format(SENTINEL))
    answer = run(provider.connect(offer, CONFIG))
    assert isinstance(answer, CallAnswer)
    assert answer.call_id is not None
    target = provider.sideband(answer.call_id)
    assert target is not None
    assert SENTINEL not in repr(target)
    sideband = SidebandConnection(target, lambda event: None)
    try:
        sideband.wait_ready(10)
        assert sideband.open
    finally:
        sideband.close()
        hang_up(emulator, answer)


def test_a_key_from_a_crlf_env_file_works(monkeypatch: pytest.MonkeyPatch, emulator: Emulator):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL + "\r\n")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url + "\n")
    result = run(OpenAI(flow="ephemeral").connect("", CONFIG))
    assert isinstance(result, DirectCall)


# -- keys that cannot be sent are refused at once, without being repeated -------------------------


@pytest.mark.parametrize("key", INNER, ids=repr)
@pytest.mark.parametrize(
    "make",
    [
        lambda key: OpenAI(api_key=key),
        lambda key: Beta(api_key=key),
        lambda key: Azure(endpoint="https://x.openai.azure.com", deployment="d", api_key=key),
    ],
    ids=["openai", "beta", "azure"],
)
def test_a_key_with_inner_whitespace_or_control_characters_is_refused(make: Callable[[str], Provider], key: str):
    with pytest.raises(ValueError, match=r"api_key contains .* at character \d+ of \d+; keys have none") as info:
        make(key)
    assert "SENTINEL" not in str(info.value)
    assert "0do0not" not in str(info.value)


def test_a_bad_key_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-SENTINEL\n0do0not")
    with pytest.raises(ValueError, match=r"\$OPENAI_API_KEY contains a line break") as info:
        OpenAI()
    assert "SENTINEL" not in str(info.value)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: OpenAI(api_key=5), r"api_key must be a string \(the key itself\), not int"),  # type: ignore[arg-type]
        (lambda: OpenAI(api_key=b"sk-SENTINEL0123456789"), r"api_key must be a string .*not bytes"),  # type: ignore[arg-type]
        (lambda: OpenAI(api_key="sk-x", base_url=5), r"base_url must be a string"),  # type: ignore[arg-type]
        (lambda: OpenAI(api_key="sk-x", base_url="api.openai.com/v1"), r"is not an http\(s\) URL with a host"),
        (lambda: OpenAI(api_key="sk-x", base_url="http://a b/v1"), r"is not an http\(s\) URL"),
        (lambda: OpenAI(api_key="sk-x", base_url="https://h:99999/v1"), r"is not an http\(s\) URL"),
        (lambda: OpenAI(api_key="sk-x", flow=None), r"flow=None is not valid"),  # type: ignore[arg-type]
        (lambda: Beta(api_key="sk-x", base_url=["x"]), r"base_url must be a string"),  # type: ignore[arg-type]
        (lambda: Azure(endpoint=5, deployment="d", api_key="k" * 32), r"endpoint must be a string"),  # type: ignore[arg-type]
        (lambda: Azure(endpoint="https://x", deployment=5, api_key="k" * 32), r"deployment must be a string"),  # type: ignore[arg-type]
        (lambda: Azure(endpoint="https://x", deployment="my dep", api_key="k" * 32), r"deployment='my dep' is not"),
        (lambda: Azure(resource="a/b", deployment="d", api_key="k" * 32), r"resource='a/b' is not valid"),
        (lambda: Azure(endpoint="https://x", deployment="d", token_provider="tok"), r"token_provider must be a func"),  # type: ignore[arg-type]
        (lambda: Azure(endpoint="https://x", deployment="d", api_key="k" * 32, webrtcfilter="yes"), r"webrtcfilter="),  # type: ignore[arg-type]
        (lambda: Azure(endpoint="https://x", deployment="d", api_key="k" * 32, token_provider=str), r"not both"),
    ],
)
def test_wrong_types_and_values_are_clear_errors(make: Callable[[], Provider], match: str):
    with pytest.raises((TypeError, ValueError), match=match) as info:
        make()
    assert "SENTINEL" not in str(info.value)


# -- error texts never hold the key, whatever their cause ---------------------------------------


class EchoServer:
    """Answers every request as ``/{mode}/...`` says, echoing the request's headers back."""

    def __init__(self) -> None:
        self._loop = BackgroundLoop("echo-server")
        self._runner: web.AppRunner | None = None
        self.port = self._loop.run(self._start(), timeout=10)

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{mode}/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    def root(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        echo = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
        mode = request.match_info["mode"]
        if mode == "json401":
            return web.json_response({"error": {"message": f"Invalid key in {echo}", "code": None}}, status=401)
        if mode == "text500":
            return web.Response(text=f"Internal error, request was {echo}", status=500)
        if mode == "html404":
            return web.Response(text=f"<html>{echo * 50}</html>", status=404, content_type="text/html")
        if mode == "garbage200":  # a 200/201 that is not what was asked for, echoing the headers
            status = 201 if request.path.endswith("/calls") else 200
            return web.json_response({"value": 5, "client_secret": echo, "echo": echo}, status=status)
        if mode == "drop":
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.1)
            return web.Response(text=echo)
        if mode == "slow":
            await asyncio.sleep(3)
            return web.Response(text=echo)
        return web.Response(text=echo, status=418)

    def close(self) -> None:
        if self._runner is not None:
            self._loop.run(self._runner.cleanup(), timeout=10)
        self._loop.close()


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.mark.parametrize("mode", ["json401", "text500", "html404", "garbage200", "drop"])
@pytest.mark.parametrize("name", PROVIDERS)
def test_no_error_text_holds_the_key(name: str, mode: str, echo: EchoServer):
    provider = PROVIDERS[name](echo.root(mode), f"\t{SENTINEL}\r\n")
    with pytest.raises(ConnectError) as info:
        run(provider.connect("v=0\r\n", CONFIG))
    assert_clean(info.value)
    assert len(str(info.value)) < 1200  # an HTML error page is cut, not pasted whole


def test_an_error_body_is_quoted_without_the_key(echo: EchoServer):
    with pytest.raises(ConnectError, match=r"failed with HTTP 401: Invalid key in .*\[redacted\]") as info:
        run(OpenAI(api_key=SENTINEL, base_url=f"{echo.root('json401')}/v1").connect("v=0", CONFIG))
    assert_clean(info.value)


def test_a_slow_answer_is_not_called_unreachable(echo: EchoServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(base, "TIMEOUT", httpx.Timeout(0.3, connect=5))
    with pytest.raises(ConnectError, match=r"was reached but did not answer within 30 s \(ReadTimeout\)") as info:
        run(OpenAI(api_key=SENTINEL, base_url=f"{echo.root('slow')}/v1").connect("v=0", CONFIG))
    assert "Could not reach" not in str(info.value)
    assert_clean(info.value)


def test_an_unreachable_server_is_called_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectError, match=r"Could not reach http://127.0.0.1:\d+/v1/realtime/calls \(ConnectError"):
        run(OpenAI(api_key=SENTINEL, base_url=f"http://127.0.0.1:{port}/v1").connect("v=0", CONFIG))


@pytest.mark.parametrize(
    ("token_provider", "match"),
    [
        (
            lambda: (_ for _ in ()).throw(RuntimeError(f"expired token {SENTINEL}")),
            r"token_provider raised RuntimeError",
        ),
        (lambda: 5, r"token from token_provider must be a string"),
        (lambda: f"{SENTINEL}\n{SENTINEL}", r"token from token_provider contains a line break"),
        (lambda: " \n", r"token_provider returned an empty token"),
    ],
    ids=["raises", "not-a-string", "inner-newline", "empty"],
)
def test_a_failing_token_provider_is_a_clear_error_without_the_token(
    token_provider: Callable[[], Any], match: str, echo: EchoServer
):
    provider = Azure(endpoint=echo.root("json401"), deployment="d", token_provider=token_provider)
    with pytest.raises(ConnectError, match=match) as info:
        run(provider.connect("v=0", CONFIG))
    assert_clean(info.value)
    with pytest.raises(ConnectError, match=match):
        provider.sideband("rtc_x")


@pytest.mark.parametrize("mode", ["json401", "text500", "drop"])
@pytest.mark.parametrize("name", ["openai-unified", "azure-key-unified", "azure-token-unified"])
def test_a_sideband_that_cannot_join_says_why_without_the_key(name: str, mode: str, echo: EchoServer):
    provider = PROVIDERS[name](echo.root(mode), f" {SENTINEL}\n")
    target = provider.sideband("rtc_x")
    assert target is not None
    sideband = SidebandConnection(target, lambda event: None)
    with pytest.raises(ConnectError) as info:
        sideband.wait_ready(10)
    assert_clean(info.value)
    if mode == "json401":
        assert "HTTP 401: check the API key" in str(info.value)


def test_redact_removes_key_shapes_it_was_never_told_of():
    text = redact(
        "Illegal header value b'Bearer sk-proj-abc123DEF456ghi\\n'; api-key: 0123456789abcdef0123; "
        "{'token': 'xyz'}; ek_68af0c1d2e3f4a5b6c7d8e9f; eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"
    )
    for secret in ("sk-proj-abc123", "0123456789abcdef0123", "xyz", "ek_68af", "eyJhbGci"):
        assert secret not in text
    assert text.count("[redacted]") == 5


def test_redact_removes_a_password_in_a_url_and_keeps_advice_readable():
    assert (
        redact("Could not reach https://bob:hunter2@gw.example/v1/x")
        == "Could not reach https://[redacted]@gw.example/v1/x"
    )
    advice = "Check the API key (OPENAI_API_KEY, or api_key=...). Send 'Authorization: Bearer ...'."
    assert redact(advice) == advice  # the advice's placeholders are not keys


def test_a_provider_repr_hides_a_password_in_its_base_url():
    text = repr(OpenAI(api_key="sk-abcdefgh12345678", base_url="https://bob:hunter2@gw.example/v1"))
    assert "hunter2" not in text
    assert "gw.example" in text


def test_a_401_reads_with_its_advice_intact(emulator: Emulator, offer: str):
    with pytest.raises(ConnectError) as info:
        run(OpenAI(api_key="sk-wrong-key-0123456789", base_url=emulator.base_url).connect(offer, SessionConfig()))
    assert "[redacted]" not in str(info.value).split("Check the API key", 1)[1]


MCP_TOKEN = "mcp-token-0f1e2d3c4b5a69788796"
MCP_TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example/sse",
    "authorization": MCP_TOKEN,
    "headers": {"X-Api-Key": "mcp-header-secret-0123456789"},
}


def test_an_mcp_servers_credentials_stay_out_of_the_log_and_the_browser(tmp_path):
    import rt_widget as rt
    from rt_widget.events import EventLog
    from rt_widget.providers import Local

    sent: list[dict[str, Any]] = []
    widget = rt.Realtime(provider=Local(), tools=[MCP_TOOL])
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    widget._page.post = sent.append  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="sideband=True") as info:
        widget.update(tools=[{**MCP_TOOL, "authorization": MCP_TOKEN + "x"}])
    assert MCP_TOKEN not in str(info.value)
    assert sent == []  # nothing went to the page
    assert widget.config.tools[0]["authorization"] == MCP_TOKEN  # and nothing changed

    # The service's echo of the session (and anything else holding the tools) is logged scrubbed.
    echo = {"type": "session.updated", "event_id": "event_1", "session": {"type": "realtime", "tools": [MCP_TOOL]}}
    widget._ingest(echo, "server")
    path = widget.events.save(tmp_path / "log.jsonl")
    text = path.read_text()
    assert "docs" in text
    assert MCP_TOKEN not in text
    assert "mcp-header-secret" not in text
    assert MCP_TOKEN not in str(EventLog.load(path)[0])
    assert redact(f"failed with {MCP_TOKEN}") == "failed with [redacted]"  # registered when configured
    widget.close()


def _leaks(folder: Any) -> list[str]:
    """Files under ``folder`` that hold an MCP credential."""
    import pathlib

    return [
        str(f)
        for f in pathlib.Path(folder).rglob("*")
        if f.is_file() and (MCP_TOKEN.encode() in f.read_bytes() or b"mcp-header-secret" in f.read_bytes())
    ]


def test_a_saved_recording_holds_no_mcp_credentials(tmp_path):
    import rt_widget as rt
    from rt_widget.gptlive.delegation import ResponsesDelegation

    realtime = rt.Realtime(provider="emulator", tools=[MCP_TOOL], record=True)
    backend = ResponsesDelegation("gpt-5.5", tools=[MCP_TOOL])
    live = rt.Realtime(provider="emulator", model="gpt-live-1", delegation=backend)
    for name, widget in (("realtime", realtime), ("live", live)):
        folder = widget.save(tmp_path / name)
        assert (folder / "recording.json").exists()
        assert _leaks(folder) == [], name
        assert "[redacted]" in (folder / "recording.json").read_text()
        widget.close()
    sent = live.session.settings_sent()["delegation"]["responses"]["tools"][0]
    assert sent["authorization"] == MCP_TOKEN  # the service gets it


def test_a_gpt_live_update_with_mcp_credentials_never_goes_through_the_browser(tmp_path):
    import rt_widget as rt
    from rt_widget.gptlive.delegation import ResponsesDelegation

    sent: list[dict[str, Any]] = []
    first = ResponsesDelegation("gpt-5.5", tools=[{**MCP_TOOL, "authorization": None, "headers": None}])
    widget = rt.Realtime(provider="emulator", model="gpt-live-1", delegation=first)
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    widget._page.post = sent.append  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="sideband=True") as info:
        widget.update(delegation=ResponsesDelegation("gpt-5.5", tools=[MCP_TOOL]))
    assert MCP_TOKEN not in str(info.value)
    assert sent == []
    assert widget.session.live_config.delegation == first  # nothing changed
    # The service's echo of a delegation with the tool is logged scrubbed.
    echo = {
        "type": "session.updated",
        "event_id": "event_2",
        "session": {"delegation": {"type": "responses", "responses": {"model": "gpt-5.5", "tools": [MCP_TOOL]}}},
    }
    widget._ingest(echo, "server")
    assert _leaks(widget.events.save(tmp_path / "log.jsonl").parent) == []
    widget.close()
