"""Colours for a terminal: step lines blue, cached steps cyan, warnings yellow, errors red, the summary green
(BuildKit's tty display uses the same hues). Only for a stream that is a terminal, never when ``NO_COLOR`` is
set to anything (https://no-color.org) or ``TERM`` is ``dumb``; plain and quiet output are never coloured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

RESET = "\x1b[0m"
STYLES = {
    "step": "\x1b[34m",
    "cached": "\x1b[36m",
    "warning": "\x1b[33m",
    "error": "\x1b[31m",
    "done": "\x1b[32m",
}


def wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether text for ``stream`` may be coloured, given the process environment ``environ``."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str, style: str | None, on: bool) -> str:
    """``text`` in ``style`` (a key of `STYLES`) when ``on``; as it is otherwise."""
    if not on or style is None:
        return text
    return f"{STYLES[style]}{text}{RESET}"


def paint_error(text: str, stream: TextIO, environ: Mapping[str, str]) -> str:
    """A rendered error (`builder.errors.render`) with its first line red, for ``stream``."""
    first, newline, rest = text.partition("\n")
    return paint(first, "error", wanted(stream, environ)) + newline + rest
