"""ONBUILD: record a trigger that runs when another build uses this image as its base."""

from __future__ import annotations

from builder.instructions.state import ImageState


def apply(state: ImageState, expression: str) -> str:
    """Append the trigger's text (``RUN echo hi``) to ``OnBuild``."""
    state.own_list("OnBuild").append(expression)
    return f"ONBUILD {expression}"
