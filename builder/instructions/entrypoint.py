"""ENTRYPOINT: the executable of the image."""

from __future__ import annotations

from builder.gofmt import quote_list
from builder.instructions.cmd import resolve, set_or_drop
from builder.instructions.state import ImageState


def apply(state: ImageState, args: list[str], exec_form: bool) -> str:
    """Set ``Entrypoint``; an inherited CMD is dropped unless this stage set one (BuildKit's rule).
    ``ENTRYPOINT []`` removes the key: BuildKit writes no empty list (the config's digest depends on it)."""
    argv = resolve(state, args, exec_form)
    set_or_drop(state, "Entrypoint", argv)
    if not state.cmd_set:
        state.config.pop("Cmd", None)
    return f"ENTRYPOINT {quote_list(argv)}"
