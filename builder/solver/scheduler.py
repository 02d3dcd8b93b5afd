"""Running tasks concurrently, bounded, with continuations instead of blocked threads.

A task that needs something not ready yet (a stage another task builds, a step an identical step is making)
does not wait in its thread: it asks `Scheduler.after` to run a continuation once that `Promise` is kept,
and returns. So ``jobs`` worker threads are never all stuck waiting on each other, however the graph is
shaped, and a build of thousands of stages needs no thread per stage.

The first task to fail cancels the build: nothing new starts, `Cancel` stops what runs (a container is
killed), and `wait` raises that first failure once every running task has returned and cleaned up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from builder.effects import Cancel

T = TypeVar("T")


class Promise(Generic[T]):
    """A value some task will provide once (`keep`); continuations registered through `Scheduler.after`."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._kept = False
        self._value: T | None = None
        self._waiting: list[Callable[[], None]] = []

    @property
    def kept(self) -> bool:
        return self._kept

    def value(self) -> T:
        if not self._kept:
            raise RuntimeError(f"{self.name or 'promise'} is not kept yet")
        return self._value  # type: ignore[return-value]

    def keep(self, value: T) -> None:
        with self._lock:
            if self._kept:
                raise RuntimeError(f"{self.name or 'promise'} kept twice")
            self._value, self._kept = value, True
            waiting, self._waiting = self._waiting, []
        for continuation in waiting:
            continuation()

    def _when_kept(self, continuation: Callable[[], None]) -> bool:
        """Register ``continuation``; False (not registered) when the promise is already kept."""
        with self._lock:
            if self._kept:
                return False
            self._waiting.append(continuation)
            return True


class Scheduler:
    """Runs submitted tasks on at most ``jobs`` threads; see the module docstring."""

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self.cancel = Cancel()
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pybuild-step")
        self._lock = threading.Lock()
        self._running = 0
        self._idle = threading.Event()
        self._idle.set()
        self._failure: BaseException | None = None

    @property
    def failed(self) -> bool:
        return self._failure is not None

    def submit(self, task: Callable[[], None]) -> None:
        """Run ``task`` on a worker; a task submitted after a failure is dropped."""
        with self._lock:
            if self._failure is not None or self.cancel.is_set():
                return
            self._running += 1
            self._idle.clear()
        self._pool.submit(self._run, task)

    def after(self, promise: Promise, task: Callable[[], None]) -> None:
        """Run ``task`` once ``promise`` is kept (at once, on a worker, if it is)."""
        if not promise._when_kept(lambda: self.submit(task)):
            self.submit(task)

    def fail(self, error: BaseException) -> None:
        """Record ``error`` (the first one wins) and cancel the build."""
        with self._lock:
            if self._failure is None:
                self._failure = error
        self.cancel.set()

    def _run(self, task: Callable[[], None]) -> None:
        try:
            if not self.cancel.is_set():
                task()
        except BaseException as error:  # noqa: BLE001 - any failure of a task is the build's failure
            self.fail(error)
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    self._idle.set()

    def run(self, start: Callable[[], None]) -> None:
        """Call ``start`` (which submits the first tasks), then `wait`. An interrupt that arrives while
        ``start`` runs — a worker may already run a container by then — cancels the build the same way."""
        try:
            start()
        except KeyboardInterrupt as interrupt:
            self.fail(interrupt)
        self.wait()

    def wait(self) -> None:
        """Wait until no task runs or is queued; raise the first failure. An interrupt (Ctrl-C) cancels the
        build, waits for the running tasks to clean up, then propagates."""
        interrupted: BaseException | None = None
        while True:
            try:
                while not self._idle.wait(0.1):
                    pass
                break
            except KeyboardInterrupt as interrupt:  # the tasks must still undo their mounts and containers
                interrupted = interrupt
                self.fail(interrupt)
        self._pool.shutdown(wait=True)
        if interrupted is not None:
            raise interrupted
        if self._failure is not None:
            raise self._failure
