"""``--progress=rawjson``: build progress as buildx writes it, one BuildKit ``SolveStatus`` object per event.

Each object is written as Go's ``json.MarshalIndent(status, "", "  ")`` writes it — two-space indents,
``<``, ``>`` and ``&`` escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``, empty fields left out — on stderr:

* ``{"vertexes": [{"digest", "inputs", "name", "started", "completed", "cached"}]}`` when a step is
  announced, starts, is found in the cache or completes; ``inputs`` names the stage's previous step;
* ``{"logs": [{"vertex", "stream", "data", "timestamp"}]}`` for the step's output (``data`` base64; pybuild's
  runtime gives one combined stream, reported as stream 1).

Each `builder.ui.StepProgress` that `RawJsonReporter.step` hands out is a vertex of its own, so steps may run
concurrently and in any thread, as with `builder.ui.Reporter`. A failed step's vertex completes with ``error``
(pybuild's message; ``context canceled`` for a cancelled step, as BuildKit's); the error itself follows as
text, as buildx prints ``ERROR: …`` after the stream. A step ended by ``close()`` just completes. Vertex
digests are sha256 of the step's name (BuildKit's are of its LLB op, which pybuild does not have). Transfers
and other parts that print on their own see the mode ``quiet``, so nothing else reaches stderr.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from builder.ui import Reporter, StepProgress


def go_time(ns: int | None = None) -> str:
    """RFC 3339 with nanoseconds and no trailing zeros, in UTC: Go's ``time.RFC3339Nano``."""
    ns = time.time_ns() if ns is None else ns
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}{'.' + digits if digits else ''}Z"


def go_json(document: dict) -> str:
    """``document`` as Go's ``json.MarshalIndent`` with a two-space indent writes it."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class RawJsonReporter(Reporter):
    """A `Reporter` that writes SolveStatus objects instead of lines; each `StepProgress` is a vertex of its
    own. Thread-safe as `Reporter` is: one object is written whole before the next begins."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__("quiet", stream or sys.stderr)
        self._vertices: dict[int, dict] = {}  # step number → its vertex as last written
        self._last_of_stage: dict[str, str] = {}

    def _emit(self, document: dict) -> None:
        self.stream.write(go_json(document) + "\n")
        self.stream.flush()

    def _began(self, step: StepProgress) -> None:
        vertex: dict = {"digest": "sha256:" + hashlib.sha256(step.name.encode()).hexdigest()}
        stage = step.label.lstrip("[").split(" ")[0]
        if stage in self._last_of_stage:
            vertex["inputs"] = [self._last_of_stage[stage]]
        vertex["name"] = step.name
        self._last_of_stage[stage] = vertex["digest"]
        self._emit({"vertexes": [dict(vertex)]})
        vertex["started"] = go_time()
        self._emit({"vertexes": [dict(vertex)]})
        self._vertices[step.number] = vertex

    def _reasoned(self, step: StepProgress, why: str) -> None:
        """BuildKit has no event for why a step runs; the JSON stream leaves it out."""

    def _output(self, step: StepProgress, chunk: bytes) -> None:
        if not chunk:
            return
        log = {
            "vertex": self._vertices[step.number]["digest"],
            "stream": 1,
            "data": base64.b64encode(chunk).decode(),
            "timestamp": go_time(),
        }
        self._emit({"logs": [log]})

    def _finished(self, step: StepProgress, message: str) -> None:
        """The vertex completes: ``cached`` when found in the cache, ``error`` when failed (BuildKit's
        ``context canceled`` when cancelled), plain when done or closed."""
        vertex = self._vertices.pop(step.number)
        vertex["completed"] = go_time()
        if step.outcome == "cached":
            vertex["cached"] = True
        elif step.outcome == "failed":
            vertex["error"] = message
        elif step.outcome == "cancelled":
            vertex["error"] = "context canceled"
        self._emit({"vertexes": [vertex]})

    def info(self, text: str) -> None:
        """A step of its own, begun and completed (``exporting to oci: out.tar``, a pushed manifest)."""
        now = go_time()
        vertex = {"digest": "sha256:" + hashlib.sha256(text.encode()).hexdigest(), "name": text}
        with self._lock:
            self._emit({"vertexes": [{**vertex, "started": now, "completed": now}]})

    @contextlib.contextmanager
    def progress(
        self, description: str, total: int | None = None, unit: str = "B"
    ) -> Iterator[Callable[[int], None]]:
        yield lambda n: None

    def summary(self, ran: int, cached: int, image_id: str, size: int) -> None:
        """buildx writes no summary into the JSON stream: steps still open complete, nothing else."""
        self.close()


def make_reporter(mode: str) -> Reporter:
    """The reporter for a ``--progress`` value (``quiet`` for ``-q``)."""
    return RawJsonReporter() if mode == "rawjson" else Reporter(mode)
