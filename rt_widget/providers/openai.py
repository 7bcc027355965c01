"""OpenAI's Realtime API: the unified interface (kernel relays) or ephemeral keys (browser posts)."""

from __future__ import annotations

import os
from typing import Any, Literal

from ..config import SessionConfig
from ..redaction import redact
from . import arguments
from .base import CallAnswer, DirectCall, Provider, Sideband, create_live_session, guarded, mint, relay, ws_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_HINT = "OPENAI_API_KEY, or api_key=..."


class OpenAI(Provider):
    """OpenAI's GA Realtime API over WebRTC.

    Parameters
    ----------
    api_key:
        Standard API key. Defaults to ``$OPENAI_API_KEY``. It stays in the kernel. Surrounding
        whitespace (a line break from a file or a CRLF ``.env``) is removed.
    base_url:
        REST base, for gateways and proxies. Defaults to ``$OPENAI_BASE_URL`` or
        ``https://api.openai.com/v1``.
    flow:
        ``"unified"`` (default): the kernel posts the browser's offer with the session config.
        ``"ephemeral"``: the kernel mints a short-lived key for every connect and hands it to
        the browser once; the browser posts the offer itself.
    ttl:
        Lifetime of ephemeral keys in seconds (10 to 7200).
    """

    name = "openai"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        flow: Literal["unified", "ephemeral"] = "unified",
        ttl: int = 600,
    ) -> None:
        key = arguments.key_or_env(api_key, "OPENAI_API_KEY")
        if not key:
            raise ValueError("No OpenAI API key: pass api_key=... or set OPENAI_API_KEY.")
        self.flow = arguments.flow(flow)
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 10 <= ttl <= 7200:
            raise ValueError(f"ttl={ttl!r} is not valid: use whole seconds from 10 to 7200.")
        self._api_key = key
        given = base_url if base_url is not None else os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL
        self.base_url = arguments.url(given, "base_url" if base_url is not None else "$OPENAI_BASE_URL")
        self.ttl = ttl

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer | DirectCall:
        """Relay the offer (unified) or mint a key for the browser (ephemeral)."""
        session = config.to_ga()
        calls = f"{self.base_url}/realtime/calls"
        if self.flow == "ephemeral":
            body = {"expires_after": {"anchor": "created_at", "seconds": self.ttl}, "session": session}
            url = f"{self.base_url}/realtime/client_secrets"
            return await guarded("minting an ephemeral key", mint(url, KEY_HINT, self._auth(), body, calls))
        return await guarded("creating the call", relay(calls, KEY_HINT, self._auth(), offer_sdp, session))

    def sideband(self, call_id: str) -> Sideband:
        """``wss://.../v1/realtime?call_id=...`` with the standard key."""
        return Sideband(f"{ws_url(self.base_url)}/realtime?call_id={call_id}", self._auth())

    async def connect_live(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """``POST /v1/live/sessions`` with the offer (GPT-Live has no ephemeral flow: the kernel posts)."""
        url = f"{self.base_url}/live/sessions"
        return await guarded(
            "creating the GPT-Live session", create_live_session(url, KEY_HINT, self._auth(), offer_sdp, session)
        )

    def live_sideband(self, session_id: str) -> Sideband:
        """``wss://.../v1/live/sessions/{id}/attach`` with the standard key."""
        return Sideband(f"{ws_url(self.base_url)}/live/sessions/{session_id}/attach", self._auth())

    def __repr__(self) -> str:
        return redact(f"OpenAI(base_url={self.base_url!r}, flow={self.flow!r})")
