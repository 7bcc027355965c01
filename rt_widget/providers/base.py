"""What every provider does: answer the browser's SDP offer, or tell the browser where to post it."""

from __future__ import annotations

import abc
import functools
import ipaddress
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ..config import SessionConfig
from ..redaction import protect_library_loggers, protect_logger, redact, remember

T = TypeVar("T")

CONNECT_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 30.0
TIMEOUT = httpx.Timeout(ANSWER_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Besides 5xx, the statuses worth trying again (OpenAI's own SDK retries the same)."""
EPHEMERAL_KEY_HINT = "it is the short-lived key minted for this call: connect again for a fresh one"
MAX_DETAIL_CHARS = 500
"""An error body longer than this (an HTML error page) is cut in the message."""

log = protect_logger(logging.getLogger(__name__))
protect_library_loggers()  # httpx and httpcore log requests at DEBUG; websockets logs headers


class ConnectError(Exception):
    """A call could not be set up; the message says what went wrong and what to do.

    The message is redacted when the error is made: whatever it quotes (a library's exception,
    a server's reply), it holds no key or token.

    Parameters
    ----------
    message:
        What went wrong and what to do.
    status:
        The HTTP status the service answered with, if it answered.
    retryable:
        Whether trying again later may succeed: a rate limit (429), a server error (5xx), a
        timeout or a broken connection, not a refused key or a bad setting.
    retry_after_s:
        How long the service asked to wait first (its ``Retry-After`` header), if it did.
    """

    def __init__(
        self,
        message: object,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(redact(message))
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s


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
    token: str = field(repr=False)
    """The ephemeral key, sent once to the browser as ``Authorization: Bearer`` (not in ``repr``)."""
    expires_at: int | None = None


@dataclass(frozen=True)
class Sideband:
    """How the kernel joins a running call over its own WebSocket."""

    url: str
    headers: dict[str, str] = field(repr=False)
    """They hold the key: not shown in ``repr``."""


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

    async def connect_live(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """Create a GPT-Live session for the offer (``session``: a LiveConfig's ``to_session()``)."""
        raise ConnectError(f"The {self.name} provider does not serve GPT-Live: use OpenAI, Azure or the emulator.")

    def live_sideband(self, session_id: str) -> Sideband | None:
        """The WebSocket that attaches to a GPT-Live session, or ``None``."""
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
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[:MAX_DETAIL_CHARS] + " ..."
    try:
        envelope = response.json().get("error") or {}
        detail = str(envelope.get("message") or envelope.get("code") or detail)[:MAX_DETAIL_CHARS]
    except (ValueError, AttributeError, TypeError):
        pass
    detail = detail.rstrip(". ") or response.reason_phrase or "no details given"
    advice = {
        400: "The service refused the request; the message above says what it did not accept.",
        401: f"Check the API key ({key_hint}).",
        403: "The key is not allowed to use this model or endpoint.",
        404: "Check base_url and the model or deployment name.",
        429: "Rate limit or quota reached; wait, or check your plan's limits.",
    }.get(response.status_code, "")
    if response.status_code >= 500:
        advice = "The service had a problem; try again in a moment."
    return redact(" ".join(p for p in (f"{what} failed with HTTP {response.status_code}: {detail}.", advice) if p))


def describe_transport_error(exc: Exception, url: str, what: str) -> str:
    """A one-line, secret-free description of a request that got no HTTP answer.

    A server that was reached but was slow to answer is told apart from one that could not be
    reached at all.
    """
    where = url.split("?", 1)[0]
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return (
            f"Could not reach {where}: no connection within {CONNECT_TIMEOUT_S:g} s ({name}). "
            "Check the network and base_url."
        )
    if isinstance(exc, httpx.ConnectError):
        return f"Could not reach {where} ({name}: {exc}). Check the network and base_url."
    if isinstance(exc, httpx.TimeoutException):  # read or write: the server was reached
        return (
            f"{what}: {where} was reached but did not answer within {ANSWER_TIMEOUT_S:g} s ({name}). "
            "The service may be busy: try again in a moment."
        )
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return (
            f"{what}: the connection to {where} broke before the answer came ({name}: {exc}). "
            "Try again; if it keeps happening, check base_url and any proxy in between."
        )
    return f"{what}: the request to {where} could not be made ({name}: {exc}). Check base_url."


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every request.

    Building one loads the CA bundle: about 60 ms of CPU per request that would stall the event
    loop, and the audio of every call on it.
    """
    return httpx.create_ssl_context()


async def post(url: str, what: str, key_hint: str, *, expect: int, **kwargs: Any) -> httpx.Response:
    """POST with errors turned into :class:`ConnectError` (network failures included)."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, verify=_tls()) as client:
            response = await client.post(url, **kwargs)
    except httpx.InvalidURL as exc:
        raise ConnectError(describe_transport_error(exc, url, what)) from None
    except httpx.HTTPError as exc:  # no answer: the network or the service may recover
        raise ConnectError(describe_transport_error(exc, url, what), retryable=True) from None
    if response.status_code != expect:
        status = response.status_code
        retryable = status in RETRYABLE_STATUSES or status >= 500
        raise ConnectError(
            describe_http_error(response, what, key_hint),
            status=status,
            retryable=retryable,
            retry_after_s=_seconds(response.headers.get("retry-after")),
        )
    return response


def _seconds(header: str | None) -> float | None:
    """A ``Retry-After`` of seconds (its HTTP-date form is rare from these services: ignored)."""
    try:
        seconds = float(header) if header else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 3600 else None


async def guarded(what: str, work: Awaitable[T]) -> T:
    """Await ``work``; any error but :class:`ConnectError` becomes one, with a redacted message.

    A provider's ``connect`` runs its work through this, so that nothing unexpected (a token
    provider that raises, a reply of the wrong shape) reaches the page with a secret in it.
    """
    try:
        return await work
    except ConnectError:
        raise
    except Exception as exc:
        log.debug("%s failed", what, exc_info=True)  # the logger redacts the traceback
        raise ConnectError(f"Unexpected {type(exc).__name__} while {what}: {exc}") from None


def ws_url(http_url: str) -> str:
    """``http(s)://`` to ``ws(s)://``."""
    return "ws" + http_url.removeprefix("http")


async def mint(url: str, key_hint: str, headers: dict[str, str], body: dict[str, Any], calls_url: str) -> DirectCall:
    """Mint an ephemeral key at ``url``; the browser will post its offer to ``calls_url``."""
    what = "Minting an ephemeral key"
    minted = await post(url, what, key_hint, expect=200, headers=headers, json=body)
    token, expires_at = ephemeral_key(minted, what, lambda data: data)
    return DirectCall(calls_url, token, expires_at)


def ephemeral_key(response: httpx.Response, what: str, pick: Callable[[Any], Any]) -> tuple[str, int | None]:
    """The ``value`` and ``expires_at`` of a minted key (``pick`` finds the object holding them).

    The key is registered for redaction before anything else is done with it.
    """
    try:
        secret = pick(response.json())
        token, expires_at = secret["value"], secret.get("expires_at")
    except (ValueError, TypeError, KeyError, AttributeError):
        token = None
    if not isinstance(token, str) or not token.strip():
        raise ConnectError(
            f"{what}: {str(response.url).split('?', 1)[0]} answered HTTP {response.status_code} but not with a key "
            "(no 'value' string in the reply). Check base_url: it may point at something else."
        )
    remember(token.strip(), short_lived=True)
    if isinstance(expires_at, bool) or not isinstance(expires_at, int):
        expires_at = None
    return token.strip(), expires_at


async def relay(
    url: str, key_hint: str, headers: dict[str, str], offer_sdp: str, session: dict[str, Any]
) -> CallAnswer:
    """Post the browser's offer with the session as multipart (the unified interface)."""
    files = {
        "sdp": (None, offer_sdp, "application/sdp"),
        "session": (None, json.dumps(session), "application/json"),
    }
    what = "Creating the call"
    response = await post(url, what, key_hint, expect=201, files=files, headers=headers)
    return _sdp_answer(response, url, what)


async def post_offer(url: str, token: str, offer_sdp: str) -> CallAnswer:
    """Post a raw ``application/sdp`` offer with an ephemeral key, as a browser does.

    This is the second half of the mint-then-direct flow (the beta shape's only one), for a
    peer without a page: the kernel itself.

    Parameters
    ----------
    url:
        Where the provider said to post the offer (a :class:`DirectCall`'s ``url``).
    token:
        The ephemeral key minted for this call (registered for redaction when it was minted).
    offer_sdp:
        The peer's SDP offer.

    Returns
    -------
    CallAnswer
        The service's SDP answer and the call's id, when it sends one.

    Raises
    ------
    ConnectError
        The service could not be reached, refused the offer (with its HTTP status and whether
        trying again may help), or answered with something other than SDP.
    """
    what = "Posting the SDP offer"
    remember(token, short_lived=True)  # already done when minted; kept here so no path misses it
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"}
    response = await post(url, what, EPHEMERAL_KEY_HINT, expect=201, content=offer_sdp, headers=headers)
    return _sdp_answer(response, url, what)


NOT_RETRIED = "It was not tried again: each GPT-Live create bills 15 s up front."


async def create_live_session(
    url: str, key_hint: str, headers: dict[str, str], offer_sdp: str, session: dict[str, Any]
) -> CallAnswer:
    """Create a GPT-Live session over WebRTC: the offer and the session as JSON, once.

    The session's id (``live_...``) is the call's id. A create is never retried by rt-widget
    (an experiment's retries included): each one bills 15 s up front, so its error says it
    may not be retried automatically, whatever the status.
    """
    what = "Creating the GPT-Live session"
    body = {"session": session, "transport": {"type": "webrtc", "sdp": offer_sdp}}
    try:
        response = await post(url, what, key_hint, expect=201, headers=headers, json=body)
    except ConnectError as exc:
        raise ConnectError(f"{exc} {NOT_RETRIED}", status=exc.status, retry_after_s=exc.retry_after_s) from None
    try:
        reply = response.json()
        session_id, sdp = reply["session"]["id"], reply["transport"]["sdp"]
    except (ValueError, TypeError, KeyError):
        session_id = sdp = None
    if not isinstance(session_id, str) or not isinstance(sdp, str) or not sdp.lstrip().startswith("v="):
        raise ConnectError(
            f"{what}: {url} answered HTTP 201 without a session id and an SDP answer. "
            "Check base_url: it may point at something else."
        )
    return CallAnswer(sdp, session_id)


def _sdp_answer(response: httpx.Response, url: str, what: str) -> CallAnswer:
    """The answer in a 201 reply to an offer, refused if it is not SDP (a wrong ``base_url``)."""
    if not response.text.lstrip().startswith("v="):
        raise ConnectError(
            f"{what}: {url.split('?', 1)[0]} answered HTTP 201 but not with an SDP answer. "
            "Check base_url: it may point at something else."
        )
    return CallAnswer(response.text, call_id_from_location(response.headers.get("location")))


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is this machine's loopback (``localhost``, 127.0.0.0/8, ``::1``).

    A headless call to a service there (an emulator) must offer 127.0.0.1 as its ICE
    candidate: aioice offers only the machine's other addresses.
    """
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
