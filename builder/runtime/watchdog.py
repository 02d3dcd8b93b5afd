"""Containers die with their pybuild: a watchdog process kills those a killed pybuild leaves running.

runc runs a step's container detached, in a session of its own, so nothing ties it to pybuild's life: a
pybuild killed with SIGKILL (or by the out-of-memory killer) would leave the step running with the host's
network until the next build cleaned up. Each pybuild that starts a container therefore first starts one
small watchdog (`deathwatch`, a child in a session of its own) and tells it over a pipe which containers it
starts and deletes. pybuild alone holds the pipe's write end (close-on-exec, and every other child is
started with ``close_fds``): when pybuild exits, however it exits, the watchdog reads end of file and
kills the first process of every container that pybuild had not deleted, and with it the container's pid
namespace (see `deathwatch`). runc's record of the stopped container, the mounts and the run directories are
left to the next cleanup (`cleanup_stale`), which sees their owner dead: the watchdog removes nothing a
concurrent cleanup could be removing too.

The watchdog is one per process (it stands for the process's own death), started on first use.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path


def _script() -> str:
    """The watchdog's program text (`deathwatch`, standard library only), read as package data: it runs
    with ``-I -S``, where the installed package cannot be imported."""
    return (resources.files("builder.runtime") / "deathwatch.py").read_text(encoding="utf-8")


class Watchdog:
    """The pipe to one running watchdog process. Thread-safe; messages are single writes below PIPE_BUF, so
    they arrive whole."""

    def __init__(self) -> None:
        read_end, self._write_end = os.pipe2(os.O_CLOEXEC)
        try:
            # -I -S: no site, no environment, no user's files: a fast start that nothing can redirect
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _script()],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            os.close(self._write_end)
            raise
        finally:
            os.close(read_end)
        self._lock = threading.Lock()

    def _send(self, message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        # if the watchdog is gone (killed by someone), the next build's cleanup remains
        with self._lock, contextlib.suppress(BrokenPipeError):
            os.write(self._write_end, data)

    def watch(self, container_id: str, runc_root: Path, delete_argv: list[str]) -> None:
        """Container ``container_id`` is about to be created in ``runc_root``; ``delete_argv`` deletes it."""
        self._send({"watch": container_id, "root": str(runc_root), "delete": delete_argv})

    def creator(self, container_id: str, pid: int) -> None:
        """``pid`` is the ``runc run`` creating ``container_id`` (a child of this process, not yet reaped)."""
        self._send({"runc": container_id, "pid": pid})

    def init(self, container_id: str, pid: int) -> None:
        """``pid`` is the first process of ``container_id`` (a child of this process, not yet reaped)."""
        self._send({"init": container_id, "pid": pid})

    def done(self, container_id: str) -> None:
        """Container ``container_id`` has been deleted by this process."""
        self._send({"done": container_id})


_instance: Watchdog | None = None
_instance_lock = threading.Lock()


def watchdog() -> Watchdog:
    """This process's watchdog, started on the first call."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = Watchdog()
        return _instance


def _forget_in_child() -> None:
    """In a child forked without exec: drop the parent's watchdog and its pipe, so the watchdog sees end of
    file when the parent dies (the child starts its own watchdog if it runs containers)."""
    global _instance, _instance_lock
    if _instance is not None:
        with contextlib.suppress(OSError):
            os.close(_instance._write_end)
    _instance, _instance_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
