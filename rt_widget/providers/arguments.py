"""Checking what users pass to providers: keys, URLs, names, flows.

Keys are stripped of surrounding whitespace (a key read from a file or a CRLF ``.env`` ends in a
line break, which is never part of the key) and refused if anything inside could not be sent
in an HTTP header. No message here ever repeats a key.
"""

from __future__ import annotations

import os
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from .._checks import flag as flag  # re-exported: providers check their switches with it
from ..redaction import redact, remember

Flow = Literal["unified", "ephemeral"]
FLOWS = ("unified", "ephemeral")


def secret(value: object, name: str) -> str:
    """``value`` as a key or token to send: stripped, checked and registered for redaction.

    Parameters
    ----------
    value:
        What the user (or the environment, or a token provider) gave.
    name:
        How to call it in an error, e.g. ``"api_key"`` or ``"$OPENAI_API_KEY"``.

    Returns
    -------
    str
        The key without surrounding whitespace ("" when there is nothing else).

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If the key holds a space, line break, control character or non-ASCII character.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string (the key itself), not {type(value).__name__}.")
    key = value.strip()
    for position, char in enumerate(key, 1):
        if char.isascii() and char.isprintable() and not char.isspace():
            continue
        if char in "\r\n":
            kind = "a line break"
        elif char.isspace():
            kind = "a space or tab"
        elif not char.isascii() and char.isprintable():
            kind = "a character that is not ASCII (a typographic quote?)"
        else:
            kind = "a control character"
        raise ValueError(
            f"{name} contains {kind} at character {position} of {len(key)}; keys have none. "
            "Check that you copied the whole key and only the key."
        )
    remember(key)
    return key


def key_or_env(value: object, env: str, name: str = "api_key") -> str:
    """The key given, or else the one in the environment variable ``env`` ("" if neither)."""
    if value is not None:
        return secret(value, name)
    return secret(os.environ.get(env, ""), f"${env}")


def url(value: object, name: str) -> str:
    """An ``http(s)://`` URL without surrounding whitespace or a trailing slash.

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If it is not an http or https URL with a host.
    """
    example = "'https://api.openai.com/v1'" if name != "endpoint" else "'https://my-resource.openai.azure.com'"
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string such as {example}, not {type(value).__name__}.")
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises for a port that is not a number from 0 to 65535
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"{name}={redact(repr(text))} is not an http(s) URL with a host: use e.g. {example}.")
    return text.rstrip("/")


def name(value: object, what: str) -> str:
    """A deployment or resource name: a non-empty string without spaces or slashes.

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If it is empty or holds whitespace, a slash or a control character.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}.")
    text = value.strip()
    if not text or any(c.isspace() or c in "/?#" or not c.isprintable() for c in text):
        raise ValueError(f"{what}={text!r} is not valid: use the name as Azure shows it (no spaces or slashes).")
    return text


def flow(value: Any) -> Flow:
    """``"unified"`` or ``"ephemeral"``.

    Raises
    ------
    ValueError
        For anything else.
    """
    if not isinstance(value, str) or value not in FLOWS:
        raise ValueError(f"flow={value!r} is not valid: use 'unified' or 'ephemeral'.")
    return cast(Flow, value)
