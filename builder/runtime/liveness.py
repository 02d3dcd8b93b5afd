"""Whether the process that made a run directory is still alive, judged by nothing a step can touch.

The owner of a run directory records who it is (`Owner`: pid, the process's start time in clock ticks since
boot, the boot id, the pid namespace) in a file written before the directory gets its final name. Cleanup
asks the kernel whether that very process still exists: a pid alone could have been reused, a pid with the
same start time in the same boot cannot. No lock file is involved, so nothing that a step could open, hold
or lock (were a run directory ever visible to it) keeps a dead build's leftovers alive, and a step cannot
make a live build look dead: its processes are not pybuild, and the record is written only by the owner.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _start_time(pid: int) -> int | None:
    """Start time (clock ticks after boot) of process ``pid``, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after the last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


@dataclass(frozen=True)
class Owner:
    """One process, identified across pid reuse: ``pid``, ``start`` time, ``boot`` id, ``pid_ns``."""

    pid: int
    start: int
    boot: str
    pid_ns: str

    @classmethod
    def current(cls) -> Owner:
        """This process."""
        pid = os.getpid()
        start = _start_time(pid)
        assert start is not None  # this process exists
        return cls(pid, start, _boot_id(), _pid_namespace())

    def text(self) -> str:
        """The record's text (one line), as `parse` reads it."""
        return f"{self.pid} {self.start} {self.boot} {self.pid_ns}\n"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner recorded in ``text``; None if it is not a complete record."""
        words = text.split()
        if len(words) != 4 or not text.endswith("\n"):
            return None
        try:
            return cls(int(words[0]), int(words[1]), words[2], words[3])
        except ValueError:
            return None

    def alive(self) -> bool:
        """Whether this process still runs. A process of another pid namespace cannot be looked up, so it is
        taken as alive (its leftovers are then never removed by mistake, at the price of staying)."""
        if self.boot != _boot_id():
            return False  # the machine has restarted since: every process of that boot is gone
        if self.pid_ns != _pid_namespace():
            return True
        return _start_time(self.pid) == self.start


def write_owner(path: Path) -> None:
    """Record this process as the owner in file ``path`` (created; written whole before it is renamed into
    place, so a reader sees a complete record or none)."""
    partial = path.with_name(path.name + ".new")
    partial.write_text(Owner.current().text())
    partial.chmod(0o600)
    os.rename(partial, path)


def read_owner(path: Path) -> Owner | None:
    """The owner recorded in file ``path``; None if there is none (yet) or it is incomplete."""
    try:
        return Owner.parse(path.read_text())
    except (OSError, UnicodeDecodeError):
        return None
