"""What every provider does: turn the browser's SDP offer into an answer."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import httpx


class ConnectError(Exception):
    """A call could not be set up; the message says what went wrong and what to do."""


@dataclass(frozen=True)
class CallAnswer:
    """The provider's reply to an offer."""

    sdp: str
    """The SDP answer for ``RTCPeerConnection.setRemoteDescription``."""
    call_id: str | None
    """The ``rtc_...`` id from the ``Location`` header, when the service sends one."""


class Provider(abc.ABC):
    """Where SDP answers come from. Subclasses never expose their secrets in ``repr``."""

    name: str = "provider"

    @abc.abstractmethod
    async def create_call(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """Exchange the browser's offer for an answer, configuring the call with ``session``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def call_id_from_location(location: str | None) -> str | None:
    """The last path segment starting with ``rtc_`` in a ``Location`` header, if any."""
    if not location:
        return None
    path = location.split("?", 1)[0]
    ids = [part for part in path.split("/") if part.startswith("rtc_")]
    return ids[-1] if ids else None


def describe_http_error(response: httpx.Response, what: str, hint: str = "") -> str:
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
        401: "Check the API key (OPENAI_API_KEY, or api_key=...).",
        403: "The key is not allowed to use this model or endpoint.",
        404: "Check base_url and the model or deployment name.",
        429: "Rate limit or quota reached; wait, or check your plan's limits.",
    }.get(response.status_code, "")
    if response.status_code >= 500:
        advice = "The service had a problem; try again in a moment."
    parts = [f"{what} failed with HTTP {response.status_code}: {detail}", hint or advice]
    return " ".join(p for p in parts if p)
