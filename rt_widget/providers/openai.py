"""OpenAI's Realtime API, unified interface: the kernel relays the offer with its key."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from .base import CallAnswer, ConnectError, Provider, call_id_from_location, describe_http_error

DEFAULT_BASE_URL = "https://api.openai.com/v1"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class OpenAI(Provider):
    """Relay the browser's offer to ``POST {base_url}/realtime/calls`` as multipart.

    The browser never sees the key: it hands its offer to the kernel, the kernel posts the
    ``sdp`` and ``session`` parts with the standard key and returns the answer.

    Parameters
    ----------
    api_key:
        Standard API key. Defaults to ``$OPENAI_API_KEY``.
    base_url:
        REST base, for gateways and proxies. Defaults to ``$OPENAI_BASE_URL`` or
        ``https://api.openai.com/v1``.

    """

    name = "openai"

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or os.environ.get("OPENAI_API_KEY", "")
        if not key:
            msg = "No OpenAI API key: pass api_key=... or set OPENAI_API_KEY."
            raise ValueError(msg)
        self._api_key = key
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = self.base_url.rstrip("/")

    async def create_call(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """Post the offer and the session config; return the answer and the call id."""
        url = f"{self.base_url}/realtime/calls"
        files = {
            "sdp": (None, offer_sdp, "application/sdp"),
            "session": (None, json.dumps(session), "application/json"),
        }
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.post(url, files=files, headers={"Authorization": f"Bearer {self._api_key}"})
        except httpx.HTTPError as exc:
            msg = f"Could not reach {url} ({type(exc).__name__}: {exc}). Check the network and base_url."
            raise ConnectError(msg) from None
        if response.status_code != httpx.codes.CREATED:
            raise ConnectError(describe_http_error(response, "Creating the call"))
        return CallAnswer(response.text, call_id_from_location(response.headers.get("location")))

    def __repr__(self) -> str:
        return f"OpenAI(base_url={self.base_url!r})"
