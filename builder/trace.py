"""A picture of the build (``--trace FILE``): the timeline of its ops as Chrome trace-event JSON.

The solver feeds one `Timeline` per build, from any thread::

    timeline = Timeline()
    span = timeline.begin("[build 2/5] RUN make (Buildfile:7)", after=[span_of_parent, span_of_copy_source])
    ...                                          # the op runs in this thread
    timeline.end(span, cached=False)             # or cached=True, or failed=True
    timeline.write(Path("trace.json"))

`Timeline.begin` records the start time and the calling thread as the span's track, and returns the span's id
(0, 1, 2, … in the order spans begin); ``after`` names the spans whose results this op waited for (ids that
`begin` returned before). `Timeline.end` records the end time and the outcome. Every method may be called from
any thread at any time; one lock guards the state. Each thread that begins a span is a track of its own: run
ops on a pool of worker threads (a thread per op would make a track per op), one op at a time per thread, so
the spans of one track never overlap. `Timeline.end` may be called from another thread than `begin`.

`Timeline.write` writes the trace-event format's "JSON Object Format" (``{"traceEvents": [...]}``), which
Perfetto (ui.perfetto.dev) and chrome://tracing open:

* process ``pybuild`` (``pid`` 1); one track (``tid``) per worker thread, numbered from 1 in the order threads
  first began a span, named ``worker N`` by ``thread_name`` metadata events (``ph: "M"``);
* one complete event (``ph: "X"``, ``ts`` and ``dur`` in microseconds since the timeline was made) per span,
  named as the solver named it, ``cat`` ``step`` (an op) or ``read`` (a step's inputs read ahead of it,
  which the step then waits for), ``args``: ``cached`` (true/false), ``failed``,
  ``critical_path`` (true/false), ``id`` and ``after`` (span ids), and ``unfinished: true`` for a span
  still open when the trace was written (drawn up to that moment);
* the critical path: the span that ends last, then, repeatedly, the one among the spans it waited for
  (``after``) that ends last — the chain that decided when the build ended. Its spans carry
  ``args.critical_path = true`` and the colour ``cname`` `CRITICAL` (cached spans off it `CACHED`, failed ones
  `FAILED`, the rest the viewer's default).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

#: Reserved colour names of the trace viewer (catapult's colour scheme), which Perfetto accepts too.
CRITICAL = "terrible"
CACHED = "generic_work"
FAILED = "bad"

PID = 1


@dataclass
class Span:
    """One op's time: ``start``/``end`` in nanoseconds of the timeline's clock, ``track`` its worker."""

    id: int
    name: str
    track: int
    start: int
    after: tuple[int, ...]
    end: int | None = None
    #: ``step`` for an op; ``read`` for a step's inputs read ahead of it (`builder.solver.readahead`)
    category: str = "step"
    cached: bool = False
    failed: bool = False


class Timeline:
    """The spans of one build; see the module's docstring for the contract. Thread-safe. ``clock`` gives the
    time in nanoseconds (a monotonic clock; tests pass their own)."""

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._origin = clock()
        self._spans: list[Span] = []
        # thread → track number; by the thread itself, as a finished thread's ident may be given to a new one
        self._tracks: dict[threading.Thread, int] = {}

    def begin(self, name: str, *, after: Iterable[int] = (), category: str = "step") -> int:
        """An op named ``name`` starts now on the calling thread, having waited for the spans ``after``;
        returns its span id. ``category`` is the event's ``cat``: ``step`` for an op, ``read`` for the
        reading of a step's inputs ahead of it. Raises ValueError for an ``after`` id that `begin` did not
        return."""
        now = self._clock()
        thread = threading.current_thread()
        after = tuple(after)
        with self._lock:
            unknown = [a for a in after if not 0 <= a < len(self._spans)]
            if unknown:
                raise ValueError(f"unknown span ids in after: {unknown}")
            track = self._tracks.setdefault(thread, len(self._tracks) + 1)
            span = Span(len(self._spans), name, track, now, after, category=category)
            self._spans.append(span)
            return span.id

    def end(self, span_id: int, *, cached: bool, failed: bool = False) -> None:
        """The op of ``span_id`` ends now: ``cached`` when its result came from the cache, ``failed`` when it
        failed (or was cancelled). Raises ValueError for an unknown id; a span already ended keeps its first
        end (so a ``finally`` may end a span whatever happened before)."""
        now = self._clock()
        with self._lock:
            if not 0 <= span_id < len(self._spans):
                raise ValueError(f"unknown span id {span_id}")
            span = self._spans[span_id]
            if span.end is not None:
                return
            span.end, span.cached, span.failed = now, cached, failed

    def spans(self) -> list[Span]:
        """A copy of the spans so far, in the order they began."""
        with self._lock:
            return [replace(span) for span in self._spans]

    def critical_path(self) -> list[int]:
        """The ids of the critical path (see the module's docstring), first span first; open spans count as
        ending now. Empty when there are no spans."""
        now = self._clock()
        return _critical(self.spans(), now)

    def events(self) -> dict:
        """The trace as a JSON-ready document (the trace-event format's JSON Object Format)."""
        now = self._clock()
        spans = self.spans()
        critical = set(_critical(spans, now))
        events = [_metadata("process_name", 0, name="pybuild")]
        for track in sorted({span.track for span in spans}):
            events.append(_metadata("thread_name", track, name=f"worker {track}"))
            events.append(_metadata("thread_sort_index", track, sort_index=track))
        for span in spans:
            end = span.end if span.end is not None else now
            args: dict = {
                "id": span.id,
                "after": list(span.after),
                "cached": span.cached,
                "failed": span.failed,
                "critical_path": span.id in critical,
            }
            if span.end is None:
                args["unfinished"] = True
            event = {
                "name": span.name,
                "cat": span.category,
                "ph": "X",
                "ts": _micros(span.start - self._origin),
                "dur": _micros(end - span.start),
                "pid": PID,
                "tid": span.track,
                "args": args,
            }
            colour = _colour(span, span.id in critical)
            if colour is not None:
                event["cname"] = colour
            events.append(event)
        return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"producer": "pybuild"}}

    def write(self, path: Path) -> None:
        """Write the trace to ``path`` (replaced whole: written beside it, then renamed)."""
        path = Path(path)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps(self.events(), indent=1) + "\n")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


def _metadata(kind: str, tid: int, **args) -> dict:
    """A metadata event (``ph: "M"``) of the process, naming it or one of its tracks."""
    return {"name": kind, "ph": "M", "pid": PID, "tid": tid, "args": args}


def _colour(span: Span, critical: bool) -> str | None:
    if critical:
        return CRITICAL
    return FAILED if span.failed else CACHED if span.cached else None


def _micros(nanoseconds: int) -> float:
    """Microseconds, as the format wants ``ts`` and ``dur``, keeping sub-microsecond digits."""
    return round(nanoseconds / 1000, 3)


def _critical(spans: list[Span], now: int) -> list[int]:
    """The chain that ends last, followed back through ``after`` (see the module's docstring)."""
    if not spans:
        return []

    def ends(span: Span) -> tuple[int, int]:
        return (span.end if span.end is not None else now, span.id)  # ties: the later span

    chain = [max(spans, key=ends)]
    while chain[-1].after:
        chain.append(max((spans[i] for i in chain[-1].after), key=ends))
    return [span.id for span in reversed(chain)]
