"""Build progress for people: one line per step, the step's output prefixed, and a closing summary.

Besides ``builder.cli`` (and the registry's transfer bars, ``builder.registry.progress``) this is the only
module that prints. The plain form (CI logs, ``--progress=plain``) writes timestamped lines; the terminal form
shows the same lines plus tqdm bars for long work (committing a layer, exporting). ``quiet`` prints nothing
but errors.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO


class Reporter:
    """Receives build events from the executor. Thread-compatible for output chunks of one step at a time."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None) -> None:
        import os

        from builder import colours

        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "tty" if self.stream.isatty() else "plain"
        self.mode = mode
        # colours only in the terminal display, as BuildKit's; plain output stays plain wherever it goes
        self.colour = mode == "tty" and colours.wanted(self.stream, os.environ)
        self.started = time.monotonic()
        self._step = 0
        self._step_started = 0.0
        self._partial = b""

    def _write(self, text: str, style: str | None = None) -> None:
        if self.mode != "quiet":
            from builder.colours import paint

            self.stream.write(paint(text, style, self.colour) + "\n")
            self.stream.flush()

    def _stamp(self) -> str:
        return f"{time.monotonic() - self.started:6.2f}s"

    def step(self, label: str, text: str) -> None:
        """A step begins: ``label`` like ``[build 2/5]``, ``text`` the instruction as written."""
        self._flush_partial()
        self._step += 1
        self._step_started = time.monotonic()
        self._write(f"#{self._step} {label} {text}", "step")

    def cached(self) -> None:
        self._write(f"#{self._step} CACHED", "cached")

    def reason(self, why: str) -> None:
        """Why a step runs (its cache miss explained)."""
        self._write(f"#{self._step} running: {why}")

    def output(self, chunk: bytes) -> None:
        """Process output, printed line by line with the step's number."""
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._write(f"#{self._step} {self._stamp()} {line.decode('utf-8', 'replace')}")

    def _flush_partial(self) -> None:
        if self._partial:
            partial, self._partial = self._partial, b""
            self._write(f"#{self._step} {self._stamp()} {partial.decode('utf-8', 'replace')}")

    def done(self) -> None:
        self._flush_partial()
        self._write(f"#{self._step} DONE {time.monotonic() - self._step_started:.2f}s")

    def failed(self, message: str) -> None:
        """The current step failed with ``message``; the CLI prints the error itself, so lines say nothing."""
        self._flush_partial()

    def info(self, text: str) -> None:
        self._flush_partial()
        self._write(text, "warning" if "warning:" in text else None)

    @contextlib.contextmanager
    def progress(
        self, description: str, total: int | None = None, unit: str = "B"
    ) -> Iterator[Callable[[int], None]]:
        """A progress bar for long work (hashing a context, committing a layer, exporting) in a terminal;
        yields ``advance(n)``. Plain and quiet modes show nothing: the step lines already say what runs."""
        if self.mode != "tty":
            yield lambda n: None
            return
        from tqdm import tqdm

        with tqdm(
            total=total, desc=description, unit=unit, unit_scale=True, leave=False, file=self.stream
        ) as bar:
            yield bar.update

    def summary(self, ran: int, cached: int, image_id: str, size: int) -> None:
        from builder.units import human_size

        elapsed = time.monotonic() - self.started
        shown = image_id[7:19] if image_id.startswith("sha256:") else image_id
        text = f"built {shown} in {elapsed:.1f}s: {ran} steps ran, {cached} cached, {human_size(size)}"
        self._write(text, "done")
