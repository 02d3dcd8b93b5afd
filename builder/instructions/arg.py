"""ARG: declares build arguments; changes no config, but BuildKit records it in the history."""

from __future__ import annotations


def history_text(declarations: list[tuple[str, str | None]]) -> str:
    """``ARG NAME`` or ``ARG NAME=default`` for each declaration (defaults as expanded, not overrides)."""
    return "ARG " + " ".join(name if default is None else f"{name}={default}" for name, default in declarations)
