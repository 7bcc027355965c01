"""Azure OpenAI's Realtime API (GA ``/openai/v1`` paths)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

from ..config import SessionConfig
from ..redaction import redact
from . import arguments
from .base import (
    CallAnswer,
    ConnectError,
    DirectCall,
    Provider,
    Sideband,
    create_live_session,
    guarded,
    mint,
    relay,
    ws_url,
)

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
        Surrounding whitespace is removed (so is that around tokens from ``token_provider``).
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
        if resource is not None and endpoint is not None:
            raise ValueError("Give endpoint= or resource=, not both.")
        if resource is not None:
            endpoint = f"https://{arguments.name(resource, 'resource')}.openai.azure.com"
        elif endpoint is None:
            endpoint = os.environ.get("AZURE_OPENAI_ENDPOINT", "").strip() or None
            if endpoint is None:
                raise ValueError("No Azure endpoint: pass endpoint=..., resource=..., or set AZURE_OPENAI_ENDPOINT.")
        base = arguments.url(endpoint, "endpoint")
        if deployment is None:
            deployment = os.environ.get("AZURE_OPENAI_DEPLOYMENT", "").strip() or None
            if deployment is None:
                raise ValueError("No Azure deployment: pass deployment=... or set AZURE_OPENAI_DEPLOYMENT.")
        self.deployment = arguments.name(deployment, "deployment")
        if token_provider is not None and not callable(token_provider):
            raise TypeError(
                f"token_provider must be a function returning a token, not {type(token_provider).__name__}; "
                "for example azure.identity.get_bearer_token_provider(...)."
            )
        if api_key is not None and token_provider is not None:
            raise ValueError("Give api_key= or token_provider=, not both.")
        self._api_key = "" if token_provider is not None else arguments.key_or_env(api_key, "AZURE_OPENAI_API_KEY")
        if not self._api_key and token_provider is None:
            raise ValueError(f"No Azure credentials: {KEY_HINT}.")
        self._token_provider = token_provider
        self.base_url = base.removesuffix("/openai/v1") + "/openai/v1"
        self.webrtcfilter = arguments.flag(webrtcfilter, "webrtcfilter")
        self.flow = arguments.flow(flow)

    def _auth(self) -> dict[str, str]:
        if self._api_key:
            return {"api-key": self._api_key}
        assert self._token_provider is not None
        try:
            token = self._token_provider()
        except Exception as exc:
            raise ConnectError(
                f"The token_provider raised {type(exc).__name__}: {exc}. Check the Azure credential it uses."
            ) from None
        try:
            token = arguments.secret(token, "The token from token_provider")
        except (TypeError, ValueError) as exc:
            raise ConnectError(exc) from None
        if not token:
            raise ConnectError("The token_provider returned an empty token. Check the Azure credential it uses.")
        return {"Authorization": f"Bearer {token}"}

    @property
    def _calls_url(self) -> str:
        return f"{self.base_url}/realtime/calls" + ("?webrtcfilter=on" if self.webrtcfilter else "")

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer | DirectCall:
        """Relay the offer, or mint a key for the browser; the model is the deployment."""
        return await guarded("creating the call", self._connect(offer_sdp, config))

    async def _connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer | DirectCall:
        session = {**config.to_ga(), "model": self.deployment}
        if self.flow == "ephemeral":
            url = f"{self.base_url}/realtime/client_secrets"
            return await mint(url, KEY_HINT, self._auth(), {"session": session}, self._calls_url)
        return await relay(self._calls_url, KEY_HINT, self._auth(), offer_sdp, session)

    def sideband(self, call_id: str) -> Sideband:
        """``wss://.../openai/v1/realtime?call_id=...`` with the key or token.

        Raises
        ------
        ConnectError
            If the token provider fails or gives an unusable token.
        """
        return Sideband(f"{ws_url(self.base_url)}/realtime?call_id={call_id}", self._auth())

    async def connect_live(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """``POST <resource>/openai/v1/live/sessions``, the same JSON body as OpenAI's."""
        url = f"{self.base_url}/live/sessions"
        work = create_live_session(url, KEY_HINT, self._live_auth(), offer_sdp, session)
        return await guarded("creating the GPT-Live session", work)

    def live_sideband(self, session_id: str) -> Sideband:
        """``wss://<resource>/openai/v1/live/sessions/{id}/attach``."""
        return Sideband(f"{ws_url(self.base_url)}/live/sessions/{session_id}/attach", self._live_auth())

    def _live_auth(self) -> dict[str, str]:
        """Azure's GPT-Live examples send even an API key as a bearer token."""
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else self._auth()

    def __repr__(self) -> str:
        return redact(f"Azure(base_url={self.base_url!r}, deployment={self.deployment!r}, flow={self.flow!r})")
