"""The emulator's token accounting: deterministic, with the service's usage shape.

Text costs one token per four characters, user audio one token per 100 ms and model audio
one per 50 ms (the service's published rates); each item adds a few tokens of overhead. The
whole conversation is input to every response, and the previous response's input, in whole
64-token blocks, counts as cached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .model import Context, item_text

ITEM_OVERHEAD = 4
CACHE_BLOCK = 64


def text_tokens(text: str) -> int:
    """One token per four characters."""
    return math.ceil(len(text) / 4) if text else 0


class UsageMeter:
    """Counts each response's usage and the session's running total."""

    def __init__(self) -> None:
        self._last_input = 0
        self.used = 0
        """Tokens used so far in the session."""

    def count(
        self,
        context: Context,
        output: dict[str, Any] | None,
        *,
        user_audio_ms: Mapping[str, float],
        model_audio_ms: Mapping[str, float],
    ) -> dict[str, Any]:
        """The ``usage`` object of one response over ``context`` that produced ``output``."""
        text_in = text_tokens(context.instructions)
        audio_in = 0
        for entry in context.items:
            words = item_text(entry) or str(entry.get("arguments") or entry.get("output") or "")
            text_in += ITEM_OVERHEAD + text_tokens(words)
            entry_id = str(entry.get("id"))
            audio_in += math.ceil(user_audio_ms.get(entry_id, 0) / 100)
            audio_in += math.ceil(model_audio_ms.get(entry_id, 0) / 50)
        text_out = audio_out = 0
        if output is not None:
            text_out = text_tokens(item_text(output) or str(output.get("arguments") or ""))
            audio_out = math.ceil(model_audio_ms.get(output["id"], 0) / 50)
        cached = min(self._last_input // CACHE_BLOCK * CACHE_BLOCK, text_in + audio_in)
        cached_text = min(cached, text_in)
        self._last_input = text_in + audio_in
        self.used += text_in + audio_in + text_out + audio_out
        return {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": audio_in,
                "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {
                    "text_tokens": cached_text,
                    "audio_tokens": cached - cached_text,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }
