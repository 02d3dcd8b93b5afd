"""VOLUME: declare mount points in the image config."""

from __future__ import annotations

from builder.errors import BuildError
from builder.gofmt import plain_list
from builder.instructions.state import ImageState


def apply(state: ImageState, paths: list[str]) -> str:
    """Add each expanded path to ``Volumes``; an empty path is an error, as in BuildKit."""
    volumes = state.own_map("Volumes")
    for path in paths:
        if not path.strip():
            raise BuildError("VOLUME specified can not be an empty string")
        volumes[path] = {}
    return f"VOLUME {plain_list(paths)}"
