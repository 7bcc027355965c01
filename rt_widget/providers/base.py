"""What every provider does: answer the browser's SDP offer, or tell the browser where to post it."""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import SessionConfig

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ConnectError(Exception):
    """A call could not be set up; the message says what went wrong and what to do."""


@dataclass(frozen=True)
class CallAnswer:
    """The kernel relayed the offer; here is the service's answer."""

    sdp: str
    """The SDP answer for ``RTCPeerConnection.setRemoteDescription``."""
    call_id: str | None
    """The ``rtc_...`` id from the ``Location`` header, when the service sends one."""


@dataclass(frozen=True)
class DirectCall:
    """The browser posts its offer itself, with a short-lived key (never the API key)."""

    url: str
    """Where to POST the raw ``application/sdp`` offer."""
    token: str
    """The ephemeral key, sent once to the browser as ``Authorization: Bearer``."""
    expires_at: int | None = None


@dataclass(frozen=True)
class Sideband:
    """How the kernel joins a running call over its own WebSocket."""

    url: str
    headers: dict[str, str]


class Provider(abc.ABC):
    """Where SDP answers and ephemeral keys come from. ``repr`` never shows a secret."""

    name: str = "provider"
    beta: bool = False
    """Whether calls speak the legacy beta shape (events are normalized to GA in the log)."""

    @abc.abstractmethod
    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer | DirectCall:
        """Answer the offer (relay) or hand back what the browser needs to post it itself."""

    def sideband(self, call_id: str) -> Sideband | None:
        """The WebSocket that joins ``call_id``, or ``None`` if the flow has none."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def call_id_from_location(location: str | None) -> str | None:
    """The last path segment starting with ``rtc_`` in a ``Location`` header, if any."""
    if not location:
        return None
    path = location.split("?", 1)[0]
    ids = [part for part in path.split("/") if part.startswith("rtc_")]
    return ids[-1] if ids else None


def describe_http_error(response: httpx.Response, what: str, key_hint: str) -> str:
    """A one-line, secret-free description of a failed HTTP call to a provider.

    Error bodies are read as text first: the service sometimes sends an envelope of empty
    strings, or no JSON at all.
    """
    detail = response.text.strip()
    try:
        envelope = response.json().get("error") or {}
        detail = envelope.get("message") or envelope.get("code") or detail
    except (ValueError, AttributeError):
        pass
    if not detail:
        detail = response.reason_phrase or "no details given"
    advice = {
        400: "The service refused the request; the message above says what it did not accept.",
        401: f"Check the API key ({key_hint}).",
        403: "The key is not allowed to use this model or endpoint.",
        404: "Check base_url and the model or deployment name.",
        429: "Rate limit or quota reached; wait, or check your plan's limits.",
    }.get(response.status_code, "")
    if response.status_code >= 500:
        advice = "The service had a problem; try again in a moment."
    return " ".join(p for p in (f"{what} failed with HTTP {response.status_code}: {detail}.", advice) if p)


async def post(url: str, what: str, key_hint: str, *, expect: int, **kwargs: Any) -> httpx.Response:
    """POST with errors turned into :class:`ConnectError` (network failures included)."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        msg = f"Could not reach {url.split('?')[0]} ({type(exc).__name__}: {exc}). Check the network and base_url."
        raise ConnectError(msg) from None
    if response.status_code != expect:
        raise ConnectError(describe_http_error(response, what, key_hint))
    return response


def ws_url(http_url: str) -> str:
    """``http(s)://`` to ``ws(s)://``."""
    return "ws" + http_url.removeprefix("http")


async def mint(url: str, key_hint: str, headers: dict[str, str], body: dict[str, Any], calls_url: str) -> DirectCall:
    """Mint an ephemeral key at ``url``; the browser will post its offer to ``calls_url``."""
    minted = await post(url, "Minting an ephemeral key", key_hint, expect=200, headers=headers, json=body)
    data = minted.json()
    return DirectCall(calls_url, data["value"], data.get("expires_at"))


async def relay(
    url: str, key_hint: str, headers: dict[str, str], offer_sdp: str, session: dict[str, Any]
) -> CallAnswer:
    """Post the browser's offer with the session as multipart (the unified interface)."""
    files = {
        "sdp": (None, offer_sdp, "application/sdp"),
        "session": (None, json.dumps(session), "application/json"),
    }
    response = await post(url, "Creating the call", key_hint, expect=201, files=files, headers=headers)
    return CallAnswer(response.text, call_id_from_location(response.headers.get("location")))
