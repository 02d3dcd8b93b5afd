"""ENV: set environment variables in the image config."""

from __future__ import annotations

from builder.instructions.state import ImageState


def apply(state: ImageState, pairs: list[tuple[str, str]]) -> str:
    """Set each expanded ``(key, value)``; returns the history text (``ENV A=b C=d e``)."""
    for key, value in pairs:
        state.set_env(key, value)
    return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)
