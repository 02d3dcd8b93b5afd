"""The terminal view of build progress, drawn below the scrolling lines (`builder.ui`): pure rendering.

`view` turns what is live (running steps, bars) into lines that each fit on one terminal row — a wrapped line
would make the redraw, which moves the cursor up by the number of lines drawn, land in the wrong place — and no
more of them than fit on the screen. `erase` gives the escape sequence that takes the cursor back up over a
drawn view and clears it. Nothing here writes: `builder.ui.Reporter` does, under its lock.
"""

from __future__ import annotations

import os
import time
from typing import TextIO


def erase(lines: int) -> str:
    """Back to the first of ``lines`` drawn above the cursor, and clear them and everything below."""
    return f"\r\x1b[{lines}A\x1b[J" if lines else ""


class Bar:
    """One bar of the view, drawn by tqdm's own formatter (the look of tqdm's bars). ``count`` is advanced by
    its owner under the reporter's lock; ``divisor`` 1024 for transfers, as the registry's bars use."""

    def __init__(self, description: str, total: int | None, unit: str = "B", divisor: int = 1000) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.divisor = divisor
        self.count = 0
        self.started = time.monotonic()

    def render(self, width: int, now: float, postfix: str | None = None) -> str:
        """The bar, at most ``width - 1`` columns wide."""
        from tqdm import tqdm

        text = tqdm.format_meter(
            self.count, self.total, now - self.started, ncols=width - 1, prefix=self.description,
            unit=self.unit, unit_scale=True, unit_divisor=self.divisor, postfix=postfix,
        )  # fmt: skip
        return text[: width - 1]


def view(header: str, steps: list[tuple[str, float]], bars: list[Bar], width: int, height: int) -> list[str]:
    """The view's lines: ``header``, one line per running step (its name and seconds since it began,
    right-aligned), the bars; at most ``height - 2`` lines, the rest summed up as ``... and N more``."""
    now = time.monotonic()
    lines = [fit(header, "", width)]
    lines += [fit(name, f"{now - started:.1f}s", width) for name, started in steps]
    lines += [bar.render(width, now) for bar in bars]
    room = max(2, height - 2)
    if len(lines) > room:
        lines[room - 1 :] = [f"... and {len(lines) - room + 1} more"]
    return lines


def fit(name: str, timer: str, width: int) -> str:
    """``name``'s first line, control characters blanked, cut to leave ``timer`` right-aligned within
    ``width - 1`` columns."""
    name = "".join(c if c.isprintable() else " " for c in name.split("\n", 1)[0])
    room = max(1, width - 1 - (len(timer) + 1 if timer else 0))
    if len(name) > room:
        name = name[: max(0, room - 3)] + "..."
    return f"{name.ljust(room)} {timer}" if timer else name


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_size(stream: TextIO) -> tuple[int, int]:
    """The terminal's columns and lines (80x24 when the stream has no terminal size)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return 80, 24
    return size.columns or 80, size.lines or 24
