"""A child forked without exec (a program using the Python API) does not keep the watchdog's pipe open:
otherwise the watchdog would only see the builder die once that child had exited too."""

from __future__ import annotations

import os

from builder.runtime import watchdog


def test_a_forked_child_holds_no_write_end_of_the_watchdog_pipe():
    parent = watchdog.watchdog()
    write_end = parent._write_end
    pid = os.fork()
    if pid == 0:  # the child reports by its exit status only
        try:
            os.fstat(write_end)
            os._exit(1)  # still open in the child
        except OSError:
            os._exit(0 if watchdog._instance is None else 2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert watchdog.watchdog() is parent  # the parent keeps its own
