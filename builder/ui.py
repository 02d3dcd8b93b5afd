"""Build progress for people: a numbered block of lines per step, the steps' output prefixed, a closing summary.

Besides ``builder.cli`` (and the registry's transfer bars, ``builder.registry.progress``) this is the only
module that prints. Steps may run concurrently, each in its own thread; every method here may be called from
any thread at any time (one lock serialises the state and the writes).

The API::

    reporter = Reporter(mode)                    # "auto" (tty on a terminal), "tty", "plain", "quiet"
    step = reporter.step("[build 2/5]", "RUN make")   # a StepProgress, numbered #1, #2, … as steps begin
    step.reason("first build")                   # why it runs (its cache miss explained)
    step.output(b"chunk of the process's output")
    with step.progress("committing layer", total=size) as advance:   # a bar in the terminal view
        advance(n)
    step.done()    # or step.cached(), step.failed(message), step.cancelled(), step.close()
    reporter.info("exporting to oci: out.tar")   # a line of no step
    reporter.summary(ran, cached, image_id, size)
    reporter.close()                             # the build is over: the terminal view is erased

A step ends with the first of ``cached``, ``done``, ``failed``, ``cancelled`` or ``close`` (``close``: ends it
without an outcome line, as a config-only step whose header says all); every later call on its handle is
ignored, so a caller may end a step in a ``finally`` without knowing whether it already ended.

Plain mode (CI logs, ``--progress=plain``) writes one line per event in BuildKit's plain progress shape: every
line of a step is prefixed with its ``#N`` (its header ``#N [stage 2/5] RUN …``, ``#N running: why``, output
lines ``#N  12.34s text`` stamped with the time since the build began, ``#N DONE 1.2s``, ``#N CACHED``, ``#N
ERROR: message`` or ``#N CANCELED``), and a blank line comes before each step's header and between lines of
steps and lines of none (warnings, exports, the summary). BuildKit holds back the lines of all running steps
but one, to print them later in blocks; pybuild prints each line as it comes, so lines of concurrent steps
interleave, each naming its step. Partial output lines are kept per step until their newline (or the step's
end), so a line is never split by another step's. Quiet mode prints nothing.

Terminal mode prints the same lines, coloured (`builder.colours`), and below them a view redrawn in place a few
times a second by a background thread while anything is live: ``[+] Building 3.2s (5/9)`` (steps ended/begun),
one line per running step with its elapsed seconds, and the tqdm bars of `progress`. Ended steps' lines scroll
up above it. The view is drawn only on a stream that is a terminal: ``tty`` forced onto anything else prints the
lines alone, with no escape sequences.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

#: Seconds between redraws of the terminal view (BuildKit's tty display redraws every 100-150 ms).
REFRESH = 0.15


class StepProgress:
    """The progress of one step, from `Reporter.step`. Thread-safe; see the module's docstring for the
    contract. ``number`` is the step's ``#N``; ``outcome`` is None while it runs, then one of ``done``,
    ``cached``, ``failed``, ``cancelled``, ``closed``."""

    def __init__(self, reporter: Reporter, number: int, label: str, text: str) -> None:
        self.number = number
        self.label = label
        self.text = text
        self.started = time.monotonic()
        self.ended: float | None = None
        self.outcome: str | None = None
        self.partial = b""  # output after its last newline, kept until the rest of the line comes
        self._reporter = reporter

    @property
    def name(self) -> str:
        """``[stage 2/5] RUN make``: the step's label and instruction."""
        return f"{self.label} {self.text}"

    def cached(self) -> None:
        """The step's result came from the cache; the step ends."""
        self._reporter._end(self, "cached", "")

    def reason(self, why: str) -> None:
        """Why the step runs (its cache miss explained)."""
        self._reporter._event(self, "reason", why)

    def output(self, chunk: bytes) -> None:
        """A chunk of the step's process output (any split: lines are reassembled per step)."""
        self._reporter._event(self, "output", chunk)

    def done(self) -> None:
        """The step ran and succeeded; the step ends."""
        self._reporter._end(self, "done", "")

    def failed(self, message: str) -> None:
        """The step failed with ``message`` (the CLI prints the located error itself); the step ends."""
        self._reporter._end(self, "failed", message)

    def cancelled(self) -> None:
        """The step was stopped because another failed; the step ends (BuildKit's ``CANCELED``)."""
        self._reporter._end(self, "cancelled", "")

    def close(self) -> None:
        """The step ends without an outcome line (a config-only step); a no-op on an ended step."""
        self._reporter._end(self, "closed", "")

    def progress(
        self, description: str, total: int | None = None, unit: str = "B"
    ) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        """A bar for long work of this step; as `Reporter.progress`."""
        return self._reporter.progress(description, total, unit)


class _Bar:
    """One bar of the terminal view, drawn by tqdm's own formatter."""

    def __init__(self, description: str, total: int | None, unit: str) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.count = 0
        self.started = time.monotonic()

    def render(self, width: int, now: float) -> str:
        from tqdm import tqdm

        return tqdm.format_meter(
            self.count, self.total, now - self.started, ncols=width - 1, prefix=self.description,
            unit=self.unit, unit_scale=True,
        )  # fmt: skip


class Reporter:
    """Receives build events from the build (any thread) and shows them; see the module's docstring.
    ``refresh``: seconds between redraws of the terminal view."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None, *, refresh: float = REFRESH) -> None:
        from builder import colours

        self.stream = stream or sys.stderr
        terminal = _isatty(self.stream)
        if mode == "auto":
            mode = "tty" if terminal else "plain"
        self.mode = mode
        # colours only in the terminal display, as BuildKit's; plain output stays plain wherever it goes
        self.colour = mode == "tty" and colours.wanted(self.stream, os.environ)
        self.started = time.monotonic()
        self.refresh = refresh
        self._lock = threading.RLock()
        self._count = 0  # steps begun
        self._ended = 0
        self._open: dict[int, StepProgress] = {}  # steps running, in the order they began
        self._in_steps = False  # whether the last line written was a step's
        self._written = False
        self._pending: list[tuple[str, str | None]] = []
        self._live = mode == "tty" and terminal  # draw the view below the lines
        self._bars: list[_Bar] = []
        self._drawn = 0  # lines of the view now on the screen, above the cursor
        self._ticker: threading.Thread | None = None
        self._wake = threading.Event()

    # --- steps ------------------------------------------------------------------------------------------
    def step(self, label: str, text: str) -> StepProgress:
        """A step begins: ``label`` like ``[build 2/5]``, ``text`` the instruction as written."""
        with self._lock:
            self._count += 1
            step = StepProgress(self, self._count, label, text)
            self._open[step.number] = step
            self._began(step)
            self._flush()
            self._start_ticker()
        return step

    def _event(self, step: StepProgress, kind: str, value) -> None:
        with self._lock:
            if step.outcome is not None:
                return
            if kind == "reason":
                self._reasoned(step, value)
            else:
                self._output(step, value)
            self._flush()

    def _end(self, step: StepProgress, outcome: str, message: str) -> None:
        with self._lock:
            if step.outcome is not None:
                return
            step.outcome, step.ended = outcome, time.monotonic()
            self._open.pop(step.number, None)
            self._ended += 1
            self._finished(step, message)
            self._flush()

    # What a reporter shows for each event; called with the lock held. `RawJsonReporter` overrides these.
    def _began(self, step: StepProgress) -> None:
        self._begin_block(step)

    def _reasoned(self, step: StepProgress, why: str) -> None:
        self._line(step, f"running: {why}")

    def _output(self, step: StepProgress, chunk: bytes) -> None:
        *lines, step.partial = (step.partial + chunk).split(b"\n")
        for line in lines:
            self._output_line(step, line)

    def _output_line(self, step: StepProgress, line: bytes) -> None:
        self._line(step, f"{time.monotonic() - self.started:6.2f}s {line.decode('utf-8', 'replace')}")

    def _finished(self, step: StepProgress, message: str) -> None:
        if step.partial:
            partial, step.partial = step.partial, b""
            self._output_line(step, partial)
        if step.outcome == "done":
            self._line(step, f"DONE {step.ended - step.started:.1f}s")
        elif step.outcome == "cached":
            self._line(step, "CACHED", "cached")
        elif step.outcome == "failed":
            self._line(step, f"ERROR: {message}", "error")
        elif step.outcome == "cancelled":
            self._line(step, "CANCELED")

    # --- lines of no step -------------------------------------------------------------------------------
    def info(self, text: str) -> None:
        """A line of no step (a warning, ``exporting to oci: out.tar``)."""
        with self._lock:
            self._info_line(text, "warning" if "warning:" in text else None)
            self._flush()

    def summary(self, ran: int, cached: int, image_id: str, size: int) -> None:
        from builder.units import human_size

        elapsed = time.monotonic() - self.started
        shown = image_id[7:19] if image_id.startswith("sha256:") else image_id
        text = f"built {shown} in {elapsed:.1f}s: {ran} steps ran, {cached} cached, {human_size(size)}"
        with self._lock:
            self._info_line(text, "done")
            self._flush()

    @contextlib.contextmanager
    def progress(
        self, description: str, total: int | None = None, unit: str = "B"
    ) -> Iterator[Callable[[int], None]]:
        """A progress bar for long work (hashing a context, committing a layer, exporting) in the terminal
        view; yields ``advance(n)``, callable from any thread. Plain and quiet modes show nothing: the step
        lines already say what runs."""
        if not self._live:
            yield lambda n: None
            return
        bar = _Bar(description, total, unit)

        def advance(n: int) -> None:
            with self._lock:
                bar.count += n

        with self._lock:
            self._bars.append(bar)
            self._flush()  # drawn at once, however short the work
            self._start_ticker()
        try:
            yield advance
        finally:
            with self._lock:
                self._bars.remove(bar)
                self._flush()

    def close(self) -> None:
        """The build is over (or has failed): steps still running end without a line, the terminal view is
        erased and its thread stopped. Idempotent; the reporter may still print lines afterwards."""
        with self._lock:
            for step in list(self._open.values()):
                self._end(step, "closed", "")
            self._flush()
            ticker = self._ticker
        self._wake.set()
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join()

    # --- writing ----------------------------------------------------------------------------------------
    def _begin_block(self, step: StepProgress | None) -> None:
        """Start a block: ``step``'s header, or (None) lines of no step; blocks are apart by a blank line."""
        if self._written:
            self._say("")
        self._in_steps = step is not None
        if step is not None:
            self._say(f"#{step.number} {step.name}", "step")

    def _line(self, step: StepProgress, text: str, style: str | None = None) -> None:
        if not self._in_steps:  # after lines of no step, a step's lines start a block again
            self._begin_block(step)
        self._say(f"#{step.number} {text}", style)

    def _info_line(self, text: str, style: str | None = None) -> None:
        if self._in_steps or not self._written:
            self._begin_block(None)
        self._say(text, style)

    def _say(self, text: str, style: str | None = None) -> None:
        self._pending.append((text, style))
        self._written = True

    def _flush(self) -> None:
        """Write the pending lines, and in a terminal redraw the view below them."""
        lines, self._pending = self._pending, []
        if self.mode == "quiet":
            return
        from builder.colours import paint

        parts = []
        if self._drawn:  # back to the view's first line, and clear it and everything below
            parts.append(f"\r\x1b[{self._drawn}A\x1b[J")
        parts += [paint(text, style, self.colour) + "\n" for text, style in lines]
        view = self._view() if self._live else []
        parts += [line + "\n" for line in view]
        self._drawn = len(view)
        if parts:
            self.stream.write("".join(parts))
            self.stream.flush()

    def _view(self) -> list[str]:
        """The terminal view's lines, each narrower than the terminal (a wrapped line would break the
        redraw) and no more than fit on it; none when nothing is live."""
        if not self._open and not self._bars:
            return []
        width, height = _size(self.stream)
        now = time.monotonic()
        lines = [_fit(f"[+] Building {now - self.started:.1f}s ({self._ended}/{self._count})", "", width)]
        for step in self._open.values():
            lines.append(_fit(f"#{step.number} {step.name}", f"{now - step.started:.1f}s", width))
        lines += [bar.render(width, now)[: width - 1] for bar in self._bars]
        room = max(2, height - 2)
        if len(lines) > room:
            lines[room - 1 :] = [f"... and {len(lines) - room + 1} more"]
        return lines

    def _start_ticker(self) -> None:
        if self._live and self._ticker is None and (self._open or self._bars):
            self._wake.clear()
            self._ticker = threading.Thread(target=self._tick, name="progress-view", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        """Redraw the view (its timers) until nothing is live."""
        while True:
            self._wake.wait(self.refresh)
            with self._lock:
                if not self._open and not self._bars:
                    self._ticker = None
                    self._flush()
                    return
                self._flush()


def _fit(name: str, timer: str, width: int) -> str:
    """``name`` on one line, cut to leave ``timer`` right-aligned within ``width - 1`` columns."""
    name = "".join(c if c.isprintable() else " " for c in name.split("\n", 1)[0])
    room = max(1, width - 1 - (len(timer) + 1 if timer else 0))
    if len(name) > room:
        name = name[: max(0, room - 3)] + "..."
    return f"{name.ljust(room)} {timer}" if timer else name


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _size(stream: TextIO) -> tuple[int, int]:
    """The terminal's columns and lines (80x24 when the stream has no terminal size)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return 80, 24
    return size.columns or 80, size.lines or 24
