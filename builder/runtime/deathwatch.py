"""The watchdog process: deletes the containers of a pybuild that died without deleting them itself.

Run as ``python -I -S deathwatch.py`` by `builder.runtime.watchdog` (standard library only: it must start
fast and must not import pybuild). It reads JSON lines on stdin, written by the pybuild that started it:

- ``{"watch": ID, "delete": [ARGV…]}``: container ID is being started; ARGV deletes it (``runc … delete
  --force ID``);
- ``{"runc": ID, "pid": PID}``: PID is the ``runc run`` creating it;
- ``{"done": ID}``: pybuild has deleted it itself.

pybuild alone holds the write end of the pipe, so end of file means pybuild has exited, however it exited.
Then, for every container still watched, the watchdog waits for its ``runc run`` to finish (so that the
container exists, and is not deleted half-made) and runs the delete command, which kills every process in
the container; then it exits. It runs in a session of its own: a terminal's Ctrl-C is pybuild's to handle.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time

_RUNC_WAIT_SECONDS = 30
_RETRIES = 3


def _wait_for_exit(pidfd: int | None, deadline: float) -> None:
    if pidfd is None:
        return
    remaining = deadline - time.monotonic()
    if remaining > 0:
        select.select([pidfd], [], [], remaining)
    os.close(pidfd)


def _delete(argv: list[str]) -> None:
    # a retry covers a `runc run` whose pid came too late to be waited for: its container appears meanwhile
    for attempt in range(_RETRIES):
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt < _RETRIES - 1:
            time.sleep(0.2)


def main() -> int:
    watched: dict[str, list[str]] = {}
    creators: dict[str, int] = {}
    for line in sys.stdin.buffer:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "watch" in message:
            watched[message["watch"]] = list(message["delete"])
        elif "runc" in message:
            # opened now, while the process is pybuild's unreaped child: its pid cannot have been reused
            with contextlib.suppress(OSError):
                creators[message["runc"]] = os.pidfd_open(int(message["pid"]))
        elif "done" in message:
            watched.pop(message["done"], None)
            pidfd = creators.pop(message["done"], None)
            if pidfd is not None:
                os.close(pidfd)
    deadline = time.monotonic() + _RUNC_WAIT_SECONDS
    for container_id, argv in watched.items():
        _wait_for_exit(creators.pop(container_id, None), deadline)
        _delete(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
