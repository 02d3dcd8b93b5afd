"""USER: the user (and group) later RUN steps and the container run as."""

from __future__ import annotations

from builder.instructions.state import ImageState


def apply(state: ImageState, user: str) -> str:
    state.config["User"] = user
    return f"USER {user}"
