"""Shared sample data."""

from __future__ import annotations

# The usage block of an observed gpt-realtime response (reference/realtime-protocol.md 4.5);
# its worked example prices it at $0.0106136.
REFERENCE_USAGE = {
    "total_tokens": 320,
    "input_tokens": 132,
    "output_tokens": 188,
    "input_token_details": {
        "text_tokens": 59,
        "audio_tokens": 73,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 64, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 41, "audio_tokens": 147},
}
