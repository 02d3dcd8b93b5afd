"""The scheduler on its own: bounded workers, continuations, the first failure, and an interrupt."""

from __future__ import annotations

import threading
import time

import pytest

from builder.solver.scheduler import Promise, Scheduler


def test_at_most_jobs_tasks_run_at_once():
    scheduler = Scheduler(2)
    running, peak, lock = [0], [0], threading.Lock()

    def task() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    scheduler.run(lambda: [scheduler.submit(task) for _ in range(8)])
    assert peak[0] == 2


def test_a_continuation_runs_once_its_promise_is_kept_without_holding_a_worker():
    scheduler = Scheduler(1)
    promise: Promise[int] = Promise("value")
    seen: list[int] = []

    def start() -> None:
        scheduler.after(promise, lambda: seen.append(promise.value()))
        scheduler.submit(lambda: promise.keep(7))  # the one worker is free: nothing waits in a thread

    scheduler.run(start)
    assert seen == [7]


def test_the_first_failure_is_raised_and_cancels_the_rest():
    scheduler = Scheduler(4)
    stopped = threading.Event()

    def slow() -> None:
        scheduler.cancel.on_cancel(stopped.set)
        stopped.wait(30)

    def bad() -> None:
        time.sleep(0.05)
        raise ValueError("first")

    started = time.monotonic()
    with pytest.raises(ValueError, match="first"):
        scheduler.run(lambda: (scheduler.submit(slow), scheduler.submit(bad)))
    assert stopped.is_set() and time.monotonic() - started < 10
    scheduler.submit(lambda: pytest.fail("a task ran after the failure"))


def test_an_interrupt_while_starting_cancels_and_waits_for_running_tasks():
    scheduler = Scheduler(2)
    cleaned = threading.Event()

    def running_step() -> None:
        stop = threading.Event()
        scheduler.cancel.on_cancel(stop.set)
        stop.wait(30)
        cleaned.set()  # the step's own cleanup, after it was stopped

    def start() -> None:
        scheduler.submit(running_step)
        time.sleep(0.1)
        raise KeyboardInterrupt  # as a Ctrl-C lands while the main thread still submits

    with pytest.raises(KeyboardInterrupt):
        scheduler.run(start)
    assert cleaned.is_set(), "the interrupt propagated before the running step had cleaned up"
