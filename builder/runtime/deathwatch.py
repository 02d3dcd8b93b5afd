"""The watchdog process: deletes the containers of a pybuild that died without deleting them itself.

Run as ``python -I -S deathwatch.py`` by `builder.runtime.watchdog` (standard library only: it must start
fast and must not import pybuild). It reads JSON lines on stdin, written by the pybuild that started it:

- ``{"watch": ID, "root": DIR, "delete": [ARGV…]}``: container ID is being started in runc root DIR;
  ARGV deletes it (``runc … delete --force ID``);
- ``{"runc": ID, "pid": PID}``: PID is the ``runc run`` creating it;
- ``{"init": ID, "pid": PID}``: PID is the container's first process (pid 1 of its pid namespace);
- ``{"done": ID}``: pybuild has deleted it itself.

pybuild alone holds the write end of the pipe, so end of file means pybuild has exited, however it exited.
Then, for every container still watched: if its first process is known, it is killed (through a pidfd
opened while it was pybuild's unreaped child, so never another process that took its pid), and the
kernel kills every other process of its pid namespace with it; runc's record of the stopped container
is left to the next cleanup. Otherwise pybuild died while ``runc run`` was creating the container: the
watchdog waits for that ``runc run`` to finish and runs the delete command, if runc's root still exists
(runc would make it again, behind a cleanup that has removed it). Then it exits. It runs in a session of
its own: a terminal's Ctrl-C is pybuild's to handle.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
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


def _delete(argv: list[str], root: str, retry: bool) -> None:
    # a retry covers a `runc run` whose pid came too late to be waited for: its container appears meanwhile
    for attempt in range(_RETRIES if retry else 1):
        if not os.path.isdir(root):
            return
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if retry and attempt < _RETRIES - 1:
            time.sleep(0.2)


def _pidfd(pid: object) -> int | None:
    # opened when told, while the process is pybuild's unreaped child: its pid cannot have been reused
    try:
        return os.pidfd_open(int(pid))  # type: ignore[arg-type]
    except (OSError, ValueError, TypeError):
        return None


def main() -> int:
    watched: dict[str, tuple[list[str], str]] = {}
    creators: dict[str, int] = {}
    inits: dict[str, int] = {}
    for line in sys.stdin.buffer:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "watch" in message:
            watched[message["watch"]] = (list(message["delete"]), str(message["root"]))
        elif "runc" in message or "init" in message:
            table, key = (creators, message["runc"]) if "runc" in message else (inits, message["init"])
            fd = _pidfd(message.get("pid"))
            if fd is not None:
                table[key] = fd
        elif "done" in message:
            watched.pop(message["done"], None)
            for table in (creators, inits):
                fd = table.pop(message["done"], None)
                if fd is not None:
                    os.close(fd)
    deadline = time.monotonic() + _RUNC_WAIT_SECONDS
    for container_id, (argv, root) in watched.items():
        init = inits.get(container_id)
        if init is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(init, signal.SIGKILL)
            continue
        creator = creators.pop(container_id, None)
        _wait_for_exit(creator, deadline)
        _delete(argv, root, retry=creator is None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
