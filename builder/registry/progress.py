"""Transfer progress: tqdm bars when stderr is a terminal, plain lines otherwise (CI logs), nothing if quiet.

`Transfers` hands out one `Task` per blob; a task's ``update(n)`` may be called from any thread (n may be
negative when a broken transfer starts over). Plain mode prints a line when a blob starts and when it ends.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


class Task:
    """Progress of one blob; ``done(note)`` ends it (``"done"``, ``"exists"``, ``"mounted"``…)."""

    def __init__(self, owner: Transfers, digest: str, size: int | None) -> None:
        self._owner = owner
        self.digest = digest
        self.size = size
        self._bar = None
        if owner.mode == "tty":
            from tqdm import tqdm

            self._bar = tqdm(
                total=size,
                desc=_short(digest),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=owner.stream,
                leave=True,
                position=owner.next_position(),
            )

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def done(self, note: str = "done") -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)
            self._bar.close()
        else:
            self._owner.line(f"{_short(self.digest)}: {note}")


class Transfers:
    """Progress for a set of blob transfers. ``mode``: ``auto`` (tty if ``stream`` is a terminal), ``tty``,
    ``plain`` or ``quiet``."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "tty" if self.stream.isatty() else "plain"
        self.mode = mode
        self._lock = threading.Lock()
        self._positions = 0

    def next_position(self) -> int:
        with self._lock:
            self._positions += 1
            return self._positions - 1

    def line(self, text: str) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def note(self, digest: str, text: str) -> None:
        """One line about a blob that needs no transfer (``already exists``); no bar in a terminal."""
        self.line(f"{_short(digest)}: {text}")

    def task(self, digest: str, size: int | None, what: str) -> Task:
        """Begin a transfer; in plain mode prints ``<short digest>: <what> (<size>)``."""
        if self.mode == "plain":
            from builder.units import human_size

            self.line(f"{_short(digest)}: {what}" + (f" ({human_size(size)})" if size else ""))
        return Task(self, digest, size)
