"""The GPT-Live create request each provider sends, over real HTTP to a stand-in service.

The stand-in checks what the SDK's LiveCreateParams say the request is; the emulator's own Live
endpoint is tested with real WebRTC in tests/test_emulator_live.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from rt_widget._loop import BackgroundLoop
from rt_widget.gptlive.config import LiveConfig
from rt_widget.providers import Azure, ConnectError, OpenAI

KEY = "sk-live-test-0123456789abcdef"
OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"


@pytest.fixture
def service() -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"requests": [], "status": 201}

    async def create(request: web.Request) -> web.StreamResponse:
        seen["requests"].append((request.path, dict(request.headers), await request.json()))
        if seen["status"] != 201:
            body = {"error": {"message": "Too many sessions", "type": "rate_limit", "param": None, "code": None}}
            return web.json_response(body, status=seen["status"])
        return web.json_response(
            {"session": {"id": "live_abc"}, "transport": {"type": "webrtc", "sdp": "v=0\r\n"}}, status=201
        )

    app = web.Application()
    app.router.add_post("/v1/live/sessions", create)
    app.router.add_post("/openai/v1/live/sessions", create)
    runner = web.AppRunner(app, access_log=None)
    loop = BackgroundLoop("live-stand-in")

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    seen["base"] = f"http://127.0.0.1:{loop.run(start(), timeout=10)}"
    yield seen
    loop.run(runner.cleanup(), timeout=10)
    loop.close()


def session() -> dict[str, Any]:
    return LiveConfig.from_kwargs(model="gpt-live-1", instructions="Be brief.").to_session()


def test_openai_posts_the_offer_and_session_as_json_and_gets_the_session_id(service):
    provider = OpenAI(api_key=KEY, base_url=f"{service['base']}/v1")
    answer = asyncio.run(provider.connect_live(OFFER, session()))
    assert answer.call_id == "live_abc"
    assert answer.sdp.startswith("v=0")
    ((path, headers, body),) = service["requests"]
    assert path == "/v1/live/sessions"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert body == {"session": session(), "transport": {"type": "webrtc", "sdp": OFFER}}
    sideband = provider.live_sideband("live_abc")
    assert sideband.url.endswith("/v1/live/sessions/live_abc/attach")
    assert sideband.url.startswith("ws://")


def test_azure_uses_its_v1_path_and_a_bearer_key(service):
    provider = Azure(endpoint=service["base"], deployment="gpt-live-1", api_key=KEY)
    asyncio.run(provider.connect_live(OFFER, session()))
    ((path, headers, _),) = service["requests"]
    assert path == "/openai/v1/live/sessions"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert provider.live_sideband("live_abc").url.endswith("/openai/v1/live/sessions/live_abc/attach")


def test_a_refused_create_is_never_marked_for_retry_and_holds_no_key(service):
    service["status"] = 429
    provider = OpenAI(api_key=KEY, base_url=f"{service['base']}/v1")
    with pytest.raises(ConnectError) as caught:
        asyncio.run(provider.connect_live(OFFER, session()))
    assert caught.value.status == 429
    assert caught.value.retryable is False  # each create bills up front
    assert "not tried again" in str(caught.value)
    assert KEY not in str(caught.value)
    assert len(service["requests"]) == 1


def test_a_wrong_base_url_is_a_clear_error(service):
    provider = OpenAI(api_key=KEY, base_url=f"{service['base']}/v2")  # nothing there: 404
    with pytest.raises(ConnectError, match="HTTP 404"):
        asyncio.run(provider.connect_live(OFFER, session()))
    assert json.dumps(service["requests"]) == "[]"
