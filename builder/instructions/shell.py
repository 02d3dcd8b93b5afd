"""SHELL: the shell that shell-form RUN, CMD and ENTRYPOINT run through."""

from __future__ import annotations

from builder.gofmt import plain_list
from builder.instructions.state import ImageState


def apply(state: ImageState, shell: list[str]) -> str:
    state.config["Shell"] = list(shell)
    return f"SHELL {plain_list(shell)}"
