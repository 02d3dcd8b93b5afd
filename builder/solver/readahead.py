"""Reading a step's inputs before the stage reaches the step.

What a COPY or a ``RUN --mount from=`` reads for its key — the digests of the files it copies, the content
of the trees it mounts — depends on the trees it reads, not on the layers below it. So once those trees are
ready, the inputs of a later step of a stage can be read while the steps before it still run: a final stage
that copies from four stages hashes the four sources at once instead of one after another.

Only inputs that cannot change meanwhile are read ahead: those of the build's own stages (`reads_ahead`),
whose layers are fixed once made and are read from the store. A step reading the build context or a
``--build-context`` directory reads it itself, when it runs, as before: read earlier, a file edited during
the steps before it would be keyed by its old content and copied with its new one. An image's files are
left to the step too (reading them may pull), and so are ADD's downloads.

Each such step has one `InputRead`: its inputs are read exactly once, by whoever claims it first — a task
of its own that the stage starts as soon as the step's trees are ready, or the stage itself when it reaches
the step before that task started. A failure is kept and raised when the stage reaches the step, so errors
are reported in the order of the steps, as a build that reads nothing ahead reports them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from builder.ops import CopyOp, LayerOp, StageInput, trees_of
from builder.solver.scheduler import Promise

T = TypeVar("T")


def reads_ahead(op: LayerOp) -> bool:
    """Whether ``op``'s inputs may be read ahead of its step: it reads trees, all of them stages of the build,
    and downloads nothing."""
    trees = trees_of(op)
    if not trees or not all(isinstance(tree, StageInput) for tree in trees):
        return False
    return not (isinstance(op, CopyOp) and op.remote_sources())


class InputRead(Generic[T]):
    """The inputs of one step, read once; see the module docstring. Thread-safe."""

    def __init__(self, name: str) -> None:
        self._lock = threading.Lock()
        self._claimed = False
        #: kept with (inputs, None) or (None, the exception the read raised) once the read is over
        self.done: Promise[tuple[T | None, Exception | None]] = Promise(f"inputs of {name}")
        #: the trace span of a read made ahead (None: read by the stage, or no trace)
        self.span: int | None = None

    def claim(self) -> bool:
        """True for the first caller only. The read-ahead task that claims must then `read`; the stage that
        claims reads the inputs itself, raising what the read raises, and nobody waits for ``done``."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def read(self, reader: Callable[[], T]) -> None:
        """Run ``reader`` (the caller has claimed this read) and keep its result or its exception. An
        exception that is not an ``Exception`` (an interrupt) propagates, and the read is never kept."""
        try:
            outcome: tuple[T | None, Exception | None] = (reader(), None)
        except Exception as error:  # noqa: BLE001 - kept for the step, raised there in step order
            outcome = (None, error)
        self.done.keep(outcome)

    def result(self) -> T:
        """The inputs read ahead (the read must be over: ``done`` kept); raises what the read raised."""
        value, error = self.done.value()
        if error is not None:
            raise error
        return value  # type: ignore[return-value]
