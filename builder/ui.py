"""Build progress for people: one line per event, numbered by its step, a live view of running steps in a
terminal, and a closing summary.

Besides ``builder.cli`` (and the registry's transfer bars of ``pybuild pull``/``push``,
``builder.registry.progress``) this is the only module that prints; `builder.termview` renders its terminal
view. Steps may run concurrently, each in its own thread; every method here may be called from
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
    pull_image(..., progress=reporter.transfers())   # registry transfers: bars in the view, or lines
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

from builder import termview

#: Seconds between redraws of the terminal view (BuildKit's tty display redraws every 100-150 ms).
REFRESH = 0.15
#: Bytes of a step's output line held back waiting for its newline; a longer line is printed in parts.
MAX_LINE = 64 * 1024


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


class Reporter:
    """Receives build events from the build (any thread) and shows them; see the module's docstring.
    ``refresh``: seconds between redraws of the terminal view."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None, *, refresh: float = REFRESH) -> None:
        from builder import colours

        self.stream = stream or sys.stderr
        terminal = termview.is_terminal(self.stream)
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
        self._bars: list[termview.Bar] = []
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
        if len(step.partial) > MAX_LINE:  # output that never ends a line is not held in memory without end
            lines.append(step.partial)
            step.partial = b""
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
        bar = self._open_bar(termview.Bar(description, total, unit))

        def advance(n: int) -> None:
            with self._lock:
                bar.count += n

        try:
            yield advance
        finally:
            self._close_bar(bar, None)

    def _open_bar(self, bar: termview.Bar) -> termview.Bar:
        with self._lock:
            self._bars.append(bar)
            self._flush()  # drawn at once, however short the work
            self._start_ticker()
        return bar

    def _close_bar(self, bar: termview.Bar, last: str | None) -> None:
        """The bar leaves the view; ``last``, if given, stays as a line of no step."""
        with self._lock:
            if bar in self._bars:  # `close` may have dropped it
                self._bars.remove(bar)
            if last is not None:
                self._info_line(last)
            self._flush()

    def transfers(self) -> Transfers:
        """Progress for blob transfers (pulls during a build), with the interface of
        `builder.registry.progress.Transfers`, drawn through this reporter: bars in the terminal view, a line
        per blob begun and ended in plain mode, nothing when quiet — so that transfers while steps run share
        the screen with the view instead of drawing over it."""
        return Transfers(self)

    def close(self) -> None:
        """The build is over (or has failed): steps still running end without a line, bars still open are
        dropped, the terminal view is erased and its thread stopped. Idempotent; the reporter may still print
        lines afterwards."""
        with self._lock:
            for step in list(self._open.values()):
                self._end(step, "closed", "")
            self._bars.clear()  # bars of work that never ended (a transfer that failed)
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
        if self._drawn:
            parts.append(termview.erase(self._drawn))
        parts += [paint(text, style, self.colour) + "\n" for text, style in lines]
        view = self._view() if self._live else []
        parts += [line + "\n" for line in view]
        self._drawn = len(view)
        if parts:
            self.stream.write("".join(parts))
            self.stream.flush()

    def _view(self) -> list[str]:
        if not self._open and not self._bars:
            return []
        width, height = termview.terminal_size(self.stream)
        header = f"[+] Building {time.monotonic() - self.started:.1f}s ({self._ended}/{self._count})"
        steps = [(f"#{step.number} {step.name}", step.started) for step in self._open.values()]
        return termview.view(header, steps, self._bars, width, height)

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


class Transfers:
    """`Reporter.transfers`: `builder.registry.progress.Transfers`' interface over a reporter. Thread-safe."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self.mode = reporter.mode

    def line(self, text: str) -> None:
        if self.mode != "quiet":
            self._reporter.info(text)

    def note(self, digest: str, text: str) -> None:
        """One line about a blob that needs no transfer (``already exists``)."""
        self.line(f"{_short(digest)}: {text}")

    def task(self, digest: str, size: int | None, what: str) -> TransferTask:
        """Begin a transfer: a bar in the terminal view, else ``<short digest>: <what> (<size>)``."""
        if not self._reporter._live:
            from builder.units import human_size

            self.line(f"{_short(digest)}: {what}" + (f" ({human_size(size)})" if size else ""))
            return TransferTask(self, digest, None)
        return TransferTask(
            self, digest, self._reporter._open_bar(termview.Bar(_short(digest), size, "B", 1024))
        )


class TransferTask:
    """One blob's transfer; ``update(n)`` from any thread (n < 0 when a broken transfer starts over),
    ``done(note)`` ends it: the bar's last state stays as a line, or ``<short digest>: <note>``."""

    def __init__(self, owner: Transfers, digest: str, bar: termview.Bar | None) -> None:
        self._owner = owner
        self._bar = bar
        self.digest = digest

    def update(self, n: int) -> None:
        if self._bar is not None:
            with self._owner._reporter._lock:
                self._bar.count += n

    def done(self, note: str = "done") -> None:
        reporter = self._owner._reporter
        if self._bar is None:
            self._owner.line(f"{_short(self.digest)}: {note}")
            return
        width, _ = termview.terminal_size(reporter.stream)
        reporter._close_bar(self._bar, self._bar.render(width, time.monotonic(), postfix=note))


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]
