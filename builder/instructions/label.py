"""LABEL: add labels to the image config."""

from __future__ import annotations

from builder.instructions.state import ImageState


def apply(state: ImageState, pairs: list[tuple[str, str]]) -> str:
    """Set each expanded ``(key, value)`` label; returns the history text (``LABEL a=1 b=2``)."""
    labels = state.own_map("Labels")
    for key, value in pairs:
        labels[key] = value
    return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)
