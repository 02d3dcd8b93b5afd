"""MAINTAINER (deprecated): set the image's ``author``."""

from __future__ import annotations

from builder.instructions.state import ImageState


def apply(state: ImageState, name: str) -> str:
    state.document["author"] = name
    return f"MAINTAINER {name}"
