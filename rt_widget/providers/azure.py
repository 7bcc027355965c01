"""Azure OpenAI's Realtime API (GA ``/openai/v1`` paths)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from ..config import SessionConfig
from .base import CallAnswer, DirectCall, Provider, Sideband, mint, relay, ws_url

KEY_HINT = "AZURE_OPENAI_API_KEY, api_key=..., or token_provider=..."


class Azure(Provider):
    """A realtime deployment on Azure OpenAI.

    Parameters
    ----------
    endpoint:
        ``https://{resource}.openai.azure.com`` (or another Azure host). Defaults to
        ``$AZURE_OPENAI_ENDPOINT``; ``resource=`` builds it from the resource name.
    deployment:
        The deployment name; it is the session's model. Defaults to
        ``$AZURE_OPENAI_DEPLOYMENT``.
    api_key:
        The resource key, sent as ``api-key``. Defaults to ``$AZURE_OPENAI_API_KEY``.
    token_provider:
        Instead of a key, a callable returning a Microsoft Entra ID bearer token, e.g.
        ``azure.identity.get_bearer_token_provider(DefaultAzureCredential(),
        "https://cognitiveservices.azure.com/.default")``.
    webrtcfilter:
        Ask Azure to send the browser only transcripts and speech markers, keeping
        instructions private. The kernel still sees everything through the sideband.
    flow:
        ``"unified"`` (the kernel posts the offer) or ``"ephemeral"`` (the browser does, with a
        key minted for this connect).
    """

    name = "azure"

    def __init__(
        self,
        endpoint: str | None = None,
        deployment: str | None = None,
        api_key: str | None = None,
        token_provider: Callable[[], str] | None = None,
        *,
        resource: str | None = None,
        webrtcfilter: bool = False,
        flow: Literal["unified", "ephemeral"] = "unified",
    ) -> None:
        if resource and endpoint:
            raise ValueError("Give endpoint= or resource=, not both.")
        endpoint = f"https://{resource}.openai.azure.com" if resource else endpoint
        endpoint = endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT", "")
        if not endpoint:
            raise ValueError("No Azure endpoint: pass endpoint=..., resource=..., or set AZURE_OPENAI_ENDPOINT.")
        self.deployment = deployment or os.environ.get("AZURE_OPENAI_DEPLOYMENT", "")
        if not self.deployment:
            raise ValueError("No Azure deployment: pass deployment=... or set AZURE_OPENAI_DEPLOYMENT.")
        self._api_key = api_key or (None if token_provider else os.environ.get("AZURE_OPENAI_API_KEY"))
        if not self._api_key and token_provider is None:
            raise ValueError(f"No Azure credentials: {KEY_HINT}.")
        if flow not in ("unified", "ephemeral"):
            raise ValueError(f"flow={flow!r} is not valid: use 'unified' or 'ephemeral'.")
        self._token_provider = token_provider
        self.base_url = endpoint.rstrip("/").removesuffix("/openai/v1") + "/openai/v1"
        self.webrtcfilter = webrtcfilter
        self.flow = flow

    def _auth(self) -> dict[str, str]:
        if self._api_key:
            return {"api-key": self._api_key}
        assert self._token_provider is not None
        return {"Authorization": f"Bearer {self._token_provider()}"}

    @property
    def _calls_url(self) -> str:
        return f"{self.base_url}/realtime/calls" + ("?webrtcfilter=on" if self.webrtcfilter else "")

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer | DirectCall:
        """Relay the offer, or mint a key for the browser; the model is the deployment."""
        session = {**config.to_ga(), "model": self.deployment}
        if self.flow == "ephemeral":
            url = f"{self.base_url}/realtime/client_secrets"
            return await mint(url, KEY_HINT, self._auth(), {"session": session}, self._calls_url)
        return await relay(self._calls_url, KEY_HINT, self._auth(), offer_sdp, session)

    def sideband(self, call_id: str) -> Sideband:
        """``wss://.../openai/v1/realtime?call_id=...`` with the key or token."""
        return Sideband(f"{ws_url(self.base_url)}/realtime?call_id={call_id}", self._auth())

    def __repr__(self) -> str:
        return f"Azure(base_url={self.base_url!r}, deployment={self.deployment!r}, flow={self.flow!r})"
