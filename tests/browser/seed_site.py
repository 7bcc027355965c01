"""The seeds' own servers, ported to Python: they serve the seed pages and do what the
seeds' Express (seeds/001) and Flask (seeds/003) apps do, against the emulator."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
from aiohttp import web

from rt_widget import Emulator
from rt_widget._loop import BackgroundLoop

PAGES = Path(__file__).parent / "seeds"
INSTRUMENT = (PAGES / "instrument.js").read_text()

# seeds/001's sessionConfig, sent both to /client_secrets and as the multipart 'session' part.
SEED_001_SESSION = json.dumps(
    {"session": {"type": "realtime", "model": "gpt-realtime", "audio": {"output": {"voice": "marin"}}}}
)
# seeds/003's session_config for its token service.
SEED_003_SESSION = {
    "session": {
        "type": "realtime",
        "model": "my-deployment",
        "instructions": "You are a helpful assistant.",
        "audio": {"output": {"voice": "marin"}},
    }
}


class SeedSite:
    """One seed's web server on loopback, serving ``page`` and that seed's endpoints."""

    def __init__(self, emulator: Emulator, page: str) -> None:
        self.emu = emulator
        self.page = page
        app = web.Application()
        app.router.add_get(f"/{page}", self._page)
        app.router.add_post("/session", self._unified_session)
        app.router.add_get("/token", self._azure_token if page == "azure.html" else self._openai_token)
        self._loop = BackgroundLoop("seed-site")
        self._runner = web.AppRunner(app, access_log=None)
        self.port = self._loop.run(self._start())

    async def _start(self) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return int(sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.page}"

    def close(self) -> None:
        self._loop.run(self._runner.cleanup())
        self._loop.close()

    async def _page(self, _request: web.Request) -> web.Response:
        html = (PAGES / self.page).read_text(encoding="utf-8")
        html = html.replace("{{OPENAI_BASE}}", self.emu.base_url)
        html = html.replace("{{AZURE_BASE}}", f"http://127.0.0.1:{self.emu.port}/openai/v1")
        return web.Response(text=html, content_type="text/html")

    async def _unified_session(self, request: web.Request) -> web.Response:
        """seeds/001 unified: relay the raw SDP as multipart sdp + session with the key."""
        files = {"sdp": (None, await request.text()), "session": (None, SEED_001_SESSION)}
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                f"{self.emu.base_url}/realtime/calls",
                files=files,
                headers={"Authorization": f"Bearer {self.emu.api_key}"},
            )
        return web.Response(text=r.text)

    async def _openai_token(self, _request: web.Request) -> web.Response:
        """seeds/001 ephemeral: mint a client secret and pass the JSON through."""
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                f"{self.emu.base_url}/realtime/client_secrets",
                content=SEED_001_SESSION,
                headers={"Authorization": f"Bearer {self.emu.api_key}", "Content-Type": "application/json"},
            )
        return web.json_response(r.json())

    async def _azure_token(self, _request: web.Request) -> web.Response:
        """seeds/003 token service: Azure client_secrets with a bearer token; returns {token}."""
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                f"http://127.0.0.1:{self.emu.port}/openai/v1/realtime/client_secrets",
                json=SEED_003_SESSION,
                headers={"Authorization": f"Bearer {self.emu.api_key}"},
            )
        r.raise_for_status()
        return web.json_response({"token": r.json()["value"]})
