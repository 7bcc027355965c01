"""The legacy beta shape: ``/realtime/sessions`` for a key, ``/realtime?model=`` for the SDP."""

from __future__ import annotations

import os
from urllib.parse import quote

from ..config import SessionConfig
from ..redaction import redact
from . import arguments
from .base import DirectCall, Provider, ephemeral_key, guarded, post

KEY_HINT = "OPENAI_API_KEY, or api_key=..."
DEFAULT_BASE_URL = "https://api.openai.com/v1"


class Beta(Provider):
    """The deprecated beta interface, still met on older deployments and in older samples.

    The kernel mints a key at ``{base_url}/realtime/sessions`` with the flat beta config; the
    browser posts its offer to ``{base_url}/realtime?model=...``. Beta event names are
    normalized to GA names in the log. There is no sideband.
    """

    name = "beta"
    beta = True

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = arguments.key_or_env(api_key, "OPENAI_API_KEY")
        if not key:
            raise ValueError("No OpenAI API key: pass api_key=... or set OPENAI_API_KEY.")
        self._api_key = key
        given = base_url if base_url is not None else os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL
        self.base_url = arguments.url(given, "base_url" if base_url is not None else "$OPENAI_BASE_URL")

    async def connect(self, offer_sdp: str, config: SessionConfig) -> DirectCall:
        """Mint a beta key; the browser posts the offer itself."""
        return await guarded("minting a beta session key", self._mint(config))

    async def _mint(self, config: SessionConfig) -> DirectCall:
        what = "Minting a beta session key"
        minted = await post(
            f"{self.base_url}/realtime/sessions",
            what,
            KEY_HINT,
            expect=200,
            headers={"Authorization": f"Bearer {self._api_key}"},
            json=config.to_beta(),
        )
        token, expires_at = ephemeral_key(minted, what, lambda data: data["client_secret"])
        url = f"{self.base_url}/realtime?model={quote(config.model)}"
        return DirectCall(url, token, expires_at)

    def __repr__(self) -> str:
        return redact(f"Beta(base_url={self.base_url!r})")
